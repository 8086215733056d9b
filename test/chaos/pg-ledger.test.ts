// SPDX-License-Identifier: Apache-2.0
// The chaos checker on a PostgreSQL ledger (pg-ledger.ts): a merchant's money still in postings
// counts in its balance, and a posting that no transfer explains is named. PostgreSQL unreachable: a
// failure under CI, a warning and a skip elsewhere.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { initialKioskState } from '../../device/kiosk/kiosk-state.ts';
import { freshSchema, probePostgres } from '../../server/testing/pg-test-db.ts';
import { requirePostgres } from '../../server/testing/require-postgres.ts';
import { checkLedger } from './invariants.ts';
import { readPgLedger } from './pg-ledger.ts';

const SUITE = 'the chaos checker on a PostgreSQL ledger';
const reachable = requirePostgres(await probePostgres(), SUITE);

describe.skipIf(!reachable)(SUITE, () => {
  it('counts postings not yet rolled in, and names a posting no transfer explains', async () => {
    const db = freshSchema({ prefix: 'kp_chaos' });
    const store = db.open({ rollEveryMs: Infinity });
    const admin = new pg.Client({ connectionString: db.url });
    const input = {
      attempts: [],
      wallets: [],
      thinWallets: new Set<string>(),
      merchant: 'shop',
      kiosks: new Map([['k1', { outbox: [], state: initialKioskState(), sources: { outbox: 'main' as const, state: 'main' as const } }]]),
    };
    try {
      await store.unit(async (tx) => {
        await tx.createAccount({ id: 'issuance:JPY', kind: 'issuance', currency: 'JPY', balance: 0, createdAt: 1 });
        await tx.createAccount({ id: 'merchant:shop', kind: 'merchant', currency: 'JPY', balance: 0, createdAt: 1 });
        await tx.transfer({
          paymentId: null,
          debitAccount: 'issuance:JPY',
          creditAccount: 'merchant:shop',
          amount: 150,
          currency: 'JPY',
          kind: 'topup',
          at: 1,
        });
      });
      await admin.connect();
      const raw = await admin.query<{ balance: string }>(`SELECT balance FROM accounts WHERE id = 'merchant:shop'`);
      expect(raw.rows[0]?.balance).toBe('0'); // the credit is a posting

      const ledger = await readPgLedger(db);
      expect(ledger.balances.get('merchant:shop')).toBe(150);
      // Read as accounts.balance alone, the merchant would hold 0 against transfers netting 150.
      expect(checkLedger(ledger, input).violations).toEqual(['merchant shop: balance 150, charges total 0']);

      await admin.query(`INSERT INTO postings (account_id, currency, amount) VALUES ('merchant:shop', 'JPY', 5)`);
      expect(checkLedger(await readPgLedger(db), input).violations).toEqual([
        'ledger: JPY balances sum to 5, not 0',
        'ledger: account merchant:shop holds 155 but its transfers net 150',
        'merchant shop: balance 155, charges total 0',
      ]);
    } finally {
      await admin.end();
      await store.close();
      await db.dispose();
    }
  });
});
