// SPDX-License-Identifier: Apache-2.0
// The kiosk's local documents are lowdb `Low` databases on this adapter of ours, which makes one JSON
// document on disk survive a crash or power cut at any instant. lowdb's own JSONFile (steno) writes
// a temp file and renames it but never fsyncs, keeps no backup and cannot tell a torn file from a
// good one; its JSONFilePreset even keeps data in memory when NODE_ENV=test (docs/decisions.md).
//
// Files: PATH (main), PATH.bak (the previous good version), PATH.tmp (a write in progress) and
// PATH.corrupt (a bad main moved aside for inspection).
//
// A write: (1) write PATH.tmp and fsync it; (2) rename PATH to PATH.bak; (3) rename PATH.tmp to
// PATH; (4) fsync the directory. It resolves only after (4). A crash at any step leaves either a
// valid PATH, or no PATH and a valid PATH.bak holding the version before, never a torn PATH.
// Reads and writes run one at a time in call order (lowdb does not serialise them), and a write
// snapshots the data when called, so a later in-place change is not written by an earlier call.
//
// Each file is an envelope {format, seq, body, checksum}: seq grows by one per write, checksum is
// SHA-256 over the JSON text of {format, seq, body}. read() takes the valid file (JSON, format,
// checksum, and the caller's own check of the body) with the highest seq. A bad main with a good
// backup loads the backup and says so in `recovery.problems`; if files exist but none is valid,
// read() refuses (STORE_CORRUPT) rather than let lowdb start from its default data.
//
// One adapter (so one Low) per file per process: a second one for the same path throws until the
// first is closed. Nothing guards against a second process; the kiosk runs one daemon.
import { createHash } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Low, type Adapter } from 'lowdb';
import { assert } from '../../shared/assert.ts';
import { OutboxError } from './outbox-store.ts';

/** Named steps of a write; a test hook may throw at any of them to simulate a crash there. */
export type DurableWriteStep = 'temp-written' | 'temp-synced' | 'backup-renamed' | 'main-renamed' | 'dir-synced';

export interface DurableJsonOptions {
  /** Identifies the document kind and version, e.g. 'kioskpay-outbox/1'. */
  format: string;
  /** Largest file we write or read, in bytes; a bigger write is a programmer error. */
  bytesMax: number;
  /** Test hook called after each write step; throwing aborts the write there, as a crash would. */
  onStep?: (step: DurableWriteStep) => void | Promise<void>;
}

/** How the last read() found the files. */
export interface Recovery {
  /** Where the data came from; 'none' when no file existed (first start: lowdb keeps its default). */
  source: 'main' | 'backup' | 'none';
  /** Why a file was skipped; empty when the main file was fine. */
  problems: string[];
}

interface Candidate<T> {
  which: 'main' | 'backup';
  exists: boolean;
  seq: number;
  body?: T;
  problem?: string;
}

export class DurableJsonAdapter<T> implements Adapter<T> {
  static readonly #open = new Set<string>();

  readonly #path: string;
  readonly #parse: (body: unknown) => T;
  readonly #opts: DurableJsonOptions;
  #seq = 0;
  #mainExists = false;
  #read = false;
  #closed = false;
  #tail: Promise<unknown> = Promise.resolve();
  recovery: Recovery = { source: 'none', problems: [] };

