// SPDX-License-Identifier: Apache-2.0
// WAL checkpoints of the SQLite ledger on a worker thread of their own. A checkpoint copies the
// pages the WAL holds into the database file and fsyncs the WAL before and the database after; run
// by the store's own connection (SQLite's automatic checkpoint, inside a COMMIT every 1,000 pages)
// it blocked the event loop for those two fsyncs, 20-100 ms on a busy disk. Here a second connection
// in a worker runs PASSIVE checkpoints, which never block the store's writes. SQLite reuses the
// WAL from its start only when a writer begins after a checkpoint that left nothing behind, which a
// steady stream of commits never allows; so the store asks for that (`drain`) at a quiet point of
// its own, between two transactions, when the WAL has grown past a bound.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** What one checkpoint saw: frames in the WAL, and how many of them are now in the database file. */
export interface CheckpointResult {
  walFrames: number;
  checkpointedFrames: number;
}

/** The worker, as plain JavaScript: it needs no TypeScript loader wherever the server runs. */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, walFrames: r.log, checkpointedFrames: r.checkpointed });
  } catch (e) {
    parentPort.postMessage({ ok: false, error: String(e && e.message ? e.message : e) });
  }
});
`;

type Reply = ({ ok: true } & CheckpointResult) | { ok: false; error: string };

export class SqliteCheckpointer {
  readonly #worker: Worker;
  /** One checkpoint at a time: the next waits for this one. */
  #last: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(path: string) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(WORKER, { eval: true, workerData: { path, driver } });
    // Idle, the worker does not keep the process alive; while a checkpoint runs (someone may wait for it), it does.
    this.#worker.unref();
  }

  /** Runs one PASSIVE checkpoint; rejects when the worker could not. */
  checkpoint(): Promise<CheckpointResult> {
    if (this.#closed) return Promise.reject(new Error('checkpointer is closed'));
    const run = this.#last.then(
      () =>
        new Promise<CheckpointResult>((resolve, reject) => {
          const onError = (e: Error) => reject(e);
          this.#worker.ref();
          this.#worker.once('error', onError);
          this.#worker.once('message', (r: Reply) => {
            this.#worker.off('error', onError);
            this.#worker.unref();
            if (r.ok) resolve({ walFrames: r.walFrames, checkpointedFrames: r.checkpointedFrames });
            else reject(new Error(`WAL checkpoint failed: ${r.error}`));
          });
          this.#worker.postMessage('checkpoint');
        }),
    );
    this.#last = run.catch(() => {});
    return run;
  }

  /** Waits for a running checkpoint, then closes the worker's connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#last;
    this.#worker.ref();
    await new Promise<void>((resolve) => {
      this.#worker.once('exit', () => resolve());
      this.#worker.postMessage('close');
    });
  }
}
