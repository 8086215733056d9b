// SPDX-License-Identifier: Apache-2.0
// The product catalog: published by the server as a retained MQTT message and cached by the kiosk.
// The schema follows shared/kiosk-messages.ts (`v`, `type`, strict objects). The kiosk never
// trusts a catalog it did not validate: parseCatalog checks every field, the GTIN check digits,
// that every price is in the catalog's currency, and that GTINs and slots are unique.
import { z } from 'zod';
import type { Currency } from '../money.ts';
import { amountSchema, currencySchema } from '../schemas.ts';
import { isValidGtin13 } from './ean13.ts';

/** Most items one catalog may hold; a larger one is refused whole. */
export const CATALOG_ITEMS_MAX = 10_000;
/** Vending slots (buttons) are numbered 1..CATALOG_SLOT_MAX. */
export const CATALOG_SLOT_MAX = 999;
/** Longest product name, in UTF-16 code units (a 20x4 LCD shows 20 characters of it). */
export const CATALOG_NAME_MAX = 64;

export const gtin13Schema = z.string().refine(isValidGtin13, 'must be 13 digits with a correct GS1 check digit');

export const catalogItemSchema = z.strictObject({
  /** GTIN-13 (EAN-13/JAN; a UPC-A product is listed with its leading 0). */
  gtin: gtin13Schema,
  name: z.string().min(1).max(CATALOG_NAME_MAX),
  /** Integer minor units, at least 1: a free item is not sold through a payment kiosk. */
  price: amountSchema,
  /** Vending button / slot number; absent for products sold only by barcode. */
  slot: z.int().min(1).max(CATALOG_SLOT_MAX).optional(),
});
export type CatalogItem = z.infer<typeof catalogItemSchema>;

export const catalogMessage = z
  .strictObject({
    v: z.literal(1),
    type: z.literal('catalog'),
    /** Increases with every published catalog; a kiosk ignores one older than what it holds. */
    version: z.int().min(0),
    currency: currencySchema,
    items: z.array(catalogItemSchema).max(CATALOG_ITEMS_MAX),
  })
  .superRefine((c, ctx) => {
    const gtins = new Set<string>();
    const slots = new Set<number>();
    c.items.forEach((item, i) => {
      if (item.price.currency !== c.currency)
        ctx.addIssue({
          code: 'custom',
          path: ['items', i, 'price', 'currency'],
          message: `price currency ${item.price.currency} differs from catalog currency ${c.currency}`,
        });
      if (gtins.has(item.gtin)) ctx.addIssue({ code: 'custom', path: ['items', i, 'gtin'], message: `duplicate gtin ${item.gtin}` });
      gtins.add(item.gtin);
      if (item.slot !== undefined) {
        if (slots.has(item.slot)) ctx.addIssue({ code: 'custom', path: ['items', i, 'slot'], message: `duplicate slot ${item.slot}` });
        slots.add(item.slot);
      }
    });
  });
export type CatalogMessage = z.infer<typeof catalogMessage>;

/** A validated catalog with lookups; read-only. */
export interface Catalog {
  readonly version: number;
  readonly currency: Currency;
  readonly size: number;
  byGtin(gtin: string): CatalogItem | undefined;
  bySlot(slot: number): CatalogItem | undefined;
  /** Every item, in the catalog's order. */
  items(): readonly CatalogItem[];
}

/** Builds the lookups of a catalog that already passed the schema. */
export function indexCatalog(message: CatalogMessage): Catalog {
  const gtins = new Map<string, CatalogItem>();
  const slots = new Map<number, CatalogItem>();
  for (const item of message.items) {
    const frozen = Object.freeze({ ...item, price: Object.freeze({ ...item.price }) });
    gtins.set(item.gtin, frozen);
    if (item.slot !== undefined) slots.set(item.slot, frozen);
  }
  return Object.freeze({
    version: message.version,
    currency: message.currency,
    size: gtins.size,
    byGtin: (gtin: string) => gtins.get(gtin),
    bySlot: (slot: number) => slots.get(slot),
    items: () => [...gtins.values()],
  });
}

export type ParseCatalogResult = { ok: true; catalog: Catalog } | { ok: false; message: string };

/** Validates an already JSON-parsed catalog message. Never throws. */
export function parseCatalog(json: unknown): ParseCatalogResult {
  const parsed = catalogMessage.safeParse(json);
  if (parsed.success) return { ok: true, catalog: indexCatalog(parsed.data) };
  const issue = parsed.error.issues[0];
  return { ok: false, message: issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid catalog' };
}

/**
 * Whether a newly received catalog should replace the cached one: only a newer version. A retained
 * message is redelivered on every reconnect, and an old one must not undo a newer cache.
 */
export function isNewerCatalog(cached: Catalog | undefined, received: Catalog): boolean {
  return cached === undefined || received.version > cached.version;
}
