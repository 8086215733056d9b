// SPDX-License-Identifier: Apache-2.0
// The offline conditions that need no database: validity period, time window, currency and the
// per-payment limit. The server checks them (and then the ones that need its ledger: revocation,
// counter reuse, daily and monthly limits); a kiosk checks them locally before it accepts a code
// while its uplink is down.
import { assert } from '../assert.ts';
import type { ErrorCode } from '../errors.ts';
import type { Money } from '../money.ts';
import type { OfflineCredential } from './credential.ts';

/**
 * How far a code's timestamp and the time it is taken may lie apart (the server's `offlineWindowMs`
 * and a kiosk's `offline.windowMs` default to it): a code settles only if captured within this of
 * the moment the phone made it.
 */
export const OFFLINE_WINDOW_MS_DEFAULT = 5 * 60_000;

/** Reasons are keys of ERRORS (a compile error otherwise). */
type Reasons<T extends ErrorCode> = T;
export type OfflineTermsFailure = Reasons<'CREDENTIAL_EXPIRED' | 'TIME_OUT_OF_WINDOW' | 'OFFLINE_LIMIT_PER_PAYMENT' | 'CURRENCY_MISMATCH'>;

export interface OfflineTermsInput {
  credential: OfflineCredential;
  /** The code's own timestamp (the phone's clock), Unix ms. */
  timestampMs: number;
  amount: Money;
  /** The code's own cap (offline QR version 2): the most the shopper let a kiosk claim. */
  amountCap?: number | null | undefined;
  /** The checker's time: the server's clock, or the kiosk's trusted capture time. */
  referenceTimeMs: number;
  windowMs: number;
  /** extra slack for the checker's own clock uncertainty */
  uncertaintyMs?: number;
}

/**
 * Checks, in this order (the first failure is the answer):
 * 1. CREDENTIAL_EXPIRED: timestampMs outside [notBeforeMs, notAfterMs] (inclusive);
 * 2. TIME_OUT_OF_WINDOW: |timestampMs - referenceTimeMs| > windowMs + uncertaintyMs;
 * 3. CURRENCY_MISMATCH: amount.currency differs from the credential's limits currency;
 * 4. OFFLINE_LIMIT_PER_PAYMENT: amount.value > limits.perPayment, or > the code's amountCap.
 * Every comparison fails closed on NaN. Throws (programmer error) on a negative or non-finite
 * window, uncertainty or reference time.
 */
export function checkOfflineTerms(i: OfflineTermsInput): { ok: true } | { ok: false; reason: OfflineTermsFailure } {
  const uncertaintyMs = i.uncertaintyMs ?? 0;
  assert(Number.isFinite(i.windowMs) && i.windowMs >= 0, 'windowMs must be a finite non-negative number');
  assert(Number.isFinite(uncertaintyMs) && uncertaintyMs >= 0, 'uncertaintyMs must be a finite non-negative number');
  assert(Number.isFinite(i.referenceTimeMs), 'referenceTimeMs must be finite');
  const c = i.credential;
  if (!(i.timestampMs >= c.notBeforeMs && i.timestampMs <= c.notAfterMs)) return { ok: false, reason: 'CREDENTIAL_EXPIRED' };
  if (!(Math.abs(i.timestampMs - i.referenceTimeMs) <= i.windowMs + uncertaintyMs)) return { ok: false, reason: 'TIME_OUT_OF_WINDOW' };
  if (i.amount.currency !== c.limits.currency) return { ok: false, reason: 'CURRENCY_MISMATCH' };
  if (!(i.amount.value <= c.limits.perPayment)) return { ok: false, reason: 'OFFLINE_LIMIT_PER_PAYMENT' };
  if (i.amountCap !== undefined && i.amountCap !== null && !(i.amount.value <= i.amountCap))
    return { ok: false, reason: 'OFFLINE_LIMIT_PER_PAYMENT' };
  return { ok: true };
}
