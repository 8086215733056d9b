// SPDX-License-Identifier: Apache-2.0
// Building blocks shared by the MQTT and HTTP message schemas.
import { z } from 'zod';
import { CURRENCIES, MONEY_MAX, type Currency } from './money.ts';

/** Hard cap on any code text we parse (an offline QR code is about 290 characters). */
export const CODE_TEXT_MAX = 512;

export const currencySchema = z.enum(Object.keys(CURRENCIES) as [Currency, ...Currency[]]);

/** A payment amount: integer minor units, 1..MONEY_MAX. */
export const amountSchema = z.strictObject({
  value: z.int().min(1).max(MONEY_MAX),
  currency: currencySchema,
});

/** A balance or limit: may be zero, and balances may be negative. */
export const balanceSchema = z.strictObject({
  value: z.int().min(-MONEY_MAX).max(MONEY_MAX),
  currency: currencySchema,
});

/** Correlation ids and kiosk transaction ids: 1-64 printable ASCII characters without spaces. */
export const idSchema = z.string().regex(/^[\x21-\x7e]{1,64}$/, 'must be 1-64 printable ASCII characters');

/** Unix milliseconds, within a sane range (2020 .. 2100). */
export const timestampMsSchema = z.int().min(1_577_836_800_000).max(4_102_444_800_000);

export const codeTextSchema = z.string().min(1).max(CODE_TEXT_MAX);
