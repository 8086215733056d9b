// SPDX-License-Identifier: Apache-2.0
// The built-in demo catalog passes the kiosk's own validation: GTIN check digits, JPY prices, slots 1..6.
import { describe, expect, it } from 'vitest';
import { parseCatalog } from '../../shared/catalog/catalog.ts';
import { isValidGtin13 } from '../../shared/catalog/ean13.ts';
import { DEMO_CATALOG } from './demo-catalog.ts';

describe('demo catalog', () => {
  it('is a valid catalog of a dozen JAN products in JPY with vending slots 1..6', () => {
    const parsed = parseCatalog(JSON.parse(JSON.stringify(DEMO_CATALOG)));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const c = parsed.catalog;
    expect(c.currency).toBe('JPY');
    expect(c.size).toBe(12);
    for (const item of c.items()) {
      expect(isValidGtin13(item.gtin) && item.gtin.startsWith('49')).toBe(true);
      expect(Number.isInteger(item.price.value) && item.price.value > 0 && item.price.currency === 'JPY').toBe(true);
    }
    expect([1, 2, 3, 4, 5, 6].map((s) => c.bySlot(s)?.gtin)).toEqual(DEMO_CATALOG.items.slice(0, 6).map((i) => i.gtin));
    expect(c.bySlot(7)).toBeUndefined();
  });
});
