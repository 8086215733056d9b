// SPDX-License-Identifier: Apache-2.0
// A picture of the ledger taken through the Store port, to prove that an attack moved nothing:
// the balance of every account the test knows, the balance totals per currency, and the number
// and sum of payments that moved money (approved or settled). Declined attempts are kept as
// audit rows on purpose (the operator's "declines by reason"); they move no money, so they are not
// part of this picture.
import type { Store } from '../../server/ports/store.ts';

export interface LedgerSnapshot {
  /** Account id -> balance in minor units; null when the account does not exist. */
  balances: Record<string, number | null>;
  /** Currency -> sum of all balances (zero in a double-entry ledger). */
  totals: Record<string, number>;
  /** Approved and settled payments: how many, and their sum per currency. */
  moved: { count: number; amountByCurrency: Record<string, number> };
}

/** Every `at` a test can produce falls in [0, 2^52): one bucket over all time. */
const ALL_TIME_MS = 2 ** 52;

export async function ledgerSnapshot(store: Store, accountIds: Iterable<string>): Promise<LedgerSnapshot> {
  return store.unit(async (tx) => {
    const balances: Record<string, number | null> = {};
    for (const id of [...new Set(accountIds)].sort()) balances[id] = (await tx.getAccount(id))?.balance ?? null;
    const totals = Object.fromEntries([...(await tx.balanceTotals())].sort(([a], [b]) => a.localeCompare(b)));
    const moved = { count: 0, amountByCurrency: {} as Record<string, number> };
    for (const b of await tx.salesBuckets(0, ALL_TIME_MS, ALL_TIME_MS)) {
      moved.count += b.count;
      moved.amountByCurrency[b.currency] = (moved.amountByCurrency[b.currency] ?? 0) + b.amount;
    }
    return { balances, totals, moved };
  });
}
