// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { linesMatchAmount, saleLine, SALE_LINE_QTY_MAX, SALE_LINES_MAX } from '../../../shared/kiosk-messages.ts';
import { MONEY_MAX } from '../../../shared/money.ts';
import { addItem, emptyBasket, saleLinesOf, singleItemBasket, type Basket } from './basket.ts';
import type { CatalogItem } from '../../../shared/catalog/catalog.ts';
import { ean13CheckDigit } from '../../../shared/catalog/ean13.ts';

const item = (value: number, currency: 'JPY' | 'USD' = 'JPY', slot?: number): CatalogItem => ({
  gtin: '4901234567894',
  name: 'Item',
  price: { value, currency },
  ...(slot === undefined ? {} : { slot }),
});

function add(b: Basket, i: CatalogItem, max = 100): Basket {
  const r = addItem(b, i, max);
  if (!r.ok) throw new Error(r.reason);
  return r.basket;
}

describe('basket', () => {
  it('starts empty with a zero total in its currency', () => {
    expect(emptyBasket('USD')).toEqual({ currency: 'USD', items: [], total: { value: 0, currency: 'USD' } });
  });

  it('sums cents exactly, where floats would not', () => {
    const b = add(add(emptyBasket('USD'), item(10, 'USD')), item(20, 'USD'));
    expect(b.total).toEqual({ value: 30, currency: 'USD' });
    expect(0.1 + 0.2).not.toBe(0.3);
  });

  it('never changes the basket it was given', () => {
    const b = add(emptyBasket('JPY'), item(150));
    add(b, item(120));
    expect(b.items).toHaveLength(1);
    expect(b.total.value).toBe(150);
  });

  it('refuses a full basket, another currency, and a total past MONEY_MAX', () => {
    const one = add(emptyBasket('JPY'), item(1));
    expect(addItem(one, item(1), 1)).toEqual({ ok: false, reason: 'basket-full' });
    expect(addItem(one, item(1, 'USD'), 10)).toEqual({ ok: false, reason: 'currency-mismatch' });
    expect(addItem(one, item(MONEY_MAX), 10)).toEqual({ ok: false, reason: 'total-too-large' });
    expect(add(emptyBasket('JPY'), item(MONEY_MAX)).total.value).toBe(MONEY_MAX);
  });

  it('makes a one-item basket for a vending selection, keeping the slot', () => {
    expect(singleItemBasket(item(130, 'JPY', 4))).toEqual({
      currency: 'JPY',
      items: [{ gtin: '4901234567894', name: 'Item', price: { value: 130, currency: 'JPY' }, slot: 4 }],
      total: { value: 130, currency: 'JPY' },
    });
  });
});

describe('sale lines of a basket', () => {
  const TEA: CatalogItem = { gtin: '4901234567894', name: 'Tea', price: { value: 150, currency: 'JPY' }, slot: 1 };
  const GUM: CatalogItem = { gtin: '4006381333931', name: 'Gum', price: { value: 120, currency: 'JPY' }, slot: 2 };
  const BREAD: CatalogItem = { gtin: '4901000000099', name: 'Bread', price: { value: 190, currency: 'JPY' } };
  const yen = (value: number) => ({ value, currency: 'JPY' as const });

  it('lists each scanned product once with its count, by GTIN only, in the order first scanned, adding up to the total', () => {
    const b = [TEA, GUM, TEA, BREAD, TEA].reduce((acc, i) => add(acc, i), emptyBasket('JPY'));
    const lines = saleLinesOf(b, 'scan');
    expect(lines).toEqual([
      { gtin: TEA.gtin, qty: 3, unitPrice: yen(150) },
      { gtin: GUM.gtin, qty: 1, unitPrice: yen(120) },
      { gtin: BREAD.gtin, qty: 1, unitPrice: yen(190) },
    ]);
    expect(linesMatchAmount(lines!, b.total)).toBe(true);
    expect(b.total.value).toBe(3 * 150 + 120 + 190);
    for (const l of lines!) expect(saleLine.safeParse(l).success).toBe(true);
  });

  it('names a vending selection by its GTIN and the slot it was dispensed from', () => {
    expect(saleLinesOf(singleItemBasket(GUM), 'slot')).toEqual([{ gtin: GUM.gtin, slot: 2, qty: 1, unitPrice: yen(120) }]);
  });

  it('starts a new line past the most units one line may hold', () => {
    let b = emptyBasket('JPY');
    for (let i = 0; i < SALE_LINE_QTY_MAX + 2; i++) b = add(b, TEA, 2_000);
    const lines = saleLinesOf(b, 'scan')!;
    expect(lines.map((l) => l.qty)).toEqual([SALE_LINE_QTY_MAX, 2]);
    expect(linesMatchAmount(lines, b.total)).toBe(true);
  });

  it('lists nothing for a basket of more products than a sale may list, or an empty one', () => {
    let b = emptyBasket('JPY');
    const gtins = Array.from({ length: SALE_LINES_MAX + 1 }, (_, i) => `49010000${String(i).padStart(4, '0')}`).map(
      (body) => body + ean13CheckDigit(body),
    );
    for (const gtin of gtins.slice(0, SALE_LINES_MAX)) b = add(b, { gtin, name: 'x', price: yen(10) }, 1_000);
    expect(saleLinesOf(b, 'scan')).toHaveLength(SALE_LINES_MAX);
    b = add(b, { gtin: gtins[SALE_LINES_MAX]!, name: 'x', price: yen(10) }, 1_000);
    expect(saleLinesOf(b, 'scan')).toBeUndefined();
    expect(saleLinesOf(emptyBasket('JPY'), 'scan')).toBeUndefined();
  });
});
