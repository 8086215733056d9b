// SPDX-License-Identifier: Apache-2.0
// How the SQLite store runs and commits units: group commit, pipelined, durable before answering.
//
// Units run one at a time as they arrive, each in its own SAVEPOINT (a failing unit rolls back
// alone), inside a transaction that stays open while the WAL fsync of the previous transaction is
// in flight. When that fsync ends, everything run meanwhile is committed and fsynced at once. So
// the event loop never waits for the disk while work is queued, a slow disk makes batches larger
// instead of the queue longer, and no unit is answered before the fsync that covers its COMMIT
// (which covers every earlier COMMIT too).
//
// The fsync is the store's own, on libuv's thread pool (SQLite runs with synchronous=NORMAL, which
// in WAL mode never syncs at COMMIT). WAL checkpoints run on a worker thread (sqlite-checkpointer.ts)
// instead of inside a COMMIT of this connection. SQLite starts the WAL over only when a transaction
// begins after a checkpoint that left nothing behind, so when the WAL has grown past a bound (at a
// quiet moment, or past a hard bound at once) the store restarts it in two passes: one checkpoint
// copies the bulk of the WAL while units go on committing, then a second copies only what they
// wrote meanwhile while the next transaction waits for it. A restart in one pass held every unit
// for the whole copy and the database's fsync (7-19 ms with a WAL of 16,000-25,000 2 KiB frames on
// the bench's VM, and longer on a slow disk).
import type Database from 'better-sqlite3';
import { open, type FileHandle } from 'node:fs/promises';
import type { StoreTx } from '../ports/store.ts';
import { SqliteCheckpointer, type CheckpointResult } from './sqlite-checkpointer.ts';

/** Units committed together at most; bounds the time one transaction holds the write lock. */
const GROUP_UNITS_MAX = 256;

/** When WAL checkpoints run, in WAL frames (one page each, 4 KiB by default) and ms. */
export interface CheckpointPolicy {
  /** Least time between two background checkpoints. */
  everyMs: number;
  /** Past this many frames, the next quiet moment starts the WAL over. */
  restartFrames: number;
  /** Past this many, the next transaction waits for that even when units are queued. */
  forceRestartFrames: number;
}

export const CHECKPOINT_DEFAULTS: CheckpointPolicy = Object.freeze({
  // Each checkpoint fsyncs the WAL and the database, beside the commits' own syncs: once a second
  // copies a page changed by every payment (the merchant's balance) once, not ten times.
  everyMs: 1_000,
  restartFrames: 16_000,
  forceRestartFrames: 64_000,
});

interface Pending {
  fn: (tx: StoreTx) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Units run inside one open transaction, waiting for their COMMIT and its fsync. */
interface Batch {
  units: Pending[];
  outcomes: Outcome[];
}

export interface GroupCommitOptions {
  db: Database.Database;
  tx: StoreTx;
  /** The database file; null for an in-memory database (no fsync, no checkpoints). */
  path: string | null;
  checkpoints?: CheckpointPolicy;
  /** Runs the checkpoints; default a worker of its own on `path` (a wrapper in tests). */
  checkpointer?: Checkpointer;
  /** Makes the WAL durable; default fdatasync (one that fails, in tests). */
  datasync?: (wal: FileHandle) => Promise<void>;
  /** Told once when the store stops because a WAL sync failed (StoreStoppedError); the server exits. */
  onFatal?: (error: StoreStoppedError) => void;
}

/**
 * The store stopped: a WAL sync failed, so a commit may not be on disk, and nothing after it can be
 * made durable with certainty (after a failed fsync, Linux may drop the pages it could not write and
 * report the next fsync clean). Every unit from then on is refused before it runs; only a restart,
 * which reads back what the disk holds, goes on.
 */
export class StoreStoppedError extends Error {
  override readonly name = 'StoreStoppedError';
  constructor(options: { cause: unknown }) {
    super(
      `the ledger stopped: a WAL sync failed (${String(options.cause)}), so what was committed may not be on disk; restart the server`,
      options,
    );
  }
}

/** What runs the WAL checkpoints: one at a time, each a PASSIVE checkpoint of everything committed. */
export interface Checkpointer {
  checkpoint(): Promise<CheckpointResult>;
  close(): Promise<void>;
}

export class GroupCommit {
  readonly #db: Database.Database;
  readonly #tx: StoreTx;
  readonly #control: Record<'begin' | 'commit' | 'savepoint' | 'release' | 'rollbackTo', Database.Statement>;
  readonly #path: string | null;
  readonly #policy: CheckpointPolicy;
  /** Units waiting to run. */
  #queue: Pending[] = [];
  /** A unit is running. */
  #running = false;
  /** The open transaction's units, run but not committed. */
  #open: Batch | undefined;
  /** A COMMIT's fsync is in flight. */
  #syncing = false;
  /** A WAL sync failed: every unit is refused. */
  #stopped: StoreStoppedError | undefined;
  readonly #datasync: (wal: FileHandle) => Promise<void>;
  readonly #onFatal: ((error: StoreStoppedError) => void) | undefined;
  /** The WAL file, opened after the first commit. */
  #wal: FileHandle | undefined;
  #checkpointer: Checkpointer | undefined;
  /** A background checkpoint is running, or ended less than everyMs ago. */
  #checkpointing = false;
  /** A restart's first pass is copying the WAL (units go on). */
  #restartCopying = false;
  /** The first pass is done: at the next point between two transactions, the second pass runs. */
  #restartReady = false;
  /** A restart's second pass is running: no transaction may begin. */
  #restarting = false;
  /** WAL frames at the last checkpoint. */
  #walFrames = 0;
  /** The WAL length at which the next quiet moment restarts it. */
  #restartAt: number;
  #closing = false;

