// SPDX-License-Identifier: Apache-2.0
// The wallet's own view of its rolling offline limits (the credential's daily and monthly amount and
// count), from the payments the server has shown it. The server is the judge (server/domain/
// offline-spend.ts counts approved and settled offline payments the same way); this only lets the
// app say "limits used up" before the shopper stands at a kiosk with a code that will be declined.
import type { OfflineLimits, PaymentRecord } from '../../shared/wallet-messages.ts';

const DAY_MS = 86_400_000;
/** Rolling windows, as the server counts them. */
export const OFFLINE_WINDOWS_MS = { daily: DAY_MS, monthly: 30 * DAY_MS } as const;

export interface OfflineUsage { amount: number; count: number }

export type OfflineLimitsVerdict =
  | { ok: true; daily: OfflineUsage; monthly: OfflineUsage }
  /** Another offline payment would be declined: `window`'s count is used up, or its amount is. */
  | { ok: false; window: 'daily' | 'monthly'; by: 'count' | 'amount'; daily: OfflineUsage; monthly: OfflineUsage };

function usageSince(payments: readonly PaymentRecord[], currency: string, sinceMs: number): OfflineUsage {
  let amount = 0;
  let count = 0;
  for (const p of payments) {
    if (p.kind === 'online' || (p.status !== 'approved' && p.status !== 'settled')) continue;
    if (p.at < sinceMs || p.amount.currency !== currency) continue;
    amount += p.amount.value;
    count += 1;
  }
  return { amount, count };
}

/**
 * Whether one more offline payment fits. Amount limits are "used up" only when nothing at all is
 * left: the amount of the next payment is the kiosk's to decide, not the phone's.
 */
export function offlineLimitsLeft(limits: OfflineLimits, payments: readonly PaymentRecord[], correctedNowMs: number): OfflineLimitsVerdict {
  const daily = usageSince(payments, limits.currency, correctedNowMs - OFFLINE_WINDOWS_MS.daily);
  const monthly = usageSince(payments, limits.currency, correctedNowMs - OFFLINE_WINDOWS_MS.monthly);
  for (const [window, used, limit] of [['daily', daily, limits.daily], ['monthly', monthly, limits.monthly]] as const) {
    if (used.count >= limit.count) return { ok: false, window, by: 'count', daily, monthly };
    if (used.amount >= limit.amount) return { ok: false, window, by: 'amount', daily, monthly };
  }
  return { ok: true, daily, monthly };
}
