// SPDX-License-Identifier: Apache-2.0
// The real outbox: one JSON file, rewritten whole and fsync'd on every change (durable-json-file.ts).
// A full rewrite is cheap at our caps (docs pitfalls: 1.4 ms for 1,000 entries before fsync), and a
// bounded file that holds only unsettled entries needs no compaction.
//
// One FileOutbox per file per process: a second open() of the same path is a programmer error.
// Nothing guards against a second process; the kiosk runs one daemon (systemd unit).
import { resolve } from 'node:path';
import { z } from 'zod';
import { assert } from '../../shared/assert.ts';
import { OUTBOX_LIMITS, outboxEntrySchema, type OutboxLimits } from './outbox-store.ts';
import { OutboxContents, checkLimits } from './outbox-contents.ts';
import { DurableJsonFile, type DurableWriteStep, type Loaded } from './durable-json-file.ts';
import { SerialOutbox } from './serial-outbox.ts';

export const OUTBOX_FILE_FORMAT = 'kioskpay-outbox/1';

/** Largest outbox file, in bytes: 500 entries of the largest code are about 350 KB. */
export const OUTBOX_FILE_BYTES_MAX = 8 * 1024 * 1024;

/** What a file may hold, whatever the current limits: a lowered entriesMax never drops entries. */
const FILE_ENTRIES_MAX = 10_000;

const bodySchema = z.strictObject({
  entries: z.array(outboxEntrySchema).max(FILE_ENTRIES_MAX),
  settledCounters: z.array(z.string().regex(/^[0-9a-f]{16}:\d{1,10}$/)).max(FILE_ENTRIES_MAX),
});
type Body = z.infer<typeof bodySchema>;

function parseBody(body: unknown): OutboxContents {
  const b = bodySchema.parse(body);
  const txIds = new Set(b.entries.map((e) => e.txId));
  if (txIds.size !== b.entries.length) throw new Error('duplicate txIds');
  return new OutboxContents(b.entries, b.settledCounters);
}

export interface FileOutboxOptions {
  /** The outbox file, e.g. /var/lib/kioskpay/outbox.json; its directory is created if missing. */
  path: string;
  limits?: Partial<OutboxLimits>;
  /** Test hook: called after each write step; throwing there simulates a crash at that step. */
  onWriteStep?: (step: DurableWriteStep) => void | Promise<void>;
}

/** How the outbox was loaded; a `backup` source must reach the kiosk's fault telemetry. */
export interface OutboxRecovery {
  source: Loaded<unknown>['source'];
  problems: string[];
}

export class FileOutbox extends SerialOutbox {
  static readonly #open = new Set<string>();

  readonly #file: DurableJsonFile;
  readonly #path: string;
  readonly recovery: OutboxRecovery;

  private constructor(path: string, file: DurableJsonFile, contents: OutboxContents, limits: OutboxLimits, recovery: OutboxRecovery) {
    super(contents, limits);
    this.#path = path;
    this.#file = file;
    this.recovery = recovery;
  }

  /** Loads the outbox (falling back to its backup if needed); rejects with STORE_CORRUPT if neither is valid. */
  static async open(o: FileOutboxOptions): Promise<FileOutbox> {
    const limits = checkLimits({ ...OUTBOX_LIMITS, ...o.limits });
    const path = resolve(o.path);
    assert(!FileOutbox.#open.has(path), `outbox ${path} is already open in this process`);
    FileOutbox.#open.add(path);
    try {
      const { file, loaded } = await DurableJsonFile.open(path, parseBody, {
        format: OUTBOX_FILE_FORMAT, bytesMax: OUTBOX_FILE_BYTES_MAX, ...(o.onWriteStep ? { onStep: o.onWriteStep } : {}),
      });
      return new FileOutbox(path, file, loaded.body ?? OutboxContents.empty, limits, { source: loaded.source, problems: loaded.problems });
    } catch (e) {
      FileOutbox.#open.delete(path);
      throw e;
    }
  }

  protected override persist(next: OutboxContents): Promise<void> {
    const body: Body = { entries: [...next.entries], settledCounters: [...next.settledCounters] };
    return this.#file.write(body);
  }

  protected override async release(): Promise<void> {
    FileOutbox.#open.delete(this.#path);
  }
}
