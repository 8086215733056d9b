// SPDX-License-Identifier: Apache-2.0
// The Store contract against the PostgreSQL adapter. Each test gets its own schema (kp_test_<random>)
// in the database named by KP_TEST_DATABASE_URL (default: database `test` on 127.0.0.1:5432), dropped
// afterwards (server/testing/pg-test-db.ts). When PostgreSQL is unreachable the suite fails under CI
// and is skipped elsewhere.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { fromBase64url } from '../../shared/bytes.ts';
import { ManualClock } from '../../shared/clock.ts';
import { makeOfflineCode } from '../../shared/codes/offline-code.ts';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import { MONEY_MAX, money } from '../../shared/money.ts';
import { eventually, within } from '../../shared/testing/wait.ts';
import { seededRandom } from '../../shared/random.ts';
import { createContext, registerKiosks } from '../app.ts';
import { parseServerConfig } from '../config.ts';
import { merchantAccountId, shopperAccountId } from '../domain/ids.ts';
import { settle } from '../domain/settlement.ts';
import { pay } from '../domain/payments.ts';
import { enrollWallet, issueCredential, issueOnlineCode, topUp } from '../domain/wallets.ts';
import { storeContract } from '../ports/store-contract.ts';
import { CommitUnknownError, type StoreTx } from '../ports/store.ts';
import { freshSchema, probePostgres, TEST_DATABASE_URL } from '../testing/pg-test-db.ts';
import { requirePostgres } from '../testing/require-postgres.ts';
import { PgStore, StoreContentionError } from './pg-store.ts';
import { SqliteStore } from './sqlite-store.ts';

const unreachable = await probePostgres();
requirePostgres(unreachable, 'PgStore');

storeContract('PgStore', async () => freshSchema(), { replicasOverlap: true, ...(unreachable === undefined ? {} : { skip: unreachable }) });

/** A store on a fresh schema with accounts a (issuance) and b (shopper) at 0, for `body`; the schema is dropped afterwards. */
async function onAccountsAB(body: (s: PgStore) => Promise<void>): Promise<void> {
  const db = freshSchema();
  const s = db.open();
  try {
    await s.unit(async (tx) => {
      await tx.createAccount({ id: 'a', kind: 'issuance', currency: 'JPY', balance: 0, createdAt: 1 });
      await tx.createAccount({ id: 'b', kind: 'shopper', currency: 'JPY', balance: 0, createdAt: 1 });
    });
    await body(s);
  } finally {
    await s.close();
    await db.dispose();
  }
}

/** A unit that writes, then reads with two statements in flight (a lock and a read): moves 5 from a to b, returns the refunds of 'p'. */
async function moveThenCountRefunds(tx: StoreTx): Promise<number> {
  await tx.getAccount('a');
  await tx.transfer({ paymentId: null, debitAccount: 'a', creditAccount: 'b', amount: 5, currency: 'JPY', kind: 'topup', at: 1 });
  return tx.refundedAmount('p');
}

/**
 * A store on a fresh schema whose `meta` table has a constraint trigger run at COMMIT with the
 * given PL/pgSQL statements, and an admin connection, for `body`; the schema is dropped afterwards.
 */
async function withCommitTrigger(statements: string, body: (s: PgStore, admin: pg.Client) => Promise<void>): Promise<void> {
  const db = freshSchema();
  const s = db.open();
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await s.ready();
    await admin.query(
      `CREATE FUNCTION ${db.schema}.at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${statements} RETURN NULL; END $$`,
    );
    await admin.query(
      `CREATE CONSTRAINT TRIGGER at_commit AFTER INSERT OR UPDATE ON ${db.schema}.meta DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${db.schema}.at_commit()`,
    );
    await body(s, admin);
  } finally {
    await admin.end();
    await s.close();
    await db.dispose();
  }
}

