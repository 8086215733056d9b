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
import { within } from '../../shared/testing/wait.ts';

/**
 * How often the PostgreSQL store rolls merchant postings into balances, by seed: after every group,
 * at its default pace (real time), or never (every credit is still a posting when the invariants read
 * the balances).
 */
const ROLL_EVERY_MS = [0, 250, Infinity] as const;
/**
 * How long, in real time, units may stay in flight before the run fails as a hung ledger (a unit of
 * the PostgreSQL store gives up within its statement timeouts and retries, far sooner).
 */
const LEDGER_ANSWER_MS = 60_000;

export class SimLedger implements Store {
  #inFlight = 0;
  #waiting: Array<() => void> = [];

  private constructor(
    readonly inner: Store,
    readonly db: FreshSchema | undefined,
    /** This ledger's close() drops the schema (the first replica's does; the others' only close their store). */
    readonly ownsSchema: boolean,
  ) {}

  static async open(seed: number, databaseUrl: string | undefined): Promise<SimLedger> {
    if (databaseUrl === undefined) return new SimLedger(new SqliteStore({ path: ':memory:' }), undefined, true);
    const db = freshSchema({ url: databaseUrl, prefix: 'kp_sim' });
    try {
      return await SimLedger.#onSchema(db, seed, true);
    } catch (e) {
      await db.dispose().catch(() => {});
      throw e;
    }
  }

  /**
   * The ledger of another server replica: on PostgreSQL a store of its own (its own connections,
   * its own rolls of postings) on the same schema, as replicas in production share one database; on
   * SQLite in memory the same ledger (one database is one connection there).
   */
  static async replicaOf(first: SimLedger, seed: number): Promise<SimLedger> {
    return first.db === undefined ? first : SimLedger.#onSchema(first.db, seed, false);
  }

  static async #onSchema(db: FreshSchema, seed: number, ownsSchema: boolean): Promise<SimLedger> {
    const store = db.open({ rollEveryMs: ROLL_EVERY_MS[seed % ROLL_EVERY_MS.length]! });
    try {
      await store.ready();
    } catch (e) {
      await store.close();
      throw e;
    }
    return new SimLedger(store, db, ownsSchema);
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

  /** Resolves once no unit is in flight; rejects if the ledger leaves one unanswered (it hung). */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    const what = `the ledger to answer its ${this.#inFlight} units in flight`;
    return within(new Promise<void>((r) => this.#waiting.push(r)), { what, timeoutMs: LEDGER_ANSWER_MS });
  }

  /** The PostgreSQL store's counters (rolls of postings, units run again), prefixed `pg.`; none for SQLite. */
  counters(): Record<string, number> {
    if (!(this.inner instanceof PgStore)) return {};
    const c = this.inner.counters;
    return { 'pg.rolls': c.rolls, 'pg.reruns': c.reruns, 'pg.retries': c.retries + c.staleReads, 'pg.groups': c.groups };
  }

  async close(): Promise<void> {
    // After idle() gave up on a hung unit (the run has failed saying so), closing the store would wait
    // for that unit for ever: only the schema is dropped, once PostgreSQL ends the idle transaction.
    const hung = this.#inFlight > 0;
    try {
      if (hung) void this.inner.close();
      else await this.inner.close();
    } finally {
      if (this.ownsSchema) await this.db?.dispose();
    }
  }
}
