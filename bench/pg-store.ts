import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { money } from '../shared/money.ts';
import { seededRandom } from '../shared/random.ts';
import { PgStore, type PgStoreCounters } from '../server/adapters/pg-store.ts';
import { SqliteStore } from '../server/adapters/sqlite-store.ts';
import { createContext, registerKiosks } from '../server/app.ts';
import { parseServerConfig } from '../server/config.ts';
import { pay } from '../server/domain/payments.ts';
import { enrollWallet, issueOnlineCode, topUp } from '../server/domain/wallets.ts';
import type { Store } from '../server/ports/store.ts';
import { HEADER, row, type RunStats } from './stats.ts';
import { freshSchema } from '../server/testing/pg-test-db.ts';

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
  const db = freshSchema({ url: DATABASE_URL, prefix: 'kp_bench' });
  try {
    return await fn(db.schema);
  } finally {
    await db.dispose();
  }
}

/** Round trips, statements and runs again per payment, summed over a run's stores. */
function costLine(name: string, payments: number, counters: readonly PgStoreCounters[]): string {
  const sum = (f: (c: PgStoreCounters) => number) => counters.reduce((a, c) => a + f(c), 0);
  return `${name}: ${(sum((c) => c.roundTrips) / payments).toFixed(2)} round trips and ${(sum((c) => c.statements) / payments).toFixed(1)} statements per payment, ${(
    sum((c) => c.units) /
      Math.max(
        1,
        sum((c) => c.groups),
      )
  ).toFixed(
    1,
  )} units per transaction; ${sum((c) => c.retries)} serialization retries, ${sum((c) => c.staleReads)} stale reads, ${sum((c) => c.reruns)} in-replica reruns`;
}

/** The stores' counters from now on: call the result when the measured part is over. */
const since = (stores: readonly PgStore[]) => {
  const before = stores.map((st) => ({ ...st.counters }));
  return (): PgStoreCounters[] =>
    stores.map((st, i) => {
      const c = { ...st.counters };
      for (const k of Object.keys(c) as (keyof PgStoreCounters)[]) c[k] -= before[i]![k];
      return c;
    });
};

/** The table rows: SQLite (baseline), PostgreSQL with one replica, and with two; then costs and the target. */
export async function pgStoreBench(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'kp-bench-pg-'));
  try {
    const sqliteCtx = context(join(dir, 'sqlite'), new SqliteStore({ path: join(dir, 'sqlite', 'ledger.sqlite') }), 1);
    const sqlite = await payAll('online payments, SQLite ledger (baseline)', [sqliteCtx], await prepare(sqliteCtx));
    await sqliteCtx.store.close();
    const one = await withSchema(async (schema) => {
      const store = new PgStore({ connectionString: DATABASE_URL, schema });
      const ctx = context(join(dir, 'pg1'), store, 2);
      try {
        const codes = await prepare(ctx);
        const measured = since([store]);
        const stats = await payAll('online payments, PostgreSQL ledger, 1 replica', [ctx], codes);
        return { stats, cost: costLine('PostgreSQL, 1 replica', stats.ops, measured()) };
      } finally {
        await ctx.store.close();
      }
    });
    const two = await withSchema(async (schema) => {
      const stores = [3, 4].map((seed) => new PgStore({ connectionString: DATABASE_URL, schema, random: seededRandom(seed) }));
      const [a, b] = stores.map((st, i) => context(join(dir, 'pg2'), st, 3 + i));
      try {
        const codes = await prepare(a!);
        const measured = since(stores);
        const stats = await payAll('online payments, PostgreSQL ledger, 2 replicas', [a!, b!], codes);
        return { stats, cost: costLine('PostgreSQL, 2 replicas', stats.ops, measured()) };
      } finally {
        await Promise.all(stores.map((st) => st.close()));
      }
    });
    const ratio = one.stats.ops / one.stats.seconds / (sqlite.ops / sqlite.seconds);
    return [
      HEADER,
      row(sqlite),
      row(one.stats, sqlite),
      row(two.stats, sqlite),
      '',
      one.cost,
      two.cost,
      `target: PostgreSQL/SQLite >= 50% for one replica: ${(ratio * 100).toFixed(0)}%: ${ratio >= 0.5 ? 'met' : 'not met'}`,
    ].join('\n');
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