describe.skipIf(unreachable !== undefined)('PgStore on PostgreSQL', () => {
  it("takes PostgreSQL's ERROR at COMMIT as nothing committed, not as an unknown outcome: the group splits and the other unit commits", async () => {
    // The trigger refuses one key at COMMIT.
    await withCommitTrigger(`IF NEW.key = 'bad' THEN RAISE EXCEPTION 'refused at commit'; END IF;`, async (s) => {
      const [good, bad] = await Promise.allSettled([s.unit((tx) => tx.setMeta('good', 'v')), s.unit((tx) => tx.setMeta('bad', 'v'))]);
      expect(good.status).toBe('fulfilled');
      expect(bad.status === 'rejected' && bad.reason).toBeInstanceOf(pg.DatabaseError);
      expect(await s.unit((tx) => Promise.all([tx.getMeta('good'), tx.getMeta('bad')]))).toEqual(['v', undefined]);
    });
  });

  it('says the outcome is unknown when its connection breaks while the COMMIT is in flight, not that the unit failed', async () => {
    // The trigger sleeps, so the COMMIT is in flight long enough to cut its connection.
    await withCommitTrigger('PERFORM pg_sleep(30);', async (s, admin) => {
      const unit = s.unit((tx) => tx.setMeta('k', 'v'));
      unit.catch(() => {});
      const pid = await eventually(
        async () =>
          (
            await admin.query<{ pid: number }>(
              `SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query ILIKE '%commit%' AND pid <> pg_backend_pid()`,
            )
          ).rows[0]?.pid,
        { what: 'the COMMIT waiting in its trigger' },
      );
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await expect(within(unit, { what: 'the unit whose COMMIT was cut' })).rejects.toBeInstanceOf(CommitUnknownError);
    });
  });

  it('migrates idempotently: replicas starting together share one schema', async () => {
    const db = freshSchema();
    const stores = [db.open(), db.open(), db.open()];
    try {
      await Promise.all(stores.map((s) => s.ready()));
      await stores[0]!.unit((tx) => tx.setMeta('k', 'v'));
      expect(await stores[2]!.unit((tx) => tx.getMeta('k'))).toBe('v');
      expect(await shapeOf(db.schema)).toEqual(CURRENT_SHAPE);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await db.dispose();
    }
  });

  it('refuses a database whose schema is of another version', async () => {
    const db = freshSchema();
    const first = db.open();
    await first.unit((tx) => tx.setMeta('schema_version', '99'));
    await first.close();
    const second = db.open();
    try {
      await expect(second.ready()).rejects.toThrow(/schema version 99 is not 6/);
      await expect(second.unit((tx) => tx.getMeta('k'))).rejects.toThrow(/schema version 99/);
    } finally {
      await second.close();
      await db.dispose();
    }
  });

  /** What versions 4 to 6 changed in `schema`: the foreign keys of transfers (none), online_codes' indexes and options, payments' indexes. */
  const shapeOf = async (schema: string) => {
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3_000 });
    await admin.connect();
    try {
      const fks = await admin.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f'`,
        [`${schema}.transfers`],
      );
      const codes = await admin.query<{ indexes: string[]; options: string[] | null }>(
        `SELECT array(SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = c.oid ORDER BY 1) AS indexes, c.reloptions AS options
           FROM pg_class c WHERE c.oid = $1::regclass`,
        [`${schema}.online_codes`],
      );
      const payments = await admin.query<{ indexes: string[] }>(
        `SELECT array(SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = $1::regclass ORDER BY 1) AS indexes`,
        [`${schema}.payments`],
      );
      const { indexes, options } = codes.rows[0]!;
      return {
        transferForeignKeys: Number(fks.rows[0]!.n),
        onlineCodeIndexes: indexes.map((i) => i.replace(`${schema}.`, '')),
        onlineCodeOptions: options,
        paymentIndexes: payments.rows[0]!.indexes.map((i) => i.replace(`${schema}.`, '')),
      };
    } finally {
      await admin.end();
    }
  };
  const CURRENT_SHAPE = {
    transferForeignKeys: 0,
    onlineCodeIndexes: ['online_codes_pkey', 'online_codes_wallet'],
    onlineCodeOptions: ['fillfactor=50'],
    paymentIndexes: ['payments_at', 'payments_kiosk_id_tx_id_key', 'payments_offline_created', 'payments_pkey', 'payments_wallet'],
  };

  it.each([
    ['1', 'DROP TABLE payment_lines; DROP TABLE ops_actions; DROP INDEX payments_at; DROP TABLE help_handled; DROP TABLE postings'],
    ['2', 'DROP TABLE help_handled; DROP TABLE postings'],
    [
      '3',
      'ALTER TABLE transfers ADD FOREIGN KEY (debit_account) REFERENCES accounts(id), ADD FOREIGN KEY (credit_account) REFERENCES accounts(id)',
    ],
    [
      '4',
      'DROP INDEX online_codes_wallet; CREATE INDEX online_codes_active ON online_codes(wallet_id, expires_at) WHERE used_by IS NULL; ALTER TABLE online_codes RESET (fillfactor)',
    ],
    ['5', 'DROP INDEX payments_offline_created'],
  ])('upgrades a version-%s schema to version 6 once, keeping its rows', async (version, lacks) => {
    const db = freshSchema();
    const first = db.open();
    await first.unit((tx) => tx.createAccount({ id: 'a', kind: 'shopper', currency: 'JPY', balance: 0, createdAt: 1 }));
    await first.close();
    // What an older schema lacks.
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3_000 });
    await admin.connect();
    try {
      await admin.query(`SET search_path = ${db.schema}; ${lacks}; UPDATE meta SET value = '${version}' WHERE key = 'schema_version'`);
    } finally {
      await admin.end();
    }
    const stores = [db.open(), db.open()];
    try {
      await Promise.all(stores.map((s) => s.ready()));
      expect(await stores[0]!.unit((tx) => tx.getMeta('schema_version'))).toBe('6');
      expect((await stores[1]!.unit((tx) => tx.getAccount('a')))?.id).toBe('a');
      expect(await stores[1]!.unit((tx) => tx.getOpsActionByKey('k'))).toBeUndefined();
      expect(await stores[1]!.unit((tx) => tx.listHelpHandled({ fromMs: 0, toMs: 1 }, 1))).toEqual([]);
      expect(await shapeOf(db.schema)).toEqual(CURRENT_SHAPE);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await db.dispose();
    }
  });

  it('rejects units, without hanging, when the database cannot be reached', async () => {
    const s = new PgStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test', connectTimeoutMs: 2_000 });
    await expect(s.ready()).rejects.toThrow();
    await expect(s.unit((tx) => tx.getMeta('k'))).rejects.toThrow();
    await s.close();
  });

  it('refuses an unsafe schema name', () => {
    expect(() => new PgStore({ connectionString: TEST_DATABASE_URL, schema: 'x; DROP TABLE y' })).toThrow(/invalid schema name/);
  });

  it('refuses to store an amount past the safe integer range', async () => {
    const db = freshSchema();
    const s = db.open();
    try {
      await s.unit(async (tx) => {
        await tx.createAccount({ id: 'a', kind: 'issuance', currency: 'JPY', balance: -Number.MAX_SAFE_INTEGER, createdAt: 1 });
        await tx.createAccount({ id: 'b', kind: 'shopper', currency: 'JPY', balance: 0, createdAt: 1 });
      });
      // Credits stop at 10^12 (BALANCE_LIMIT); the schema's check guards the debit side too.
      await expect(
        s.unit((tx) =>
          tx.transfer({ paymentId: null, debitAccount: 'a', creditAccount: 'b', amount: 1, currency: 'JPY', kind: 'topup', at: 1 }),
        ),
      ).rejects.toThrow(/check constraint/);
      expect(await s.unit(async (tx) => (await tx.getAccount('a'))?.balance)).toBe(-Number.MAX_SAFE_INTEGER);
    } finally {
      await s.close();
      await db.dispose();
    }
  });

  it('runs a unit again when another replica changed what it read, with seeded backoff, and gives up after its bound', async () => {
    const db = freshSchema();
    const waits: number[] = [];
    const a = new PgStore({
      connectionString: TEST_DATABASE_URL,
      schema: db.schema,
      random: seededRandom(7),
      retriesMax: 2,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    const b = db.open();
    try {
      await a.unit(async (tx) => {
        await tx.setMeta('n', '0');
      });
      // Unit A reads n, then (test-only) lets unit B commit a change to n before A writes it: A's
      // write is a compare-and-set on the value it read, so every attempt finds it stale.
      let attempts = 0;
      const conflicted = a.unit(async (tx) => {
        attempts++;
        const n = Number(await tx.getMeta('n'));
        await b.unit((tx2) => tx2.setMeta('n', String(n + 100 + attempts)));
        await tx.setMeta('n', String(n + 1));
      });
      const err = await conflicted.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreContentionError);
      expect((err as StoreContentionError).attempts).toBe(3);
      expect(attempts).toBe(3);
      expect(a.counters.staleReads).toBe(3);
      expect(a.counters.retries).toBe(0);
      expect(waits).toHaveLength(2);
      expect(waits.every((w) => w >= 0 && w < 100)).toBe(true);
      expect(await a.unit((tx) => tx.getMeta('n'))).toBe('306'); // 0 → 101 → 203 → 306: only B's writes landed.
    } finally {
      await Promise.all([a.close(), b.close()]);
      await db.dispose();
    }
  });

  it('under load, starts a small group only after a moment, so units arriving meanwhile share it', async () => {
    // With four replicas each one's groups shrank to 5 units, and every group costs its round trips
    // and a COMMIT: a lone unit after a group of ten waits (at most LINGER_MS) for the next four.
    await onAccountsAB(async (s) => {
      const read = () => s.unit((tx) => tx.getMeta('k'));
      await Promise.all(Array.from({ length: 10 }, read));
      const before = { ...s.counters };
      const next = new Promise<unknown>((resolve) => setImmediate(() => resolve(Promise.all(Array.from({ length: 4 }, read)))));
      await Promise.all([read(), next]);
      expect(s.counters.groups - before.groups).toBe(1);
      expect(s.counters.units - before.units).toBe(5);
    });
  });

  it('at a trickle, starts a lone unit at once: after a group of one, nothing waits for company', async () => {
    await onAccountsAB(async (s) => {
      const read = () => s.unit((tx) => tx.getMeta('k'));
      await read();
      const before = { ...s.counters };
      const next = new Promise<unknown>((resolve) => setImmediate(() => resolve(Promise.all(Array.from({ length: 4 }, read)))));
      await Promise.all([read(), next]);
      expect(s.counters.groups - before.groups).toBe(2);
    });
  });

  it('runs the next group while one commits, and a unit that read what the group ahead wrote runs again after it', async () => {
    // Sixteen units at once on an idle store start as two groups of eight, the second running its
    // reads while the first is in flight on another connection. Each unit adds one to a counter it read.
    // A unit of the second group read the counter before the first group committed: if it went on
    // with that read, its compare-and-set would find the value changed (a stale read, the unit and its
    // group run again unit by unit). It must instead run again in its group, after the first.
    await onAccountsAB(async (s) => {
      await s.unit((tx) => tx.setMeta('n', '0'));
      const bump = () =>
        s.unit(async (tx) => {
          const n = Number(await tx.getMeta('n'));
          await tx.setMeta('n', String(n + 1));
          return n;
        });
      // The first round opens the second connection, whose set-up outlasts the first group.
      const round = () => Promise.all(Array.from({ length: 16 }, bump));
      expect(await round()).toEqual(Array.from({ length: 16 }, (_, i) => i));
      const before = { ...s.counters };
      expect(await round()).toEqual(Array.from({ length: 16 }, (_, i) => 16 + i));
      expect(s.counters.overlapped - before.overlapped).toBe(1);
      expect(s.counters.groups - before.groups).toBe(2);
      expect(s.counters.staleReads - before.staleReads).toBe(0);
      expect(s.counters.reruns - before.reruns).toBeGreaterThanOrEqual(8);
      expect(await s.unit((tx) => tx.getMeta('n'))).toBe('32');
    });
  });

  it('starts a few units after the group in flight, not beside it, and overlaps nothing with a pool of two connections', async () => {
    // Every group costs its round trips and COMMIT: four units queued behind a group of ten wait for
    // it. And a replica needs a connection for each of two groups and one for the roll: with two, a
    // long queue is not cut in two, and no group starts beside another.
    await onAccountsAB(async (s) => {
      const read = () => s.unit((tx) => tx.getMeta('k'));
      const before = { ...s.counters };
      const late = new Promise<unknown>((resolve) => setImmediate(() => resolve(Promise.all(Array.from({ length: 4 }, read)))));
      await Promise.all([...Array.from({ length: 10 }, read), late]);
      expect(s.counters.groups - before.groups).toBe(2);
      expect(s.counters.overlapped - before.overlapped).toBe(0);
    });
    const db = freshSchema();
    const small = db.open({ poolSize: 2 });
    try {
      for (let round = 0; round < 2; round++) await Promise.all(Array.from({ length: 16 }, () => small.unit((tx) => tx.getMeta('k'))));
      expect(small.counters.groups).toBe(2);
      expect(small.counters.overlapped).toBe(0);
    } finally {
      await small.close();
      await db.dispose();
    }
  });

  it('orders the next group after every unit of the group ahead, when that group had to run again unit by unit', async () => {
    // The first group fails as a whole (one unit creates an account that exists; the database refuses
    // it only at the write), so its units run again alone. The second group was already reading: its
    // unit must see what the first group's other unit wrote in that second run.
    await onAccountsAB(async (s) => {
      // Both connections open first (see above).
      const reads = (n: number) => Array.from({ length: n }, () => s.unit((tx) => tx.getMeta('k')));
      await Promise.all(reads(16));
      const units = [
        // Run again alone, this one commits first: the second group may start then, long before x is written.
        s.unit((tx) => tx.setMeta('w', 'first')),
        s.unit((tx) => tx.createAccount({ id: 'a', kind: 'issuance', currency: 'JPY', balance: 0, createdAt: 1 })),
        s.unit((tx) => tx.setMeta('x', 'from the first group')),
        ...reads(5),
        s.unit(async (tx) => {
          const x = await tx.getMeta('x');
          await tx.setMeta('y', x ?? 'nothing');
        }),
        ...reads(7),
      ];
      const settled = await Promise.allSettled(units);
      expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', ...Array(14).fill('fulfilled')]);
      expect(await s.unit((tx) => tx.getMeta('y'))).toBe('from the first group');
      expect(s.counters.overlapped).toBeGreaterThanOrEqual(1);
    });
  });

  it('gives the same answers as SQLite, which runs units one at a time, when overlapping groups fight over five accounts', async () => {
    // The port's promise, checked against a store that keeps it trivially: rounds of 40 units sent at
    // once (two overlapping groups each), every unit reading two of five accounts and moving money
    // between them only if the first can pay. Seeded, so both stores get the same units in the same order.
    const db = freshSchema();
    const pgStore = db.open();
    const reference = new SqliteStore({ path: ':memory:' });
    const accounts = ['a0', 'a1', 'a2', 'a3', 'a4'];
    try {
      const before = { ...pgStore.counters };
      for (const st of [pgStore, reference])
        await st.unit(async (tx) => {
          for (const id of accounts) await tx.createAccount({ id, kind: 'shopper', currency: 'JPY', balance: 100, createdAt: 1 });
        });
      const random = seededRandom(13);
      const pick = (n: number) => random.bytes(1)[0]! % n;
      for (let round = 0; round < 4; round++) {
        const moves = Array.from({ length: 40 }, () => {
          const from = pick(5);
          return { from: accounts[from]!, to: accounts[(from + 1 + pick(4)) % 5]!, amount: 1 + pick(60) };
        });
        const unit = (m: (typeof moves)[number]) => async (tx: StoreTx) => {
          const from = (await tx.getAccount(m.from))!.balance;
          const to = (await tx.getAccount(m.to))!.balance;
          if (from < m.amount) return ['short', from, to];
          await tx.transfer({
            paymentId: null,
            debitAccount: m.from,
            creditAccount: m.to,
            amount: m.amount,
            currency: 'JPY',
            kind: 'topup',
            at: 1,
          });
          return ['moved', from, to];
        };
        const [got, want] = await Promise.all([pgStore, reference].map((st) => Promise.all(moves.map((m) => st.unit(unit(m))))));
        expect(got).toEqual(want);
      }
      const balances = (st: PgStore | SqliteStore) =>
        st.unit(async (tx) => Promise.all(accounts.map(async (id) => (await tx.getAccount(id))!.balance)));
      expect(await balances(pgStore)).toEqual(await balances(reference));
      expect(pgStore.counters.overlapped - before.overlapped).toBeGreaterThanOrEqual(2);
      expect(pgStore.counters.reruns - before.reruns).toBeGreaterThan(0);
      expect(pgStore.counters.staleReads - before.staleReads).toBe(0);
    } finally {
      await pgStore.close();
      await reference.close();
      await db.dispose();
    }
  });

  it('runs a unit of a group once when it reads with two statements in flight after writing', async () => {
    // Found by the simulation on PostgreSQL (seed 20, 40 steps): a settlement that displaced a later
    // copy wrote its charge, then counted the copy's refunds (lockThen: a lock and a read at once).
    // Both statements took the unit's turn; the second found the unit's own writes newer than its
    // reads and ran the unit again, inside the transaction that already held the first attempt's
    // writes. Here the second attempt moved the money again.
    await onAccountsAB(async (s) => {
      let runs = 0;
      const [moved] = await Promise.all([
        s.unit((tx) => {
          runs++;
          return moveThenCountRefunds(tx);
        }),
        s.unit((tx) => tx.getMeta('k')),
      ]);
      expect(moved).toBe(0);
      expect(await s.unit(async (tx) => (await tx.getAccount('b'))?.balance)).toBe(5);
      expect(runs).toBe(1);
    });
  });

  it('finishes a group whose later unit reads with two statements in flight after writing, while an earlier unit still runs', async () => {
    // Found by the simulation on PostgreSQL (seed 5080, 300 steps): the second unit of a settle batch
    // counted a copy's refunds while the first still ran. Both statements waited for the unit's turn
    // in one slot; the second took the first's place, the first never woke, and the group (and every
    // unit queued behind it) never finished.
    await onAccountsAB(async (s) => {
      const both = Promise.all([
        s.unit(async (tx) => {
          for (const key of ['k1', 'k2', 'k3', 'k4']) await tx.getMeta(key);
          return 'read';
        }),
        s.unit(moveThenCountRefunds),
      ]);
      expect(await within(both, { what: 'the group of two units to finish' })).toEqual(['read', 0]);
      expect(await s.unit(async (tx) => (await tx.getAccount('b'))?.balance)).toBe(5);
    });
  });

  it('lets replicas credit one merchant at once without waiting or retrying, and rolls the postings into its balance', async () => {
    const db = freshSchema();
    const stores = [0, 1, 2].map(
      (i) =>
        new PgStore({
          connectionString: TEST_DATABASE_URL,
          schema: db.schema,
          random: seededRandom(10 + i),
          rollEveryMs: i === 0 ? 0 : Infinity,
        }),
    );
    const move = (s: PgStore, amount: number) =>
      s.unit((tx) =>
        tx.transfer({ paymentId: null, debitAccount: 'a', creditAccount: 'b', amount, currency: 'JPY', kind: 'topup', at: 1 }),
      );
    try {
      await stores[0]!.unit(async (tx) => {
        await tx.createAccount({ id: 'a', kind: 'issuance', currency: 'JPY', balance: 0, createdAt: 1 });
        await tx.createAccount({ id: 'b', kind: 'merchant', currency: 'JPY', balance: 0, createdAt: 1 });
      });
      await Promise.all(stores.flatMap((s, i) => Array.from({ length: 100 }, () => move(s, i + 1))));
      // Store 0 rolls after every group: some postings are in the balance row by now, the rest still postings.
      expect(stores[0]!.counters.rolls).toBeGreaterThan(0);
      expect(await stores[1]!.unit(async (tx) => (await tx.getAccount('b'))?.balance)).toBe(600);
      expect(await stores[2]!.unit((tx) => tx.balanceTotals())).toEqual(new Map([['JPY', 0]]));
      expect(stores.map((s) => s.retries)).toEqual([0, 0, 0]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await db.dispose();
    }
  });

  it('keeps a merchant under the balance bound exactly, whether its credits are postings or one large credit', async () => {
    const db = freshSchema();
    // No roll-up during the test: the large credit stays out of postings, the small ones stay postings.
    const s = new PgStore({ connectionString: TEST_DATABASE_URL, schema: db.schema, rollEveryMs: Infinity });
    const credit = (amount: number) =>
      s.unit((tx) =>
        tx.transfer({ paymentId: null, debitAccount: 'a', creditAccount: 'm', amount, currency: 'JPY', kind: 'topup', at: 1 }),
      );
    try {
      await s.unit(async (tx) => {
        await tx.createAccount({ id: 'a', kind: 'issuance', currency: 'JPY', balance: 0, createdAt: 1 });
        await tx.createAccount({ id: 'm', kind: 'merchant', currency: 'JPY', balance: 0, createdAt: 1 });
      });
      await credit(MONEY_MAX - 1_500);
      await credit(1_000);
      await expect(credit(1_000)).rejects.toMatchObject({ code: 'BALANCE_LIMIT' });
      await credit(300);
      expect(await s.unit(async (tx) => (await tx.getAccount('m'))?.balance)).toBe(MONEY_MAX - 200);
      expect(await s.unit((tx) => tx.balanceTotals())).toEqual(new Map([['JPY', 0]]));
    } finally {
      await s.close();
      await db.dispose();
    }
  });

  it('never takes a wallet below zero when four replicas debit it at once, and the ledger sums to zero', async () => {
    const db = freshSchema();
    const dir = mkdtempSync(join(tmpdir(), 'kp-pg-debits-'));
    const clock = new ManualClock(Date.UTC(2026, 10, 28, 12));
    const kiosks = Array.from({ length: 8 }, (_, i) => ({ id: `k${i}`, merchant: i % 2 === 0 ? 'shop' : 'cafe' }));
    const config = parseServerConfig({ dataDir: dir, topupEnabled: true, logLevel: 'silent', onlineCodesPerWalletMax: 100, kiosks });
    // Four replicas: each its own store (pool) and randomness, one database and one issuer key file.
    const replicas = [1, 2, 3, 4].map((seed) =>
      createContext(config, { clock, random: seededRandom(seed), log: pino({ level: 'silent' }), store: db.open() }),
    );
    try {
      for (const r of replicas) await registerKiosks(r);
      const w = await enrollWallet(replicas[0]!, 'JPY');
      await topUp(replicas[0]!, w.walletId, money(1_000, 'JPY'));
      const codes: string[] = [];
      for (let i = 0; i < 40; i++) codes.push((await issueOnlineCode(replicas[i % 4]!, w.walletId)).code);
      // 40 payments of 100 JPY against a wallet holding 1,000, ten on each replica, all at once.
      const results = await Promise.all(
        codes.map((code, i) =>
          pay(replicas[i % 4]!, `k${i % 8}`, {
            v: 1,
            type: 'pay',
            id: `p${i}`,
            txId: `t${i}`,
            code,
            amount: { value: 100, currency: 'JPY' },
          }),
        ),
      );
      const approved = results.filter((r) => r.status === 'approved');
      expect(approved).toHaveLength(10);
      expect(results.filter((r) => r.status === 'declined').map((r) => r.reason)).toEqual(Array(30).fill('INSUFFICIENT_FUNDS'));
      const balance = (id: string) => replicas[1]!.store.unit(async (tx) => (await tx.getAccount(id))?.balance);
      expect(await balance(shopperAccountId(w.walletId))).toBe(0);
      expect((await balance(merchantAccountId('shop')))! + (await balance(merchantAccountId('cafe')))!).toBe(1_000);
      expect(await replicas[2]!.store.unit((tx) => tx.balanceTotals())).toEqual(new Map([['JPY', 0]]));
      // Each replica's ten units ran in one group and read the balance before any of them debited it:
      // all but the first ran again after its debit (other replicas' debits are met by the conditional UPDATE).
      expect(replicas.map((r) => (r.store as PgStore).counters.reruns).every((n) => n > 0)).toBe(true);
    } finally {
      await Promise.all(replicas.map((r) => r.store.close()));
      await db.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('settles through the domain exactly once when two server replicas get the same offline payments at once', async () => {
    const db = freshSchema();
    const dir = mkdtempSync(join(tmpdir(), 'kp-pg-replicas-'));
    const clock = new ManualClock(Date.UTC(2026, 10, 28, 12));
    const config = parseServerConfig({
      dataDir: dir,
      topupEnabled: true,
      logLevel: 'silent',
      limits: { daily: { count: 10 } },
      kiosks: [
        { id: 'k1', merchant: 'shop' },
        { id: 'k2', merchant: 'shop' },
      ],
    });
    // Two replicas: their own store (pool) and randomness, one database and one issuer key file.
    const [r1, r2] = [1, 2].map((seed) =>
      createContext(config, { clock, random: seededRandom(seed), log: pino({ level: 'silent' }), store: db.open() }),
    );
    try {
      await registerKiosks(r1!);
      await registerKiosks(r2!);
      const w = await enrollWallet(r1!, 'JPY');
      await topUp(r1!, w.walletId, money(20_000, 'JPY'));
      const phoneKeys = naclEd25519.keyPairFromSeed(new Uint8Array(32).fill(9));
      const cred = await issueCredential(r2!, w.walletId, phoneKeys.publicKey);
      const code = (counter: number) =>
        makeOfflineCode(
          {
            credential: fromBase64url(cred.credential)!,
            timestampMs: clock.nowMs(),
            counter,
            phoneSecretKey: phoneKeys.secretKey,
          },
          naclEd25519,
        );
      const at = clock.nowMs();
      clock.advance(60_000);
      // The same batch (kiosk k1) reaches both replicas at once: a redelivery racing the original.
      const batch = [1, 2, 3].map((c) => ({
        txId: `o-${c}`,
        code: code(c),
        amount: { value: 500, currency: 'JPY' as const },
        capturedAt: at,
      }));
      const [s1, s2] = await Promise.all([settle(r1!, 'k1', batch), settle(r2!, 'k1', batch)]);
      expect(s1.map((i) => i.status)).toEqual(['settled', 'settled', 'settled']);
      expect(s2).toEqual(s1);
      expect(await r1!.store.unit(async (tx) => (await tx.getAccount(shopperAccountId(w.walletId)))?.balance)).toBe(18_500);
      expect(await r2!.store.unit(async (tx) => (await tx.getAccount(merchantAccountId('shop')))?.balance)).toBe(1_500);
      // A copy of one code taken at two kiosks at the same time, settled on two replicas at once: the
      // first to commit is paid, the other is declined as a replay (its merchant bears it), the
      // credential is revoked and the shopper is charged once.
      const copy = code(4);
      const [c1, c2] = await Promise.all([
        settle(r1!, 'k1', [{ txId: 'o-4', code: copy, amount: { value: 100, currency: 'JPY' }, capturedAt: at }]),
        settle(r2!, 'k2', [{ txId: 'x-4', code: copy, amount: { value: 100, currency: 'JPY' }, capturedAt: at }]),
      ]);
      const rows = await r1!.store.unit(async (tx) => [await tx.getPaymentByTx('k1', 'o-4'), await tx.getPaymentByTx('k2', 'x-4')]);
      expect(rows.map((r) => r?.replay).sort()).toEqual([false, true]);
      expect(await r2!.store.unit((tx) => tx.getOfflineUse(cred.credentialId, 'qr', 4))).toBe(rows.find((r) => !r?.replay)?.id);
      expect([c1[0]?.status, c2[0]?.status].sort()).toEqual(['declined', 'settled']);
      expect([c1[0]?.reason, c2[0]?.reason]).toContain('COUNTER_REUSED');
      expect(await r1!.store.unit(async (tx) => (await tx.getAccount(shopperAccountId(w.walletId)))?.balance)).toBe(18_400);
      expect((await r2!.store.unit((tx) => tx.getCredential(cred.credentialId)))?.revokeReason).toBe('double-spend');
      expect(await r1!.store.unit((tx) => tx.balanceTotals())).toEqual(new Map([['JPY', 0]]));
    } finally {
      await Promise.all([r1!.store.close(), r2!.store.close()]);
      await db.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