  /** Claims `path` for this process. `parse` validates a stored body and throws on anything invalid. */
  constructor(path: string, parse: (body: unknown) => T, opts: DurableJsonOptions) {
    this.#path = resolve(path);
    assert(!DurableJsonAdapter.#open.has(this.#path), `${this.#path} is already open in this process`);
    DurableJsonAdapter.#open.add(this.#path);
    this.#parse = parse;
    this.#opts = opts;
  }

  /** Loads the newest valid version, or null on a first start; rejects with STORE_CORRUPT. */
  read(): Promise<T | null> {
    return this.#queue(() => this.#load());
  }

  /** Replaces the document durably (see the top of this file). `data` must be plain JSON data. */
  write(data: T): Promise<void> {
    if (!this.#read) return Promise.reject(new Error(`${this.#path}: write before read would lose the stored seq`));
    const text = JSON.stringify(data);
    return this.#queue(() => this.#write(text));
  }

  /** Waits for pending reads and writes and frees the path; later calls reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tail.catch(() => undefined);
    DurableJsonAdapter.#open.delete(this.#path);
  }

  #queue<R>(run: () => Promise<R>): Promise<R> {
    if (this.#closed) return Promise.reject(new Error(`${this.#path} is closed`));
    const next = this.#tail.then(run, run);
    this.#tail = next.catch(() => undefined);
    return next;
  }

  async #load(): Promise<T | null> {
    const path = this.#path;
    const created = await mkdir(dirname(path), { recursive: true });
    if (created !== undefined) await syncDir(dirname(created));
    const main = await readCandidate(path, 'main', this.#parse, this.#opts);
    const backup = await readCandidate(`${path}.bak`, 'backup', this.#parse, this.#opts);
    const problems = [main, backup].filter((c) => c.exists && c.problem).map((c) => `${c.which}: ${c.problem}`);
    if (!main.exists && backup.exists) problems.unshift('main: missing');
    const best = [main, backup].filter((c) => c.body !== undefined).sort((a, b) => b.seq - a.seq)[0];
    if (!best) {
      if (main.exists || backup.exists) throw new OutboxError('STORE_CORRUPT', { path, problems });
      await removeIfPresent(`${path}.tmp`);
      this.#loaded(0, false, { source: 'none', problems });
      return null;
    }
    let mainExists = main.exists;
    if (best.which === 'backup' && main.exists) {
      // Keep the good backup: the next write would otherwise rename the bad main over it.
      await rename(path, `${path}.corrupt`);
      await syncDir(dirname(path));
      mainExists = false;
    }
    // A temp file is a write that never completed: its write never resolved.
    await removeIfPresent(`${path}.tmp`);
    this.#loaded(best.seq, mainExists, { source: best.which, problems });
    return best.body as T;
  }

  #loaded(seq: number, mainExists: boolean, recovery: Recovery): void {
    this.#seq = seq;
    this.#mainExists = mainExists;
    this.recovery = recovery;
    this.#read = true;
  }

  async #write(bodyText: string): Promise<void> {
    const seq = this.#seq + 1;
    const text = envelope(this.#opts.format, seq, bodyText);
    const bytes = Buffer.byteLength(text);
    if (bytes > this.#opts.bytesMax) throw new Error(`document of ${bytes} bytes exceeds ${this.#opts.bytesMax}`);
    const tmp = `${this.#path}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(text);
      await this.#step('temp-written');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.#step('temp-synced');
    if (this.#mainExists) {
      await rename(this.#path, `${this.#path}.bak`);
      this.#mainExists = false;
      await this.#step('backup-renamed');
    }
    await rename(tmp, this.#path);
    this.#mainExists = true;
    await this.#step('main-renamed');
    await syncDir(dirname(this.#path));
    await this.#step('dir-synced');
    this.#seq = seq;
  }

  async #step(step: DurableWriteStep): Promise<void> {
    await this.#opts.onStep?.(step);
  }
}

/**
 * Opens a lowdb database on a DurableJsonAdapter and reads it: `defaultData` on a first start.
 * On a read failure (STORE_CORRUPT, I/O) the path is freed again before the rejection.
 */
export async function openDurableLow<T>(
  path: string,
  defaultData: T,
  parse: (body: unknown) => T,
  opts: DurableJsonOptions,
): Promise<{ db: Low<T>; adapter: DurableJsonAdapter<T> }> {
  const adapter = new DurableJsonAdapter(path, parse, opts);
  const db = new Low(adapter, defaultData);
  try {
    await db.read();
  } catch (e) {
    await adapter.close();
    throw e;
  }
  return { db, adapter };
}

/** The checksum covers the exact JSON text of {format, seq, body} as written in the envelope. */
function checksum(format: string, seq: number, bodyText: string): string {
  return createHash('sha256')
    .update(`{"format":${JSON.stringify(format)},"seq":${seq},"body":${bodyText}}`)
    .digest('hex');
}

function envelope(format: string, seq: number, bodyText: string): string {
  return `{"format":${JSON.stringify(format)},"seq":${seq},"body":${bodyText},"checksum":"${checksum(format, seq, bodyText)}"}`;
}

async function readCandidate<T>(
  path: string,
  which: 'main' | 'backup',
  parse: (body: unknown) => T,
  opts: DurableJsonOptions,
): Promise<Candidate<T>> {
  let text: string;
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      if (size > opts.bytesMax) return { which, exists: true, seq: -1, problem: `${size} bytes exceeds ${opts.bytesMax}` };
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { which, exists: false, seq: -1 };
    throw e;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { which, exists: true, seq: -1, problem: `not JSON (${text.length} characters; torn?)` };
  }
  if (typeof doc !== 'object' || doc === null) return { which, exists: true, seq: -1, problem: 'not an object' };
  const { format, seq, body, checksum: sum } = doc as Record<string, unknown>;
  if (format !== opts.format) return { which, exists: true, seq: -1, problem: `format ${JSON.stringify(format)} is not ${opts.format}` };
  if (!Number.isSafeInteger(seq) || (seq as number) < 1) return { which, exists: true, seq: -1, problem: 'bad seq' };
  if (typeof sum !== 'string' || sum !== checksum(format, seq as number, JSON.stringify(body)))
    return { which, exists: true, seq: -1, problem: 'checksum mismatch' };
  try {
    return { which, exists: true, seq: seq as number, body: parse(body) };
  } catch (e) {
    return { which, exists: true, seq: -1, problem: `invalid body: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** fsync a directory, so renames and new names in it survive a power cut. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
