// SPDX-License-Identifier: Apache-2.0
// The simulated server's ledger: SQLite in memory, or, given a database URL, the real PostgreSQL
// store in a fresh schema that close() drops. Either way every unit is counted while in flight, so
// the simulator waits for the ledger before simulated time moves on: SQLite in memory answers within
// one turn of the event loop, PostgreSQL over a socket, and a reply that came "late" only because a
// socket was slow would make the run depend on the machine rather than on the seed.
import { PgStore } from '../../server/adapters/pg-store.ts';
import { SqliteStore } from '../../server/adapters/sqlite-store.ts';
import type { Store, StoreTx } from '../../server/ports/store.ts';
import { freshSchema, type FreshSchema } from '../../server/testing/pg-test-db.ts';

/**
 * How often the PostgreSQL store rolls merchant postings into balances, by seed: after every group,
 * at its default pace (real time), or never (every credit is still a posting when the invariants read
 * the balances).
 */
const ROLL_EVERY_MS = [0, 250, Infinity] as const;

export class SimLedger implements Store {
  #inFlight = 0;
  #waiting: Array<() => void> = [];

  private constructor(
    readonly inner: Store,
    readonly db: FreshSchema | undefined,
  ) {}

  static async open(seed: number, databaseUrl: string | undefined): Promise<SimLedger> {
    if (databaseUrl === undefined) return new SimLedger(new SqliteStore({ path: ':memory:' }), undefined);
    const db = await freshSchema({ url: databaseUrl, prefix: 'kp_sim' });
    const store = db.open({ rollEveryMs: ROLL_EVERY_MS[seed % ROLL_EVERY_MS.length]! });
    try {
      await store.ready();
    } catch (e) {
      await store.close();
      await db.dispose().catch(() => {});
      throw e;
    }
    return new SimLedger(store, db);
  }

  /** Which ledger, for the summary. */
  get kind(): 'sqlite' | 'postgres' {
    return this.db === undefined ? 'sqlite' : 'postgres';
  }

  unit<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    this.#inFlight++;
    return this.inner.unit(fn).finally(() => {
      if (--this.#inFlight === 0) for (const wake of this.#waiting.splice(0)) wake();
    });
  }

  /** True while a unit has not settled. */
  get busy(): boolean {
    return this.#inFlight > 0;
  }

  /** Resolves once no unit is in flight. */
  idle(): Promise<void> {
    return this.#inFlight === 0 ? Promise.resolve() : new Promise((r) => this.#waiting.push(r));
  }

  /** The PostgreSQL store's counters (rolls of postings, units run again), prefixed `pg.`; none for SQLite. */
  counters(): Record<string, number> {
    if (!(this.inner instanceof PgStore)) return {};
    const c = this.inner.counters;
    return { 'pg.rolls': c.rolls, 'pg.reruns': c.reruns, 'pg.retries': c.retries + c.staleReads, 'pg.groups': c.groups };
  }

  async close(): Promise<void> {
    try {
      await this.inner.close();
    } finally {
      await this.db?.dispose();
    }
  }
}
