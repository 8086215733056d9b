// SPDX-License-Identifier: Apache-2.0
// The basket: the items chosen so far, in one currency, with a total in integer minor units.
// Each scan is one item (scanning a product twice buys two), so the total is a plain sum with
// shared/money.ts helpers: no multiplication, no floats, and an overflow past MONEY_MAX is refused.
import { addMinor, isValidAmount, money, type Currency, type Money } from '../../../shared/money.ts';
import type { CatalogItem } from '../../../shared/catalog/catalog.ts';
import { linesMatchAmount, SALE_LINE_QTY_MAX, SALE_LINES_MAX, type SaleLine } from '../../../shared/kiosk-messages.ts';

export interface BasketItem {
  readonly gtin: string;
  readonly name: string;
  readonly price: Money;
  readonly slot?: number;
}

export interface Basket {
  readonly currency: Currency;
  readonly items: readonly BasketItem[];
  /** Sum of the item prices, integer minor units. */
  readonly total: Money;
}

export type AddItemResult = { ok: true; basket: Basket } | { ok: false; reason: 'basket-full' | 'currency-mismatch' | 'total-too-large' };

export function emptyBasket(currency: Currency): Basket {
  return { currency, items: [], total: money(0, currency) };
}

function toBasketItem(item: CatalogItem): BasketItem {
  const base = { gtin: item.gtin, name: item.name, price: money(item.price.value, item.price.currency) };
  return item.slot === undefined ? base : { ...base, slot: item.slot };
}

/** A new basket with the item added, or why not. The input basket is never changed. */
export function addItem(basket: Basket, item: CatalogItem, itemsMax: number): AddItemResult {
  if (basket.items.length >= itemsMax) return { ok: false, reason: 'basket-full' };
  if (item.price.currency !== basket.currency) return { ok: false, reason: 'currency-mismatch' };
  const sum = addMinor(basket.total.value, item.price.value);
  if (!isValidAmount(sum)) return { ok: false, reason: 'total-too-large' };
  return {
    ok: true,
    basket: { currency: basket.currency, items: [...basket.items, toBasketItem(item)], total: money(sum, basket.currency) },
  };
}

/** A one-item basket (vending: the selection replaces whatever was chosen before). */
export function singleItemBasket(item: CatalogItem): Basket {
  return { currency: item.price.currency, items: [toBasketItem(item)], total: money(item.price.value, item.price.currency) };
}

/**
 * What the basket sold, as the sale lines of its `pay` request or stored payment (shared/kiosk-messages.ts):
 * one line per product and unit price, in the order first chosen, with the number of times it was
 * chosen. A scanned product (self-checkout) is named by its GTIN only: it came from no slot. A
 * vending selection is named by its GTIN and the slot it was dispensed from.
 *
 * The lines add up to the basket's total exactly (the total is the sum of the item prices). A line
 * holds at most SALE_LINE_QTY_MAX units (more of one product continue on the next line). A basket
 * that needs more than SALE_LINES_MAX lines has none (undefined): lines are descriptive, and the
 * payment is the same without them.
 */
export function saleLinesOf(basket: Basket, chosenBy: 'scan' | 'slot'): SaleLine[] | undefined {
  const lines: Array<{ gtin: string; slot?: number; qty: number; unitPrice: Money }> = [];
  const open = new Map<string, number>();
  for (const item of basket.items) {
    const slot = chosenBy === 'slot' ? item.slot : undefined;
    const key = `${item.gtin}|${slot ?? ''}|${item.price.value}`;
    const at = open.get(key);
    const line = at === undefined ? undefined : lines[at];
    if (line !== undefined && line.qty < SALE_LINE_QTY_MAX) {
      line.qty++;
      continue;
    }
    open.set(key, lines.length);
    lines.push({ gtin: item.gtin, ...(slot === undefined ? {} : { slot }), qty: 1, unitPrice: money(item.price.value, basket.currency) });
  }
  if (lines.length === 0 || lines.length > SALE_LINES_MAX || !linesMatchAmount(lines, basket.total)) return undefined;
  return lines;
}
