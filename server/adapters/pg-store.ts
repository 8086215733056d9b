// SPDX-License-Identifier: Apache-2.0
// The shared store: PostgreSQL through `pg`, for several server replicas on one database. Semantics
// match the SQLite adapter (the contract suite in server/ports/store-contract.ts is the judge): units of
// one store behave as if run one at a time in submission order, and are committed in groups.
//
// A group is one READ COMMITTED transaction on one connection in which its units run at the same
// time, their statements batched into shared round trips, ordered by optimistic validation in
// submission order (pg-group.ts). Two groups are in flight at once: once a group's COMMIT has gone
// out, the next starts on another connection and runs its reads while PostgreSQL writes and syncs
// the first; its units take their turns only after the first has finished, and run again if they
// read what it wrote (pg-group.ts). Without that, Node and PostgreSQL wait for each other, and on two
// cores one of them sits idle. A group of fewer than OVERLAP_UNITS_MIN units does not overlap: it
// starts after the one ahead finishes. If the transaction would hold a partial unit (a write failed, or a
// unit threw after writing), it is rolled back and its units run again one transaction each, so the
// failing unit fails alone. Against other replicas, no unit takes a lock that every payment needs:
// merchant credits are appended as postings instead of updating one balance row, the wallet debit is
// one conditional UPDATE, and a write that acts on a read another replica has since changed fails
// the unit with StaleReadError (pg-tx.ts); such a unit, and one aborted by a deadlock (40P01), runs
// again a bounded number of times with jittered backoff. Unique keys on (kiosk, txId), (credential,
// form, counter) and operator request keys make a double settlement impossible whatever the timing.
// Postings are rolled into balances in the background, by one replica at a time.
import pg from 'pg';
import { cryptoRandom, type Random } from '../../shared/random.ts';
import { CommitUnknownError, type Store, type StoreTx } from '../ports/store.ts';
import { STORE_QUEUE_DEFAULTS, storeBusy } from '../ports/store-busy.ts';
import { StatementBatcher } from './pg-batch.ts';
import { GroupTrack, UnitGroup, type Outcome } from './pg-group.ts';
import { PG_MIGRATION_LOCK_KEY, PG_SCHEMA_ALL, PG_SCHEMA_VERSION, PG_UPGRADES } from './pg-schema.ts';
import { PREPARE_ALL, ROLL_POSTINGS } from './pg-sql.ts';
import { pgTx, StaleReadError } from './pg-tx.ts';
import { sessionOptions } from './pg-session-options.ts';

/** Units run together at most; bounds the work one failed unit makes the others redo. */
const GROUP_UNITS_MAX = 64;
/**
 * A group starts beside the one in flight only with at least this many units; with nothing in
 * flight, a queue of twice this many starts as two groups.
 */
const OVERLAP_UNITS_MIN = 8;
/**
 * Under load, a group about to start with fewer than LINGER_UNITS units waits this long at most for
 * more (ms). Every group costs its round trips and a COMMIT in PostgreSQL whatever its size; when
 * replicas share the requests, each replica's groups shrink (24 units with one replica of the bench,
 * 5 with four) and that fixed cost per payment grows. "Under load": the last group had more than one
 * unit; at a trickle nothing waits.
 */
const LINGER_MS = 1;
const LINGER_UNITS = 16;
/** Key of the advisory lock a replica holds while it rolls postings into balances. */
const ROLL_LOCK_KEY = '7596553802335907186';
/** Postings moved by one roll, at most. */
const ROLL_BATCH = 20_000;
/** `postings` is vacuumed after a roll at most this often (a vacuum costs tens of ms of a core). */
const VACUUM_EVERY_MS = 5_000;
/** SQLSTATEs after which the whole transaction is run again (serialization failure, deadlock). */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

