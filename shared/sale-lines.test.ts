// SPDX-License-Identifier: Apache-2.0
// Sale lines on pay requests and settle items: their shape, and when they add up to the amount.
import { describe, expect, it } from 'vitest';
import { kioskRequest, linesMatchAmount, parseJsonMessage, type SaleLine } from './kiosk-messages.ts';

const yen = (value: number) => ({ value, currency: 'JPY' as const });
const pay = (lines: unknown) =>
  JSON.stringify({ v: 1, type: 'pay', id: 'c-1', txId: 't-1', code: '31804482910573526614', amount: yen(300), lines });

describe('sale lines', () => {
  it('accept a GTIN, a slot or both, with a quantity and a unit price, on pay and on settle items', () => {
    const lines = [
      { gtin: '4901000000013', slot: 1, qty: 2, unitPrice: yen(100) },
      { slot: 7, qty: 1, unitPrice: yen(100) },
    ];
    expect(parseJsonMessage(kioskRequest, pay(lines))).toMatchObject({ ok: true, value: { lines } });
    const settle = {
      v: 1,
      type: 'settle',
      id: 'c-2',
      items: [{ txId: 't-2', code: 'x', amount: yen(300), capturedAt: 1_795_867_200_000, lines }],
    };
    expect(parseJsonMessage(kioskRequest, JSON.stringify(settle))).toMatchObject({ ok: true });
    const none = parseJsonMessage(kioskRequest, JSON.stringify({ v: 1, type: 'pay', id: 'c-1', txId: 't-1', code: 'x', amount: yen(300) }));
    expect(none.ok && none.value.type === 'pay' && none.value.lines).toBeUndefined();
  });

  it('refuse a line naming no product, a wrong check digit, a zero quantity, an empty or oversized list, or unknown fields', () => {
    for (const bad of [
      [{ qty: 1, unitPrice: yen(300) }],
      [{ gtin: '4901000000014', qty: 1, unitPrice: yen(300) }],
      [{ slot: 1, qty: 0, unitPrice: yen(300) }],
      [{ slot: 1000, qty: 1, unitPrice: yen(300) }],
      [{ slot: 1, qty: 1, unitPrice: yen(300), name: 'tea' }],
      [],
      Array.from({ length: 101 }, () => ({ slot: 1, qty: 1, unitPrice: yen(3) })),
    ])
      expect(parseJsonMessage(kioskRequest, pay(bad)).ok, JSON.stringify(bad).slice(0, 80)).toBe(false);
  });

  it('add up to the amount only exactly and in its currency', () => {
    const l = (qty: number, value: number, currency: 'JPY' | 'USD' = 'JPY'): SaleLine => ({ slot: 1, qty, unitPrice: { value, currency } });
    expect(linesMatchAmount([l(2, 100), l(1, 100)], yen(300))).toBe(true);
    expect(linesMatchAmount([l(2, 100)], yen(300))).toBe(false);
    expect(linesMatchAmount([l(3, 100, 'USD')], yen(300))).toBe(false);
    expect(linesMatchAmount([l(999, 1_000_000_000_000)], yen(1))).toBe(false);
  });
});
