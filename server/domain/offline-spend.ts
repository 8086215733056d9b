// SPDX-License-Identifier: Apache-2.0
// Rolling offline limits (PayPay launch: 10,000 yen and 2 payments per 24 h, 50,000 yen and 10
// payments per 30 days), counted over the wallet's approved and settled offline payments.
import type { DeclineCode } from '../../shared/errors.ts';
import type { OfflineLimits } from '../../shared/wallet-messages.ts';
import type { PaymentRow, StoreTx } from '../ports/store.ts';

const DAY_MS = 86_400_000;

/**
 * `displaced` is a counted payment this one is about to replace (a copy that settled before the
 * original it copied arrived): it is left out of the count.
 */
export async function checkRollingLimits(
  tx: StoreTx,
  walletId: string,
  limits: OfflineLimits,
  amount: number,
  atMs: number,
  displaced?: PaymentRow,
): Promise<DeclineCode | undefined> {
  const without = async (sinceMs: number) => {
    const u = await tx.offlineUsage(walletId, sinceMs);
    const counted = displaced && displaced.at >= sinceMs && (displaced.status === 'approved' || displaced.status === 'settled');
    return counted ? { amount: u.amount - displaced.amount, count: u.count - 1 } : u;
  };
  const day = await without(atMs - DAY_MS);
  if (day.amount + amount > limits.daily.amount || day.count + 1 > limits.daily.count) return 'OFFLINE_LIMIT_DAILY';
  const month = await without(atMs - 30 * DAY_MS);
  if (month.amount + amount > limits.monthly.amount || month.count + 1 > limits.monthly.count) return 'OFFLINE_LIMIT_MONTHLY';
  return undefined;
}
