// SPDX-License-Identifier: Apache-2.0
// Display views for the LCD tests: one per screen, built from the real types, plus a helper to vary them.
import { money, type Money } from '../../../../shared/money.ts';
import type { DisplayView } from '../../../display/display.ts';
import type { Basket } from '../../../domain/checkout/basket.ts';
import type { Screen } from '../../../domain/checkout/types.ts';

export function basketOf(...prices: Money[]): Basket {
  const currency = prices[0]?.currency ?? 'JPY';
  const items = prices.map((price, i) => ({ gtin: `490000000000${i}`, name: `Item ${i}`, price }));
  return {
    currency,
    items,
    total: money(
      prices.reduce((s, p) => s + p.value, 0),
      currency,
    ),
  };
}

export function viewOf(screen: Screen, extra: Partial<DisplayView> = {}): DisplayView {
  return {
    kioskId: 'kiosk-1',
    mode: 'self-checkout',
    screen,
    offline: false,
    policyMode: 'prefer-online',
    storedCount: 0,
    faults: [],
    ...extra,
  };
}

/** One view of every screen name. */
export const SCREENS: Readonly<Record<Screen['name'], Screen>> = Object.freeze({
  idle: { name: 'idle', mode: 'self-checkout' },
  basket: { name: 'basket', basket: basketOf(money(1000), money(200)) },
  awaitingCode: { name: 'awaitingCode', basket: basketOf(money(1000), money(200)) },
  authorising: { name: 'authorising', total: money(1200), offline: false },
  dispensing: { name: 'dispensing', slot: 2 },
  approved: { name: 'approved', total: money(1200) },
  declined: { name: 'declined', reason: 'CODE_MALFORMED', text: '' },
  fault: { name: 'fault', fault: 'scanner-unavailable' },
});