  constructor(o: GroupCommitOptions) {
    this.#db = o.db;
    this.#tx = o.tx;
    this.#path = o.path;
    this.#policy = o.checkpoints ?? CHECKPOINT_DEFAULTS;
    this.#restartAt = this.#policy.restartFrames;
    this.#datasync = o.datasync ?? ((wal) => wal.datasync());
    this.#onFatal = o.onFatal;
    // Prepared once: exec() would compile these on every unit.
    this.#control = {
      begin: o.db.prepare('BEGIN IMMEDIATE'),
      commit: o.db.prepare('COMMIT'),
      savepoint: o.db.prepare('SAVEPOINT unit'),
      release: o.db.prepare('RELEASE unit'),
      rollbackTo: o.db.prepare('ROLLBACK TO unit'),
    };
    if (o.path !== null) {
      o.db.pragma('wal_autocheckpoint = 0');
      this.#checkpointer = o.checkpointer ?? new SqliteCheckpointer(o.path);
    }
  }

  /** Checkpoints the worker ran, and how many of them started the WAL over (for tests and the bench). */
  readonly checkpoints = { run: 0, restarts: 0 };

  /** Units waiting to run (not those already run and waiting for their commit). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Runs fn in the next transaction; resolves with its value once that transaction is on disk. */
  unit<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      this.#pump();
    });
  }

  get #idle(): boolean {
    return !this.#running && !this.#syncing && !this.#restarting && this.#open === undefined && this.#queue.length === 0;
  }

  /**
   * Does the next thing, if nothing is running: between two transactions, finishes a WAL restart
   * whose first pass is done; runs a queued unit (while the open transaction has room), else commits
   * the open transaction once no fsync is in flight. A restart's first pass starts at a quiet moment
   * once the WAL is past its bound, or at once when it is far past it. Called whenever a unit is
   * queued, a unit ends, an fsync ends or a checkpoint ends.
   */
  #pump(): void {
    if (this.#running || this.#restarting) return;
    if (this.#stopped) return this.#refuseAll(this.#stopped);
    if (this.#restartReady && this.#open === undefined) return this.#restartWal();
    const room = (this.#open?.units.length ?? 0) < GROUP_UNITS_MAX;
    const overdue = this.#restartAt + this.#policy.forceRestartFrames - this.#policy.restartFrames;
    if (this.#walFrames >= overdue) this.#copyBeforeRestart();
    if (this.#queue.length > 0 && room) void this.#runNext();
    else if (this.#open && !this.#syncing) this.#commit(this.#open);
    else if (this.#idle && this.#walFrames >= this.#restartAt) this.#copyBeforeRestart();
  }

  async #runNext(): Promise<void> {
    const p = this.#queue.shift()!;
    const c = this.#control;
    this.#running = true;
    try {
      if (!this.#open) {
        try {
          c.begin.run();
        } catch (error) {
          // Another process held the write lock past busy_timeout: fail this unit rather than leave it pending.
          p.reject(error);
          return;
        }
        this.#open = { units: [], outcomes: [] };
      }
      c.savepoint.run();
      let outcome: Outcome;
      try {
        outcome = { ok: true, value: await p.fn(this.#tx) };
        c.release.run();
      } catch (error) {
        c.rollbackTo.run();
        c.release.run();
        outcome = { ok: false, error };
      }
      this.#open.units.push(p);
      this.#open.outcomes.push(outcome);
    } finally {
      this.#running = false;
      this.#pump();
    }
  }

  /** Commits the open transaction, and answers its units once the WAL is on disk. */
  #commit(batch: Batch): void {
    this.#open = undefined;
    try {
      this.#control.commit.run();
    } catch (error) {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      for (const p of batch.units) p.reject(error);
      this.#pump();
      return;
    }
    this.#syncing = true;
    this.#syncWal()
      .then(
        () =>
          batch.units.forEach((p, i) => {
            const o = batch.outcomes[i]!;
            if (o.ok) p.resolve(o.value);
            else p.reject(o.error);
          }),
        // The batch's units get no answer at all: their COMMIT is in SQLite but may not be on disk,
        // so "done" could be false and "failed, nothing written" could be false too. A kiosk that
        // hears nothing asks again after the restart, which answers from what the disk holds.
        (error: unknown) => {
          if (this.#stopped) return;
          this.#stopped = new StoreStoppedError({ cause: error });
          this.#onFatal?.(this.#stopped);
        },
      )
      .finally(() => {
        this.#syncing = false;
        this.#checkpointInBackground();
        this.#pump();
      });
  }

  /**
   * Makes every committed WAL frame durable. SQLite keeps the WAL file (same inode) while open.
   * fdatasync, as SQLite itself syncs its WAL: the data and what is needed to read it back (the
   * file's size), without the modification time, so once the WAL has its working size (it is
   * rewritten from the start after each restart) a sync does not wait for a journal commit.
   */
  async #syncWal(): Promise<void> {
    if (this.#path === null) return;
    this.#wal ??= await open(`${this.#path}-wal`, 'r');
    await this.#datasync(this.#wal);
  }

  /** After a failed sync: the open transaction (units run since) is rolled back, and its units and the queued ones refused. */
  #refuseAll(error: StoreStoppedError): void {
    const open = this.#open;
    this.#open = undefined;
    if (open && this.#db.inTransaction) this.#db.exec('ROLLBACK');
    for (const p of [...(open?.units ?? []), ...this.#queue.splice(0)]) p.reject(error);
  }

  /** Starts a PASSIVE checkpoint on the worker, unless one ran less than everyMs ago. */
  #checkpointInBackground(): void {
    const cp = this.#checkpointer;
    if (!cp || this.#checkpointing || this.#closing || this.#stopped) return;
    this.#checkpointing = true;
    const started = performance.now();
    cp.checkpoint()
      .then(
        (r) => {
          this.checkpoints.run++;
          this.#walFrames = r.walFrames;
        },
        (error: unknown) => this.#checkpointsFailed(error),
      )
      .then(() => new Promise((r) => setTimeout(r, Math.max(0, this.#policy.everyMs - (performance.now() - started))).unref()))
      .finally(() => {
        this.#checkpointing = false;
        this.#pump();
      });
  }

  /** A restart's first pass: a checkpoint that copies what the WAL holds now, while units go on. */
  #copyBeforeRestart(): void {
    const cp = this.#checkpointer;
    if (!cp || this.#closing || this.#restartCopying || this.#restartReady || this.#stopped) return;
    this.#restartCopying = true;
    cp.checkpoint()
      .then(
        (r) => {
          this.checkpoints.run++;
          this.#walFrames = r.walFrames;
          this.#restartReady = true;
        },
        (error: unknown) => this.#checkpointsFailed(error),
      )
      .finally(() => {
        this.#restartCopying = false;
        this.#pump();
      });
  }

  /**
   * A restart's second pass, between two transactions: a checkpoint that copies every frame left
   * (those committed since the first pass began), so that the next transaction starts the WAL over.
   * Units queued meanwhile wait; the event loop does not.
   */
  #restartWal(): void {
    const cp = this.#checkpointer;
    this.#restartReady = false;
    if (!cp || this.#closing) return;
    this.#restarting = true;
    cp.checkpoint()
      .then(
        (r) => {
          const complete = r.checkpointedFrames === r.walFrames;
          this.checkpoints.run++;
          if (complete) this.checkpoints.restarts++;
          this.#walFrames = complete ? 0 : r.walFrames;
          // A reader of another process can keep frames in use: then the WAL goes on, and this is tried again past another bound.
          this.#restartAt = complete ? this.#policy.restartFrames : r.walFrames + this.#policy.restartFrames;
        },
        (error: unknown) => this.#checkpointsFailed(error),
      )
      .finally(() => {
        this.#restarting = false;
        this.#pump();
      });
  }

  /** Without the worker, this connection checkpoints again itself (SQLite's default: every 1,000 frames). */
  #checkpointsFailed(error: unknown): void {
    if (!this.#checkpointer || this.#closing) return;
    void this.#checkpointer.close().catch(() => {});
    this.#checkpointer = undefined;
    this.#walFrames = 0;
    this.#restartReady = false;
    this.#db.pragma('wal_autocheckpoint = 1000');
    process.emitWarning(`SQLite WAL checkpoints moved back onto the store's connection: ${String(error)}`);
  }

  /** Waits until every unit is answered, then stops the checkpoints and closes the WAL handle. */
  async close(): Promise<void> {
    while (!this.#idle) await new Promise((r) => setImmediate(r));
    this.#closing = true;
    await this.#checkpointer?.close();
    await this.#wal?.close();
  }
}
