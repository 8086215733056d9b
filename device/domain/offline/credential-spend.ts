// SPDX-License-Identifier: Apache-2.0
// Per-credential rolling counters on the kiosk: the offline payments this kiosk took from one
// credential in the last 24 hours and 30 days (count and amount), checked against the limits signed
// into the credential before the kiosk says "approved". The server counts every kiosk; this kiosk
// counts what it took itself, so that a code it approves cannot be declined at settlement for the
// limits because of its own earlier sales (docs/protocol.md, "Who bears a loss").
//
// The records are the outbox's stored payments plus those already forwarded, which the kiosk keeps
// in its state file (KioskState.offlineSpend) for 30 days; a stored payment the server declined
// at settlement counts no more (it did not count at the server either). Pure: no I/O here.
import type { ErrorCode } from '../../../shared/errors.ts';
import type { Money } from '../../../shared/money.ts';
import type { OfflineLimits } from '../../../shared/wallet-messages.ts';

const DAY_MS = 86_400_000;
/** Records older than the longest window are forgotten. */
export const SPEND_WINDOW_MS = 30 * DAY_MS;
/** Forwarded payments remembered at most (oldest dropped first): far above a credential's 30-day count. */
export const SPEND_KEPT_MAX = 5_000;

export interface SpendRecord {
  txId: string;
  credentialId: string;
  amount: Money;
  capturedAt: number;
}

/** Reasons are keys of ERRORS. */
export type SpendDecline = Extract<ErrorCode, 'OFFLINE_LIMIT_DAILY' | 'OFFLINE_LIMIT_MONTHLY'>;

/** Outbox entries and kept records, once each (by txId), without those declined at settlement. */
export function spendRecords(
  stored: readonly SpendRecord[],
  kept: readonly SpendRecord[],
  declinedTxIds: ReadonlySet<string>,
): SpendRecord[] {
  const byTx = new Map<string, SpendRecord>();
  for (const r of [...kept, ...stored]) if (!declinedTxIds.has(r.txId)) byTx.set(r.txId, r);
  return [...byTx.values()];
}

/**
 * Whether one more payment of `amount` from `credentialId` at `atMs` fits the signed rolling limits,
 * counting `records` captured within each window before `atMs` (and any later: a clock step back
 * must not free up room). Same comparisons as the server (server/domain/offline-spend.ts).
 */
export function checkCredentialSpend(
  records: readonly SpendRecord[],
  credentialId: string,
  limits: OfflineLimits,
  amount: Money,
  atMs: number,
): SpendDecline | undefined {
  const usage = (sinceMs: number) => {
    let value = 0;
    let count = 0;
    for (const r of records) {
      if (r.credentialId !== credentialId || r.capturedAt < sinceMs || r.amount.currency !== amount.currency) continue;
      value += r.amount.value;
      count += 1;
    }
    return { value, count };
  };
  const day = usage(atMs - DAY_MS);
  if (day.value + amount.value > limits.daily.amount || day.count + 1 > limits.daily.count) return 'OFFLINE_LIMIT_DAILY';
  const month = usage(atMs - SPEND_WINDOW_MS);
  if (month.value + amount.value > limits.monthly.amount || month.count + 1 > limits.monthly.count) return 'OFFLINE_LIMIT_MONTHLY';
  return undefined;
}

/** `kept` plus `added`, without records past every window, newest SPEND_KEPT_MAX. */
export function withSpend(kept: readonly SpendRecord[], added: SpendRecord, nowMs: number): SpendRecord[] {
  const next = [...kept.filter((r) => r.capturedAt >= nowMs - SPEND_WINDOW_MS && r.txId !== added.txId), added];
  return next.slice(Math.max(0, next.length - SPEND_KEPT_MAX));
}
