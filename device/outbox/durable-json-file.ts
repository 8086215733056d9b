// SPDX-License-Identifier: Apache-2.0
// One JSON document on disk that survives a crash or power cut at any instant (docs pitfalls: lowdb
// never fsyncs). Files: PATH (main), PATH.bak (the previous good version), PATH.tmp (a write in
// progress) and PATH.corrupt (a bad main moved aside for inspection).
//
// A write: (1) write PATH.tmp and fsync it; (2) rename PATH to PATH.bak; (3) rename PATH.tmp to
// PATH; (4) fsync the directory. It resolves only after (4). A crash at any step leaves either a
// valid PATH, or no PATH and a valid PATH.bak holding the version before, never a torn PATH.
//
// Each file is an envelope {format, seq, body, checksum}: seq grows by one per write, checksum is
// SHA-256 over the JSON text of {format, seq, body}. Load takes the valid file (JSON, format,
// checksum, and the caller's own check of the body) with the highest seq. A bad main with a good
// backup loads the backup and says so in `problems`; if files exist but none is valid, open()
// refuses (STORE_CORRUPT) rather than starting empty.
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { OutboxError } from './outbox-store.ts';

/** Named steps of a write; a test hook may throw at any of them to simulate a crash there. */
export type DurableWriteStep = 'temp-written' | 'temp-synced' | 'backup-renamed' | 'main-renamed' | 'dir-synced';

export interface DurableJsonFileOptions {
  /** Identifies the document kind and version, e.g. 'kioskpay-outbox/1'. */
  format: string;
  /** Largest file we write or read, in bytes; a bigger write is a programmer error. */
  bytesMax: number;
  /** Test hook called after each write step; throwing aborts the write there, as a crash would. */
  onStep?: (step: DurableWriteStep) => void | Promise<void>;
}

export interface Loaded<T> {
  /** The body read, or undefined when no file existed (first start). */
  body: T | undefined;
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

export class DurableJsonFile {
  readonly #path: string;
  readonly #opts: DurableJsonFileOptions;
  #seq: number;
  #mainExists: boolean;

  private constructor(path: string, opts: DurableJsonFileOptions, seq: number, mainExists: boolean) {
    this.#path = path;
    this.#opts = opts;
    this.#seq = seq;
    this.#mainExists = mainExists;
  }

  /** Loads the newest valid version. `parse` validates the body and throws on anything invalid. */
  static async open<T>(path: string, parse: (body: unknown) => T, opts: DurableJsonFileOptions): Promise<{ file: DurableJsonFile; loaded: Loaded<T> }> {
    const created = await mkdir(dirname(path), { recursive: true });
    if (created !== undefined) await syncDir(dirname(created));
    const main = await readCandidate(path, 'main', parse, opts);
    const backup = await readCandidate(`${path}.bak`, 'backup', parse, opts);
    const problems = [main, backup].filter((c) => c.exists && c.problem).map((c) => `${c.which}: ${c.problem}`);
    if (!main.exists && backup.exists) problems.unshift('main: missing');
    const best = [main, backup].filter((c) => c.body !== undefined).sort((a, b) => b.seq - a.seq)[0];
    if (!best) {
      if (main.exists || backup.exists) throw new OutboxError('STORE_CORRUPT', { path, problems });
      await removeIfPresent(`${path}.tmp`);
      return { file: new DurableJsonFile(path, opts, 0, false), loaded: { body: undefined, source: 'none', problems } };
    }
    let mainExists = main.exists;
    if (best.which === 'backup' && main.exists) {
      // Keep the good backup: the next write would otherwise rename the bad main over it.
      await rename(path, `${path}.corrupt`);
      await syncDir(dirname(path));
      mainExists = false;
    }
    // A temp file is a write that never completed: its append never resolved.
    await removeIfPresent(`${path}.tmp`);
    return { file: new DurableJsonFile(path, opts, best.seq, mainExists), loaded: { body: best.body, source: best.which, problems } };
  }

  /** Replaces the document durably (see the top of this file). */
  /** `body` must be plain JSON data (no undefined, NaN or class instances). */
  async write(body: unknown): Promise<void> {
    const seq = this.#seq + 1;
    const text = envelope(this.#opts.format, seq, body);
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

function checksum(format: string, seq: number, body: unknown): string {
  return createHash('sha256').update(JSON.stringify({ format, seq, body })).digest('hex');
}

function envelope(format: string, seq: number, body: unknown): string {
  return JSON.stringify({ format, seq, body, checksum: checksum(format, seq, body) });
}

async function readCandidate<T>(path: string, which: 'main' | 'backup', parse: (body: unknown) => T, opts: DurableJsonFileOptions): Promise<Candidate<T>> {
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
  if (typeof sum !== 'string' || sum !== checksum(format, seq as number, body)) return { which, exists: true, seq: -1, problem: 'checksum mismatch' };
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
