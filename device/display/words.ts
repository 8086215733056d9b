// SPDX-License-Identifier: Apache-2.0
// The words on the kiosk's screen, shared by every Display adapter: a title and a few short lines
// per view. Decline reasons come from the closed error table's shopper texts (shared/errors.ts),
// so a shopper never sees a code name. Pure; no adapter-specific layout here.
import { ERRORS } from '../../shared/errors.ts';
import { formatMoney } from '../../shared/money.ts';
import type { FaultKind, Hint } from '../domain/checkout/types.ts';
import type { DisplayView } from './display.ts';

export interface ScreenWords {
  readonly title: string;
  readonly lines: readonly string[];
  /** How the screen should feel: neutral, busy (spinner), good (green) or bad (red). */
  readonly tone: 'neutral' | 'busy' | 'good' | 'bad';
}

export const HINT_WORDS: Readonly<Record<Hint, string>> = Object.freeze({
  'choose-products-first': 'Please choose your products first.',
  'unknown-product': 'This product is not sold here.',
  'basket-full': 'The basket is full. Please pay for these items first.',
  'products-not-sold-here': 'Products cannot be scanned at this machine.',
  'press-a-product-button': 'Please press the button of the product you want.',
  'unreadable-code': 'This code cannot be read. Please show your payment code.',
  'please-wait': 'Please wait…',
  'not-ready': 'This kiosk is getting ready. Please wait a moment.',
});

export const FAULT_WORDS: Readonly<Record<FaultKind, string>> = Object.freeze({
  'scanner-unavailable': 'scanner unavailable',
  'display-unavailable': 'display unavailable',
  'relay-unavailable': 'dispenser unavailable',
  'catalog-unavailable': 'product list unavailable',
});

/** Shown before any scan while the uplink is down and no offline code can be taken either. */
export const CANNOT_PAY_NOW = 'This kiosk cannot take payments right now.';

export function screenWords(view: DisplayView): ScreenWords {
  const s = view.screen;
  const cannotPay = view.offline && view.offlineUnavailable === true;
  switch (s.name) {
    case 'idle':
      if (cannotPay) return { title: 'Sorry', lines: [CANNOT_PAY_NOW, 'Please try again later.'], tone: 'bad' };
      return s.mode === 'vending'
        ? { title: 'Welcome', lines: ['Press a product button to start.'], tone: 'neutral' }
        : { title: 'Welcome', lines: ['Scan your first product to start.'], tone: 'neutral' };
    case 'basket':
      if (cannotPay)
        return { title: `Total ${formatMoney(s.basket.total)}`, lines: [`${s.basket.items.length} item(s)`, CANNOT_PAY_NOW], tone: 'bad' };
      return {
        title: `Total ${formatMoney(s.basket.total)}`,
        lines: [`${s.basket.items.length} item(s)`, 'Scan more products, or press Pay.'],
        tone: 'neutral',
      };
    case 'awaitingCode':
      if (cannotPay)
        return { title: `Pay ${formatMoney(s.basket.total)}`, lines: [CANNOT_PAY_NOW, 'Please try again later.'], tone: 'bad' };
      return {
        title: `Pay ${formatMoney(s.basket.total)}`,
        lines: [
          'Scan your payment code.',
          view.offline ? 'Offline: please show your offline code.' : 'Show the QR code in your wallet app.',
        ],
        tone: 'neutral',
      };
    case 'authorising':
      return {
        title: `Paying ${formatMoney(s.total)}`,
        lines: [s.offline ? 'Checking your offline code…' : 'Contacting your wallet…'],
        tone: 'busy',
      };
    // In the order a shopper reads them: a vending machine says "Approved" while it dispenses and
    // "Thank you" once the product is out; self-checkout says both on its one result screen.
    case 'dispensing':
      return { title: 'Approved', lines: ['Your product is on its way.'], tone: 'good' };
    case 'approved':
      return view.mode === 'vending'
        ? { title: 'Thank you!', lines: [`${formatMoney(s.total)} paid. Please take your product.`], tone: 'good' }
        : { title: 'Approved', lines: [`${formatMoney(s.total)} paid. Thank you!`], tone: 'good' };
    case 'declined':
      return { title: 'Not paid', lines: [s.text || ERRORS[s.reason].shopper], tone: 'bad' };
    case 'fault':
      return { title: 'Out of service', lines: ['Sorry, this kiosk cannot take payments right now.', FAULT_WORDS[s.fault]], tone: 'bad' };
  }
}
