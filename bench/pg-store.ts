// SPDX-License-Identifier: Apache-2.0
// Payments per second through the server domain (pay() with online one-time codes, no network) on the
// SQLite ledger and on the PostgreSQL ledger, measured in the same run: SQLite is the baseline, so the
// ratio says what moving the ledger to PostgreSQL costs on this machine. Also two replicas (two
// PgStores, two pools) paying into the same merchant account, which is the hot row of the ledger.
// Run: node --import tsx bench/pg-store.ts   (database: KP_BENCH_DATABASE_URL, else DATABASE_URL, else
// postgres://postgres@127.0.0.1:5432/test; it works in a schema of its own and drops it afterwards).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { money } from '../shared/money.ts';
import { seededRandom } from '../shared/random.ts';
import { PgStore } from '../server/adapters/pg-store.ts';
import { SqliteStore } from '../server/adapters/sqlite-store.ts';
import { createContext, registerKiosks } from '../server/app.ts';
import { parseServerConfig } from '../server/config.ts';
import { pay } from '../server/domain/payments.ts';
import { enrollWallet, issueOnlineCode, topUp } from '../server/domain/wallets.ts';
import type { Store } from '../server/ports/store.ts';
import { HEADER, row, type RunStats } from './stats.ts';

const LANES = 50;
const PAYMENTS_PER_LANE = Number(process.env['BENCH_PG_PAYMENTS_PER_LANE'] ?? 60);
const DATABASE_URL = process.env['KP_BENCH_DATABASE_URL'] ?? process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

type Ctx = ReturnType<typeof createContext>;

function context(dir: string, store: Store, seed: number): Ctx {
  const config = parseServerConfig({
    dataDir: dir,
    topupEnabled: true,
    logLevel: 'silent',
    onlineCodesPerWalletMax: 10_000,
    kiosks: Array.from({ length: LANES }, (_, i) => ({ id: `k${i}`, merchant: 'shop' })),
  });
  return createContext(config, { store, random: seededRandom(seed), log: pino({ level: 'silent' }) });
}

/** One wallet per lane with enough money, and one unused code per payment to come. */
async function prepare(ctx: Ctx): Promise<string[][]> {
  await registerKiosks(ctx);
  return Promise.all(
    Array.from({ length: LANES }, async () => {
      const w = await enrollWallet(ctx, 'JPY');
      await topUp(ctx, w.walletId, money(1_000_000_000, 'JPY'));
      const codes: string[] = [];
      for (let i = 0; i < PAYMENTS_PER_LANE; i++) codes.push((await issueOnlineCode(ctx, w.walletId)).code);
      return codes;
    }),
  );
}

/** Every lane pays its codes one after another, all lanes at once; lanes are spread over the contexts. */
async function payAll(name: string, ctxs: Ctx[], codes: string[][]): Promise<RunStats> {
  const lat: number[] = [];
  const start = performance.now();
  await Promise.all(
    codes.map(async (laneCodes, lane) => {
      const ctx = ctxs[lane % ctxs.length]!;
      for (const [i, code] of laneCodes.entries()) {
        const t = performance.now();
        const r = await pay(ctx, `k${lane}`, {
          v: 1,
          type: 'pay',
          id: `c${lane}-${i}`,
          txId: `t${lane}-${i}`,
          code,
          amount: { value: 100, currency: 'JPY' },
        });
        if (r.status !== 'approved') throw new Error(`payment declined: ${JSON.stringify(r)}`);
        lat.push(performance.now() - t);
      }
    }),
  );
  return { name, ops: lat.length, seconds: (performance.now() - start) / 1000, latenciesMs: lat };
}

async function withSchema<T>(fn: (schema: string) => Promise<T>): Promise<T> {
  const schema = `kp_bench_${randomBytes(6).toString('hex')}`;
  try {
    return await fn(schema);
  } finally {
    const admin = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3_000 });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => admin.end());
  }
}

/** The table rows: SQLite (baseline), PostgreSQL with one replica, and with two. */
export async function pgStoreBench(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'kp-bench-pg-'));
  try {
    const sqliteCtx = context(join(dir, 'sqlite'), new SqliteStore({ path: join(dir, 'sqlite', 'ledger.sqlite') }), 1);
    const sqlite = await payAll('online payments, SQLite ledger (baseline)', [sqliteCtx], await prepare(sqliteCtx));
    await sqliteCtx.store.close();
    const one = await withSchema(async (schema) => {
      const ctx = context(join(dir, 'pg1'), new PgStore({ connectionString: DATABASE_URL, schema }), 2);
      try {
        return await payAll('online payments, PostgreSQL ledger, 1 replica', [ctx], await prepare(ctx));
      } finally {
        await ctx.store.close();
      }
    });
    const two = await withSchema(async (schema) => {
      const a = context(join(dir, 'pg2'), new PgStore({ connectionString: DATABASE_URL, schema, random: seededRandom(3) }), 3);
      const b = context(join(dir, 'pg2'), new PgStore({ connectionString: DATABASE_URL, schema, random: seededRandom(4) }), 4);
      try {
        const codes = await prepare(a);
        const stats = await payAll('online payments, PostgreSQL ledger, 2 replicas', [a, b], codes);
        const retries = (a.store as PgStore).retries + (b.store as PgStore).retries;
        return { ...stats, name: `${stats.name} (${retries} retries)` };
      } finally {
        await Promise.all([a.store.close(), b.store.close()]);
      }
    });
    return [HEADER, row(sqlite), row(one, sqlite), row(two, sqlite)].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(
    `${LANES} concurrent payers x ${PAYMENTS_PER_LANE} payments each, through the domain (no network); PostgreSQL at ${DATABASE_URL.replace(/\/\/[^@]*@/, '//')}`,
  );
  console.log(await pgStoreBench());
}
