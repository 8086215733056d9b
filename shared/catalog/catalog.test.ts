// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { CATALOG_ITEMS_MAX, isNewerCatalog, parseCatalog } from './catalog.ts';

const tea = { gtin: '4901234567894', name: 'Green tea 500 ml', price: { value: 150, currency: 'JPY' }, slot: 1 };
const gum = { gtin: '4006381333931', name: 'Gum', price: { value: 120, currency: 'JPY' } };
const message = (items: unknown[], extra: object = {}) => ({ v: 1, type: 'catalog', version: 7, currency: 'JPY', items, ...extra });

function parsedOk(json: unknown) {
  const r = parseCatalog(json);
  if (!r.ok) throw new Error(r.message);
  return r.catalog;
}

describe('catalog', () => {
  it('finds an item by its GTIN and by its vending slot', () => {
    const c = parsedOk(message([tea, gum]));
    expect(c.version).toBe(7);
    expect(c.currency).toBe('JPY');
    expect(c.size).toBe(2);
    expect(c.byGtin('4901234567894')?.name).toBe('Green tea 500 ml');
    expect(c.bySlot(1)?.gtin).toBe('4901234567894');
    expect(c.byGtin('4006381333931')?.slot).toBeUndefined();
  });

  it('returns undefined for an unknown GTIN or slot', () => {
    const c = parsedOk(message([tea]));
    expect(c.byGtin('4006381333931')).toBeUndefined();
    expect(c.bySlot(2)).toBeUndefined();
  });

  it('hands out items that cannot be changed', () => {
    const item = parsedOk(message([tea])).byGtin(tea.gtin)!;
    expect(Object.isFrozen(item)).toBe(true);
    expect(Object.isFrozen(item.price)).toBe(true);
  });

  it('refuses a GTIN with a wrong check digit', () => {
    expect(parseCatalog(message([{ ...tea, gtin: '4901234567895' }]))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^items\.0\.gtin/),
    });
  });

  it('refuses a price that is a float, zero, or in another currency', () => {
    expect(parseCatalog(message([{ ...tea, price: { value: 1.5, currency: 'JPY' } }])).ok).toBe(false);
    expect(parseCatalog(message([{ ...tea, price: { value: 0, currency: 'JPY' } }])).ok).toBe(false);
    expect(parseCatalog(message([{ ...tea, price: { value: 150, currency: 'USD' } }]))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/differs from catalog currency/),
    });
  });

  it('refuses duplicate GTINs and duplicate slots', () => {
    expect(parseCatalog(message([tea, { ...tea, name: 'again' }]))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/duplicate gtin/),
    });
    expect(parseCatalog(message([tea, { ...gum, slot: 1 }]))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/duplicate slot/),
    });
  });

  it('refuses unknown fields, a wrong type or version, and slot numbers out of range', () => {
    expect(parseCatalog(message([tea], { extra: true })).ok).toBe(false);
    expect(parseCatalog(message([tea], { type: 'revocations' })).ok).toBe(false);
    expect(parseCatalog(message([tea], { v: 2 })).ok).toBe(false);
    expect(parseCatalog(message([{ ...tea, slot: 0 }])).ok).toBe(false);
    expect(parseCatalog(message([{ ...tea, slot: 1000 }])).ok).toBe(false);
    expect(parseCatalog(message([{ ...tea, name: '' }])).ok).toBe(false);
  });

  it('refuses a catalog with more items than the limit', () => {
    const items = Array.from({ length: CATALOG_ITEMS_MAX + 1 }, () => gum);
    expect(parseCatalog(message(items)).ok).toBe(false);
  });

  it('refuses garbage without throwing', () => {
    for (const bad of [null, 'catalog', 42, [], {}]) expect(parseCatalog(bad).ok).toBe(false);
  });

  it('replaces a cached catalog only with a newer version', () => {
    const v7 = parsedOk(message([tea]));
    const v8 = parsedOk(message([tea], { version: 8 }));
    expect(isNewerCatalog(undefined, v7)).toBe(true);
    expect(isNewerCatalog(v7, v8)).toBe(true);
    expect(isNewerCatalog(v8, v7)).toBe(false);
    expect(isNewerCatalog(v7, v7)).toBe(false);
  });
});
