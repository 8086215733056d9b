// SPDX-License-Identifier: Apache-2.0
// The chaos test's ledger on PostgreSQL: a fresh schema, migrated before the server first starts
// (the server's store finds its tables through the URL's search_path and creates no schema), read
// after the chaos with the balances and their totals through the store, which counts the merchant
// postings the server had not yet rolled in (a SIGKILL may leave many); the lists the checker needs
// besides (payments, codes, revocations, the transfer log) with plain SQL. Dropped afterwards.
import pg from 'pg';
import type { Currency } from '../../shared/money.ts';
import { freshSchema, type FreshSchema } from '../../server/testing/pg-test-db.ts';
import type { ChaosLedger } from './chaos-scenario.ts';
import { checkLedger, LEDGER_SQL, type LedgerSnapshot, type PaymentRow } from './invariants.ts';

export async function pgChaosLedger(url: string): Promise<ChaosLedger> {
  const db = freshSchema({ url, prefix: 'kp_chaos' });
  const store = db.open();
  try {
    await store.ready();
  } finally {
    await store.close();
  }
  return {
    databaseUrl: db.url,
    check: async (input) => checkLedger(await readPgLedger(db), input),
    dispose: () => db.dispose(),
  };
}

/** BIGINT and SUM come back from PostgreSQL as text. */
const int = (v: unknown) => Number(v);

/** The ledger as the checker reads it; the store opened here rolls nothing in. */
export async function readPgLedger(db: FreshSchema): Promise<LedgerSnapshot> {
  // No roll-up from this store: the balances are read as the server left them.
  const store = db.open({ rollEveryMs: Infinity });
  const client = new pg.Client({ connectionString: db.url, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    const all = async <T>(sql: string) => (await client.query(sql)).rows as T[];
    const ids = (await all<{ id: string }>('SELECT id FROM accounts')).map((r) => r.id);
    const { balances, totals } = await store.unit(async (tx) => {
      const balances = new Map<string, number>();
      for (const id of ids) {
        const a = await tx.getAccount(id);
        if (a) balances.set(id, a.balance);
      }
      return { balances, totals: new Map<Currency, number>(await tx.balanceTotals()) };
    });
    type Raw = Omit<PaymentRow, 'amount' | 'counter' | 'replay'> & { amount: string; counter: string | null; replay: boolean };
    return {
      balances,
      totals,
      nets: new Map((await all<{ id: string; net: string }>(LEDGER_SQL.nets)).map((r) => [r.id, int(r.net)])),
      payments: (await all<Raw>(LEDGER_SQL.payments)).map((p) => ({
        ...p,
        amount: int(p.amount),
        counter: p.counter === null ? null : int(p.counter),
        replay: p.replay ? 1 : 0,
      })),
      codeOfPayment: new Map((await all<{ code_hash: string; used_by: string }>(LEDGER_SQL.codes)).map((r) => [r.used_by, r.code_hash])),
      revoked: await all<{ id: string; revoke_reason: string | null }>(LEDGER_SQL.revoked),
    };
  } finally {
    await client.end();
    await store.close();
  }
}