export interface PgStoreOptions {
  /** postgres://user@host:port/database (the server's DATABASE_URL). */
  connectionString: string;
  /** Schema for the tables, created if missing; default: the role's search_path (usually public). */
  schema?: string;
  /**
   * Connections in the pool: two run groups (one's reads while the other commits), one rolls
   * postings. With fewer than three, a group starts only after the one ahead has finished.
   */
  poolSize?: number;
  /** Attempts after the first, per unit, after a stale read or a deadlock. */
  retriesMax?: number;
  /** Backoff before retry n is uniform in [0, min(backoffMaxMs, backoffBaseMs * 2^n)). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Server-side limit on one statement, and client-side limit on one query's answer. */
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Postings are rolled into balances at most this often (ms); Infinity never. */
  rollEveryMs?: number;
  /** Jitter source (seeded in tests). */
  random?: Random;
  /** How the store waits between retries (a fake in tests). */
  sleep?: (ms: number) => Promise<void>;
  /** Errors of idle connections (network loss, server restart) and of rolls; the pool replaces the connection. */
  onError?: (err: Error) => void;
  /** Units waiting at most; more are refused with StoreBusyError (ports/store-busy.ts). */
  queuedUnitsMax?: number;
}

/** A unit gave up after its retries: other replicas kept changing what it read. Nothing was committed. */
export class StoreContentionError extends Error {
  override readonly name = 'StoreContentionError';
  constructor(
    readonly attempts: number,
    options: { cause: unknown },
  ) {
    super(`store unit ran ${attempts} times and other transactions changed what it read each time; nothing was committed`, options);
  }
}

interface Pending {
  fn: (tx: StoreTx) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}
type Attempt =
  | { kind: 'committed'; outcomes: Outcome[] }
  /** The group could not commit as a whole: run its units alone (`retry` when the cause was contention). */
  | { kind: 'split'; retry: boolean }
  | { kind: 'retry'; error: unknown }
  | { kind: 'failed'; error: unknown };

