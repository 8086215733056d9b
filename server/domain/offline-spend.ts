// SPDX-License-Identifier: Apache-2.0
// Rolling offline limits (PayPay launch: 10,000 yen and 2 payments per 24 h, 50,000 yen and 10
// payments per 30 days), counted over the wallet's approved and settled offline payments.
import type { DeclineCode } from '../../shared/errors.ts';
import type { OfflineLimits } from '../../shared/wallet-messages.ts';
import type { StoreTx } from '../ports/store.ts';

const DAY_MS = 86_400_000;

export async function checkRollingLimits(tx: StoreTx, walletId: string, limits: OfflineLimits, amount: number, atMs: number): Promise<DeclineCode | undefined> {
  const day = await tx.offlineUsage(walletId, atMs - DAY_MS);
  if (day.amount + amount > limits.daily.amount || day.count + 1 > limits.daily.count) return 'OFFLINE_LIMIT_DAILY';
  const month = await tx.offlineUsage(walletId, atMs - 30 * DAY_MS);
  if (month.amount + amount > limits.monthly.amount || month.count + 1 > limits.monthly.count) return 'OFFLINE_LIMIT_MONTHLY';
  return undefined;
}
