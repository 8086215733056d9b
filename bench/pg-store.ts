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
import { HEADER, mergeRuns, ratioSeen, row, targetLine, type RunStats } from './stats.ts';
import { freshSchema } from '../server/testing/pg-test-db.ts';

const LANES = 50;
/** Payments each lane makes in one slice; a slice of SQLite and one of PostgreSQL make a pair. */
const SLICE = Number(process.env['BENCH_PG_SLICE'] ?? 20);
/** Slices of each store before the measured ones (V8 compiles each store's hot paths meanwhile). */
const WARM_UP_SLICES = 3;
/** Pairs measured; the target is the median of their ratios. */
const PAIRS = Number(process.env['BENCH_PG_PAIRS'] ?? 12);
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

/** One wallet per lane with enough money, and `perLane` unused codes each. */
async function prepare(ctx: Ctx, perLane: number): Promise<string[][]> {
  await registerKiosks(ctx);
  return Promise.all(
    Array.from({ length: LANES }, async () => {
      const w = await enrollWallet(ctx, 'JPY');
      await topUp(ctx, w.walletId, money(1_000_000_000, 'JPY'));
      const codes: string[] = [];
      for (let i = 0; i < perLane; i++) codes.push((await issueOnlineCode(ctx, w.walletId)).code);
      return codes;
    }),
  );
}

/** Every lane pays `count` of its codes one after another, all lanes at once; lanes are spread over the contexts. */
async function payAll(name: string, ctxs: Ctx[], codes: string[][], count: number): Promise<RunStats> {
  const lat: number[] = [];
  const start = performance.now();
  await Promise.all(
    codes.map(async (laneCodes, lane) => {
      const ctx = ctxs[lane % ctxs.length]!;
      for (let i = 0; i < count; i++) {
        const code = laneCodes.pop();
        if (code === undefined) throw new Error('bench ran out of pre-issued codes');
        const t = performance.now();
        const r = await pay(ctx, `k${lane}`, {
          v: 1,
          type: 'pay',
          id: `c${lane}-${laneCodes.length}`,
          txId: `t${lane}-${laneCodes.length}`,
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
  )} units per transaction, ${sum((c) => c.overlapped)} of ${sum((c) => c.groups)} started while the one ahead was in flight; ${sum((c) => c.retries)} serialization retries, ${sum((c) => c.staleReads)} stale reads, ${sum((c) => c.reruns)} in-replica reruns`;
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

/**
 * The table rows: SQLite (baseline), PostgreSQL with one replica, and with two; then costs and the
 * target. SQLite and one PostgreSQL replica run in alternating slices after a warm-up of each, so a
 * change in the machine's load falls on both alike; the target is the median of the pairs' ratios.
 */
export async function pgStoreBench(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'kp-bench-pg-'));
  const perLane = (WARM_UP_SLICES + PAIRS) * SLICE;
  const db = freshSchema({ url: DATABASE_URL, prefix: 'kp_bench' });
  const sqliteCtx = context(join(dir, 'sqlite'), new SqliteStore({ path: join(dir, 'sqlite', 'ledger.sqlite') }), 1);
  const pgStore = new PgStore({ connectionString: DATABASE_URL, schema: db.schema });
  const pgCtx = context(join(dir, 'pg1'), pgStore, 2);
  try {
    const [sqliteCodes, pgCodes] = [await prepare(sqliteCtx, perLane), await prepare(pgCtx, perLane)];
    const sqliteName = 'online payments, SQLite ledger (baseline)';
    const pgName = 'online payments, PostgreSQL ledger, 1 replica';
    for (let i = 0; i < WARM_UP_SLICES; i++) {
      await payAll(sqliteName, [sqliteCtx], sqliteCodes, SLICE);
      await payAll(pgName, [pgCtx], pgCodes, SLICE);
    }
    const measured = since([pgStore]);
    const sqliteSlices: RunStats[] = [];
    const pgSlices: RunStats[] = [];
    for (let i = 0; i < PAIRS; i++) {
      sqliteSlices.push(await payAll(sqliteName, [sqliteCtx], sqliteCodes, SLICE));
      pgSlices.push(await payAll(pgName, [pgCtx], pgCodes, SLICE));
    }
    const sqlite = mergeRuns(sqliteName, sqliteSlices);
    const one = { stats: mergeRuns(pgName, pgSlices), cost: costLine('PostgreSQL, 1 replica', PAIRS * SLICE * LANES, measured()) };
    await sqliteCtx.store.close();
    await pgStore.close();
    const two = await withSchema(async (schema) => {
      const stores = [3, 4].map((seed) => new PgStore({ connectionString: DATABASE_URL, schema, random: seededRandom(seed) }));
      const [a, b] = stores.map((st, i) => context(join(dir, 'pg2'), st, 3 + i));
      try {
        const codes = await prepare(a!, (WARM_UP_SLICES + PAIRS) * SLICE);
        for (let i = 0; i < WARM_UP_SLICES; i++) await payAll('warm-up', [a!, b!], codes, SLICE);
        const measured = since(stores);
        const stats = await payAll('online payments, PostgreSQL ledger, 2 replicas', [a!, b!], codes, PAIRS * SLICE);
        return { stats, cost: costLine('PostgreSQL, 2 replicas', stats.ops, measured()) };
      } finally {
        await Promise.all(stores.map((st) => st.close()));
      }
    });
    const target = ratioSeen(one.stats, sqlite, `alternating pairs of ${SLICE * LANES} payments`);
    return [
      HEADER,
      row(sqlite),
      row(one.stats, sqlite),
      row(two.stats, sqlite),
      '',
      one.cost,
      two.cost,
      targetLine('PostgreSQL / SQLite, one replica', target.seen, '>= 50%', target.ratio >= 0.5),
    ].join('\n');
  } finally {
    await sqliteCtx.store.close().catch(() => {});
    await pgStore.close().catch(() => {});
    await db.dispose().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(
    `${LANES} concurrent payers, ${PAIRS} alternating pairs of slices of ${SLICE} payments each, through the domain (no network); PostgreSQL at ${DATABASE_URL.replace(/\/\/[^@]*@/, '//')}`,
  );
  console.log(await pgStoreBench());
}
