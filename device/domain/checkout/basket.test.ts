// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { MONEY_MAX } from '../../../shared/money.ts';
import { addItem, emptyBasket, singleItemBasket, type Basket } from './basket.ts';
import type { CatalogItem } from '../../../shared/catalog/catalog.ts';

const item = (value: number, currency: 'JPY' | 'USD' = 'JPY', slot?: number): CatalogItem =>
  ({ gtin: '4901234567894', name: 'Item', price: { value, currency }, ...(slot === undefined ? {} : { slot }) });

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
