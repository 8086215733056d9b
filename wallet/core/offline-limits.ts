// SPDX-License-Identifier: Apache-2.0
// The wallet's own count of its rolling offline limits (the credential's daily and monthly amount and
// count), shared by the CLI and the web app. The server is the judge (server/domain/offline-spend.ts
// counts approved and settled offline payments); the phone counts more strictly, so that a code it
// shows always fits: every offline code it has shown counts from the moment it is shown, at its
// signed amount cap, or at the per-payment limit when it has none, until history says what it was
// charged (0 when declined). The codes one screen refreshes every few seconds count once together
// (the shopper pays with one of them); each `wallet code` of the CLI is a sitting of its own.
// Payments in history that this phone did not record count as charged.
import type { OfflineLimits, PaymentRecord } from '../../shared/wallet-messages.ts';
import { OFFLINE_WINDOW_MS_DEFAULT } from '../../shared/codes/offline-terms.ts';
import type { ShownCode } from './wallet-state.ts';

const DAY_MS = 86_400_000;
/** Rolling windows, as the server counts them. */
export const OFFLINE_WINDOWS_MS = { daily: DAY_MS, monthly: 30 * DAY_MS } as const;
/**
 * The server counts a stored payment at its capture time, which may lie up to the offline window
 * after the code was shown, and judges the next code at its own capture time, which may lie up to
 * the window before the phone made it. So a code (or a paid payment) stays in the phone's count
 * for two windows longer than the rolling window: otherwise a code made just over 24 h after an
 * earlier one could be declined at settlement though the phone let the shopper show it.
 */
export const CAPTURE_SLACK_MS = 2 * OFFLINE_WINDOW_MS_DEFAULT;

export interface OfflineUsage {
  amount: number;
  count: number;
}

export type OfflineLimitsVerdict =
  | { ok: true; daily: OfflineUsage; monthly: OfflineUsage }
  /** Another offline payment would be declined: `window`'s count is used up, or its amount is. */
  | { ok: false; window: 'daily' | 'monthly'; by: 'count' | 'amount'; daily: OfflineUsage; monthly: OfflineUsage };

/** Codes refreshed on one screen form one sitting: the shopper pays with at most one of them. */
function sittings(shown: readonly ShownCode[]): ShownCode[][] {
  const out: ShownCode[][] = [];
  for (const c of shown) {
    const last = out[out.length - 1];
    if (c.sameSitting && last) last.push(c);
    else out.push([c]);
  }
  return out;
}

function usageSince(limits: OfflineLimits, payments: readonly PaymentRecord[], shown: readonly ShownCode[], sinceMs: number): OfflineUsage {
  let amount = 0;
  let count = 0;
  const recorded = new Set<string>();
  for (const sitting of sittings(shown)) {
    for (const c of sitting) recorded.add(`${c.form}/${c.credentialId}/${c.counter}`);
    if (sitting[sitting.length - 1]!.shownAtMs < sinceMs) continue;
    const known = sitting.filter((c) => c.charged !== undefined);
    // History saw one of its codes: that is what it cost (0 when declined). Otherwise the worst case.
    const cost =
      known.length > 0 ? Math.max(...known.map((c) => c.charged!)) : Math.max(...sitting.map((c) => c.amountCap ?? limits.perPayment));
    if (known.length > 0 && cost === 0) continue;
    amount += cost;
    count += 1;
  }
  for (const p of payments) {
    if (p.kind === 'online' || (p.status !== 'approved' && p.status !== 'settled')) continue;
    if (p.offline && recorded.has(`${p.kind === 'offline-numeric' ? 'numeric' : 'qr'}/${p.offline.credentialId}/${p.offline.counter}`))
      continue;
    if (p.at < sinceMs || p.amount.currency !== limits.currency) continue;
    amount += p.amount.value;
    count += 1;
  }
  return { amount, count };
}

/**
 * Whether one more offline code fits. `nextAmount` is what the next code would count at (its cap, or
 * the per-payment limit); 0 asks only whether anything at all is left (the web app's status line).
 * `shown` is the phone's own record of the codes it showed (WalletState.shown).
 */
export function offlineLimitsLeft(
  limits: OfflineLimits,
  payments: readonly PaymentRecord[],
  correctedNowMs: number,
  shown: readonly ShownCode[] = [],
  nextAmount = 0,
): OfflineLimitsVerdict {
  const daily = usageSince(limits, payments, shown, correctedNowMs - OFFLINE_WINDOWS_MS.daily - CAPTURE_SLACK_MS);
  const monthly = usageSince(limits, payments, shown, correctedNowMs - OFFLINE_WINDOWS_MS.monthly - CAPTURE_SLACK_MS);
  for (const [window, used, limit] of [
    ['daily', daily, limits.daily],
    ['monthly', monthly, limits.monthly],
  ] as const) {
    if (used.count >= limit.count) return { ok: false, window, by: 'count', daily, monthly };
    if (used.amount + Math.max(nextAmount, 1) > limit.amount) return { ok: false, window, by: 'amount', daily, monthly };
  }
  return { ok: true, daily, monthly };
}
