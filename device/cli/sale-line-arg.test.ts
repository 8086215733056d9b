// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { MONEY_MAX } from '../../shared/money.ts';
import { linesTotal, parseLineArgs } from './sale-line-arg.ts';

describe('kiosk pay --line', () => {
  it('reads a GTIN, a slot or both, a quantity (default 1) and a unit price in the payment currency', () => {
    expect(
      parseLineArgs(['gtin=4901000000013,qty=2,price=150', 'slot=3, price=130', 'gtin=4901000000020,slot=2,price=110'], 'JPY'),
    ).toEqual({
      ok: true,
      lines: [
        { gtin: '4901000000013', qty: 2, unitPrice: { value: 150, currency: 'JPY' } },
        { slot: 3, qty: 1, unitPrice: { value: 130, currency: 'JPY' } },
        { gtin: '4901000000020', slot: 2, qty: 1, unitPrice: { value: 110, currency: 'JPY' } },
      ],
    });
  });

  it('refuses, naming the value, a line that breaks the protocol or the syntax', () => {
    for (const [spec, message] of [
      ['gtin=4901000000014,price=150', /gtin must be 13 digits with a correct GS1 check digit/],
      ['qty=1,price=150', /names a gtin, a slot, or both/],
      ['slot=1', /price=N .* is required/],
      ['slot=1,price=1.5', /unitPrice.value/],
      ['slot=1,price=-3', /unitPrice.value/],
      ['slot=0,price=1', /slot/],
      ['slot=1,qty=1000,price=1', /qty/],
      ['slot=1,price=1,name=tea', /"name" is not one of/],
      ['slot=1,slot=2,price=1', /slot given twice/],
      ['slot', /"slot" is not one of/],
    ] as const) {
      const r = parseLineArgs([spec], 'JPY');
      expect(r.ok, spec).toBe(false);
      if (!r.ok) expect(r.message, spec).toMatch(message);
      if (!r.ok) expect(r.message, spec).toContain(JSON.stringify(spec));
    }
    expect(
      parseLineArgs(
        Array.from({ length: 101 }, () => 'slot=1,price=1'),
        'JPY',
      ),
    ).toEqual({ ok: false, message: 'at most 100 --line values' });
  });

  it('adds the lines up, or says they pass the largest amount', () => {
    const r = parseLineArgs(['gtin=4901000000013,qty=2,price=150', 'slot=3,price=130'], 'JPY');
    expect(r.ok && linesTotal(r.lines)).toBe(430);
    const big = parseLineArgs([`slot=1,qty=999,price=${MONEY_MAX}`], 'JPY');
    expect(big.ok && linesTotal(big.lines)).toBeUndefined();
  });
});
