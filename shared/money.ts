// SPDX-License-Identifier: Apache-2.0
// Money is an integer count of minor units with a currency. Never a float.
// Values are JS numbers restricted to safe integers in [0, MONEY_MAX]; every arithmetic helper checks
// its result, so an overflow is an error, never a silent rounding.
import { assert } from './assert.ts';

/** Currencies we accept, with their minor-unit exponent (ISO 4217). */
export const CURRENCIES = { JPY: 0, USD: 2, EUR: 2 } as const;
export type Currency = keyof typeof CURRENCIES;
export const DEFAULT_CURRENCY: Currency = 'JPY';

/** ISO 4217 numeric codes, used by the binary offline credential. */
export const CURRENCY_NUMERIC: Record<Currency, number> = { JPY: 392, USD: 840, EUR: 978 };

/** Largest amount of one payment or balance we handle: 10^12 minor units. */
export const MONEY_MAX = 1_000_000_000_000;

export interface Money {
  readonly value: number;
  readonly currency: Currency;
}

export function isCurrency(x: unknown): x is Currency {
  return typeof x === 'string' && Object.hasOwn(CURRENCIES, x);
}

export function currencyFromNumeric(n: number): Currency | undefined {
  for (const [c, num] of Object.entries(CURRENCY_NUMERIC)) if (num === n) return c as Currency;
  return undefined;
}

export function isValidAmount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MONEY_MAX;
}

export function money(value: number, currency: Currency = DEFAULT_CURRENCY): Money {
  assert(isValidAmount(value), `money value must be an integer in [0, ${MONEY_MAX}], got ${value}`);
  return { value, currency };
}

/** Adds two signed minor-unit values (balances can be negative); throws past MONEY_MAX in size. */
export function addMinor(a: number, b: number): number {
  const sum = a + b;
  assert(Number.isSafeInteger(sum) && Math.abs(sum) <= MONEY_MAX * 1000, `money overflow: ${a} + ${b}`);
  return sum;
}

/** Human text for logs and screens, e.g. "¥1,200" or "USD 12.34". Never parsed back. */
export function formatMoney(m: Money): string {
  const exp = CURRENCIES[m.currency];
  const sign = m.value < 0 ? '-' : '';
  const abs = Math.abs(m.value);
  const major = Math.floor(abs / 10 ** exp).toLocaleString('en-US');
  const minor = exp > 0 ? '.' + String(abs % 10 ** exp).padStart(exp, '0') : '';
  return m.currency === 'JPY' ? `${sign}¥${major}` : `${sign}${m.currency} ${major}${minor}`;
}