/** How often each thing happened since the store opened (the bench prints them). */
export interface PgStoreCounters {
  /** Transactions aborted by PostgreSQL (serialization failure, deadlock) and run again. */
  retries: number;
  /** Units run again because another replica changed what they had read. */
  staleReads: number;
  /** Units run again inside their group because an earlier unit of it wrote what they had read. */
  reruns: number;
  /** Groups committed, units in them, round trips (batches) and statements sent. */
  groups: number;
  /** Groups started while the group ahead was still in flight. */
  overlapped: number;
  units: number;
  roundTrips: number;
  statements: number;
  /** Rolls of postings into balances done by this replica. */
  rolls: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export class PgStore implements Store {
  readonly #pool: pg.Pool;
  readonly #ready: Promise<void>;
  readonly #retriesMax: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  readonly #rollEveryMs: number;
  readonly #random: Random;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #onError: (err: Error) => void;
  readonly #prepared = new WeakSet<pg.PoolClient>();
  /** Two groups may be in flight (the pool has a connection for each, and one for the roll). */
  readonly #overlap: boolean;
  #queue: Pending[] = [];
  readonly #queuedUnitsMax: number;
  #draining: Promise<void> | undefined;
  /** Units of the group that ran last (LINGER_MS). */
  #lastGroupUnits = 0;
  /** Ends a linger early, once the queue holds LINGER_UNITS. */
  #gathered: (() => void) | undefined;
  #rolling: Promise<void> | undefined;
  #lastRoll = performance.now();
  #lastVacuum = performance.now();
  #closed = false;
  readonly counters: PgStoreCounters = {
    retries: 0,
    staleReads: 0,
    reruns: 0,
    groups: 0,
    overlapped: 0,
    units: 0,
    roundTrips: 0,
    statements: 0,
    rolls: 0,
  };

  constructor(o: PgStoreOptions) {
    if (o.schema !== undefined && !SCHEMA_NAME.test(o.schema)) throw new Error(`invalid schema name ${JSON.stringify(o.schema)}`);
    const statementTimeoutMs = o.statementTimeoutMs ?? 10_000;
    this.#queuedUnitsMax = o.queuedUnitsMax ?? STORE_QUEUE_DEFAULTS.queuedUnitsMax;
    const session = sessionOptions(o.connectionString, o.schema);
    const poolSize = o.poolSize ?? 3;
    this.#overlap = poolSize >= 3;
    this.#pool = new pg.Pool({
      connectionString: session.connectionString,
      max: poolSize,
      connectionTimeoutMillis: o.connectTimeoutMs ?? 5_000,
      statement_timeout: statementTimeoutMs,
      query_timeout: statementTimeoutMs + 1_000,
      idle_in_transaction_session_timeout: statementTimeoutMs * 3,
      // Prepared statements keep one generic plan (planning the transfer afresh on every payment costs
      // more than running it), and the schema; merged with the URL's own settings.
      options: session.options,
    });
    this.#onError = o.onError ?? (() => {});
    this.#pool.on('error', this.#onError);
    this.#retriesMax = o.retriesMax ?? 8;
    this.#backoffBaseMs = o.backoffBaseMs ?? 2;
    this.#backoffMaxMs = o.backoffMaxMs ?? 100;
    this.#rollEveryMs = o.rollEveryMs ?? 250;
    this.#random = o.random ?? cryptoRandom;
    this.#sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#ready = this.#migrate(o.schema);
    // Units see a failed migration as their own rejection; this keeps it from being unhandled meanwhile.
    this.#ready.catch(() => {});
  }

  /** Resolves once the schema is in place; rejects if the database is unreachable or of another version. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Transactions run again after a deadlock or serialization failure, plus units run again after a stale read. */
  get retries(): number {
    return this.counters.retries + this.counters.staleReads;
  }

  async #migrate(schema: string | undefined): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [PG_MIGRATION_LOCK_KEY.toString()]);
      if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      // DDL only on an empty schema or an older version: even CREATE INDEX IF NOT EXISTS locks its
      // table, and would deadlock with the units other replicas are running. The migration is one
      // transaction, so a schema is either complete (meta holds its version) or absent.
      const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('meta')::text AS t`);
      if (exists.rows[0]?.t === null) await client.query(PG_SCHEMA_ALL);
      const r = await client.query<{ value: string }>(`SELECT value FROM meta WHERE key = 'schema_version'`);
      const version = r.rows[0]?.value;
      const upgrade = version === undefined ? undefined : PG_UPGRADES[version];
      if (version === undefined)
        await client.query(`INSERT INTO meta (key, value) VALUES ('schema_version', $1)`, [String(PG_SCHEMA_VERSION)]);
      else if (upgrade !== undefined) {
        await client.query(upgrade);
        await client.query(`UPDATE meta SET value = $1 WHERE key = 'schema_version'`, [String(PG_SCHEMA_VERSION)]);
      } else if (Number(version) !== PG_SCHEMA_VERSION) throw new Error(`store schema version ${version} is not ${PG_SCHEMA_VERSION}`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  unit<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('store is closed'));
    const busy = storeBusy(this.#queue.length, this.#queuedUnitsMax);
    if (busy) return Promise.reject(busy);
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (this.#gathered && this.#queue.length >= LINGER_UNITS) this.#gathered();
      this.#draining ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    try {
      await this.#ready;
      /** The group in flight, if any. */
      let ahead: GroupTrack | undefined;
      for (;;) {
        if (this.#queue.length === 0) {
          // Units may arrive while the last group finishes (its callers go on before it is marked done).
          if (ahead === undefined) break;
          await ahead.finished;
          ahead = undefined;
          this.#maybeRoll();
          continue;
        }
        // A few units wait for the group in flight instead of starting beside it: a group costs its
        // round trips and COMMIT whatever its size, and many small ones cost more than they overlap.
        if (ahead && !ahead.done && (!this.#overlap || this.#queue.length < OVERLAP_UNITS_MIN)) {
          await ahead.finished;
          ahead = undefined;
          continue;
        }
        // No waiting for company while a group is in flight: this one's reads would no longer overlap it.
        const inFlight = ahead !== undefined && !ahead.done;
        if (this.#queue.length < LINGER_UNITS && this.#lastGroupUnits > 1 && !inFlight && !this.#closed) await this.#linger();
        // With nothing in flight, a long queue is cut in two, so that the second half can run its
        // reads while the first commits; from then on each group's callers refill the queue.
        const seed = !inFlight && this.#overlap && this.#queue.length >= 2 * OVERLAP_UNITS_MIN;
        const group = this.#queue.splice(0, seed ? Math.ceil(this.#queue.length / 2) : GROUP_UNITS_MAX);
        this.#lastGroupUnits = group.length;
        const track = new GroupTrack();
        const earlier = inFlight ? ahead : undefined;
        if (earlier) this.counters.overlapped++;
        void this.#runGroup(group, 0, track, earlier)
          .catch((error: unknown) => {
            for (const p of group) p.reject(error);
          })
          .finally(() => track.finish());
        // The next group starts once this one's COMMIT is out and the one ahead has finished.
        await track.committing;
        await ahead?.finished;
        ahead = track;
        this.#maybeRoll();
      }
    } catch (error) {
      // Only the migration can fail here (#runGroup settles every unit itself).
      for (const p of this.#queue.splice(0)) p.reject(error);
    } finally {
      this.#draining = undefined;
    }
  }

  #maybeRoll(): void {
    if (this.#rolling === undefined && performance.now() - this.#lastRoll >= this.#rollEveryMs && !this.#closed)
      this.#rolling = this.#roll().finally(() => {
        this.#rolling = undefined;
      });
  }

  /** Waits LINGER_MS at most, less if the queue reaches LINGER_UNITS meanwhile. */
  #linger(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#gathered = undefined;
        resolve();
      };
      const timer = setTimeout(done, LINGER_MS);
      this.#gathered = done;
    });
  }

  /**
   * Commits a group, or, when it could not commit whole, each of its units on its own with retries.
   * `track` collects what it writes; `earlier` is the group still in flight ahead of it.
   */
  async #runGroup(group: Pending[], firstAttempt: number, track: GroupTrack, earlier?: GroupTrack): Promise<void> {
    for (let attempt = firstAttempt; ; attempt++) {
      const a = await this.#attempt(group, track, earlier);
      // Whatever runs next for these units runs alone and serially: not before the group ahead is done.
      if (a.kind !== 'committed' && a.kind !== 'failed' && earlier) {
        await earlier.finished;
        earlier = undefined;
      }
      if (a.kind === 'committed') {
        group.forEach((p, i) => {
          const o = a.outcomes[i]!;
          if (o.ok) p.resolve(o.value);
          else p.reject(o.error);
        });
        return;
      }
      if (a.kind === 'failed') {
        for (const p of group) p.reject(a.error);
        return;
      }
      if (a.kind === 'split') {
        for (const p of group) await this.#runGroup([p], a.retry ? attempt + 1 : attempt, track);
        return;
      }
      if (attempt >= this.#retriesMax) {
        group[0]!.reject(new StoreContentionError(attempt + 1, { cause: a.error }));
        return;
      }
      await this.#sleep(this.#backoffMs(attempt));
    }
  }

  #backoffMs(attempt: number): number {
    const capMs = Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** attempt);
    const b = this.#random.bytes(4);
    const u = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    return (u / 2 ** 32) * capMs;
  }

  /** Counts a retryable cause; true when `error` is one. */
  #retryable(error: unknown): boolean {
    if (isStale(error)) {
      this.counters.staleReads++;
      return true;
    }
    if (isAborted(error)) {
      this.counters.retries++;
      return true;
    }
    return false;
  }

  async #attempt(group: Pending[], track: GroupTrack, earlier: GroupTrack | undefined): Promise<Attempt> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      return { kind: 'failed', error };
    }
    // A checked-out connection that breaks emits 'error'; the query in flight rejects with it as well.
    let broken: Error | undefined;
    const onBroken = (e: Error) => {
      broken = e;
    };
    client.on('error', onBroken);
    const rollback = () =>
      client.query('ROLLBACK').catch((e: Error) => {
        broken ??= e;
      });
    const batch = new StatementBatcher(client);
    /** The COMMIT is on its way: from here, an error that is not PostgreSQL's own answer leaves the outcome unknown. */
    let commitOut = false;
    try {
      if (!this.#prepared.has(client)) {
        await client.query(PREPARE_ALL);
        this.#prepared.add(client);
      }
      // BEGIN goes out in the same round trip as the units' first statements. Its answer is not
      // awaited: a failed batch rejects every statement in it, and if BEGIN itself failed, so did
      // everything after it (and the COMMIT below).
      batch.runText('BEGIN ISOLATION LEVEL READ COMMITTED').catch(() => {});
      const units = new UnitGroup(batch, group.length, { own: track, earlier });
      const r = await units.run(group.map((p) => (x) => p.fn(pgTx(x))));
      this.counters.reruns += units.reruns;
      if ('failed' in r) {
        await rollback();
        return { kind: 'split', retry: this.#retryable(r.failed) };
      }
      const only = r.outcomes.length === 1 ? r.outcomes[0]! : undefined;
      if (only && !only.ok) {
        await rollback();
        return this.#retryable(only.error) ? { kind: 'retry', error: only.error } : { kind: 'committed', outcomes: [only] };
      }
      // COMMIT goes out with the last units' writes. A write that failed aborted the transaction, so
      // the COMMIT cannot keep a partial unit: it answers ROLLBACK, or is skipped with its batch.
      const commit = batch.runText('COMMIT');
      commit.catch(() => {});
      commitOut = true;
      track.commitSent();
      const failure = await units.written();
      if (failure !== undefined) {
        await rollback();
        return { kind: 'split', retry: this.#retryable(failure.error) };
      }
      if ((await commit).command !== 'COMMIT') {
        commitOut = false; // PostgreSQL answered: nothing was committed.
        throw new Error('the transaction was rolled back at COMMIT');
      }
      this.counters.groups++;
      this.counters.units += group.length;
      return { kind: 'committed', outcomes: r.outcomes };
    } catch (error) {
      if (broken === undefined) await rollback();
      // After the COMMIT went out, only PostgreSQL's ERROR answer (the transaction aborted, the session
      // goes on) says nothing was committed. A broken connection, a timed-out wait or a FATAL (the
      // backend ended: terminated, shut down, crashed) leaves it unknown.
      if (commitOut && !(error instanceof pg.DatabaseError && error.severity === 'ERROR'))
        return { kind: 'failed', error: new CommitUnknownError({ cause: error }) };
      if (group.length > 1 && broken === undefined) return { kind: 'split', retry: this.#retryable(error) };
      return this.#retryable(error) ? { kind: 'retry', error } : { kind: 'failed', error };
    } finally {
      this.counters.roundTrips += batch.batches;
      this.counters.statements += batch.statements;
      client.off('error', onBroken);
      client.release(broken);
    }
  }

  /**
   * Moves postings into balances, in a transaction of its own, and now and then vacuums `postings`
   * (every roll leaves its rows dead, which reads of a merchant's postings must step over); skipped
   * while another replica is at it.
   */
  async #roll(): Promise<void> {
    this.#lastRoll = performance.now();
    let client: pg.PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [ROLL_LOCK_KEY]);
      if (got.rows[0]?.ok !== true) {
        client.release();
        return;
      }
      try {
        await client.query('BEGIN');
        await client.query(ROLL_POSTINGS, [ROLL_BATCH]);
        await client.query('COMMIT');
        this.counters.rolls++;
        if (performance.now() - this.#lastVacuum >= VACUUM_EVERY_MS) {
          this.#lastVacuum = performance.now();
          await client.query('VACUUM postings');
        }
      } finally {
        await client.query('ROLLBACK').catch(() => {});
        await client.query('SELECT pg_advisory_unlock($1)', [ROLL_LOCK_KEY]);
      }
      client.release();
    } catch (error) {
      // A connection that failed here may still hold the lock: it is closed, not pooled.
      client?.release(error as Error);
      this.#onError(error as Error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#gathered?.();
    while (this.#draining) await this.#draining;
    await this.#rolling;
    await this.#pool.end();
  }
}

/** Walks an error and its causes (a unit's code may wrap the store's error). */
function causes(error: unknown, test: (e: object) => boolean): boolean {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++)
    if (test(e)) return true;
  return false;
}
const isStale = (error: unknown) => causes(error, (e) => e instanceof StaleReadError);
const isAborted = (error: unknown) =>
  causes(error, (e) => {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' && RETRYABLE_SQLSTATES.has(code);
  });
