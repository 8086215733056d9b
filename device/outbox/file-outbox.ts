// SPDX-License-Identifier: Apache-2.0
// The real outbox: a lowdb document on our durable adapter (durable-json-adapter.ts), rewritten whole
// and fsync'd on every change. A full rewrite is cheap at our caps (1.4 ms for 1,000 entries before
// fsync), and a bounded file that holds only unsettled entries needs no compaction.
//
// One FileOutbox per file per process: a second open() of the same path is a programmer error (the
// adapter refuses it). Nothing guards against a second process; the kiosk runs one daemon.
//
// An entry may hold the sale's lines (OutboxEntry.lines). They were added as an optional field under
// the same format name: a file written before them loads as it is, and an entry without lines is
// written byte for byte as before (file-outbox.test.ts checks both against a file the earlier code
// wrote). The reverse does not hold: kiosk software from before sale lines refuses an outbox that
// holds an entry with lines (STORE_CORRUPT), so a rollback past them waits until the outbox is
// forwarded (docs/decisions.md).
import type { Low } from 'lowdb';
import { z } from 'zod';
import { OUTBOX_LIMITS, outboxEntrySchema, type OutboxEntry, type OutboxLimits } from './outbox-store.ts';
import { OutboxContents, checkLimits } from './outbox-contents.ts';
import { openDurableLow, type DurableJsonAdapter, type DurableWriteStep, type Recovery } from './durable-json-adapter.ts';
import { SerialOutbox } from './serial-outbox.ts';

export const OUTBOX_FILE_FORMAT = 'kioskpay-outbox/1';

/** Largest outbox file, in bytes: 500 entries of the largest code are about 350 KB; with 100 sale lines each, about 6.5 MB. */
export const OUTBOX_FILE_BYTES_MAX = 8 * 1024 * 1024;

/** What a file may hold, whatever the current limits: a lowered entriesMax never drops entries. */
const FILE_ENTRIES_MAX = 10_000;

const bodySchema = z.strictObject({
  entries: z.array(outboxEntrySchema).max(FILE_ENTRIES_MAX),
  settledCounters: z.array(z.string().regex(/^[0-9a-f]{16}:\d{1,10}$/)).max(FILE_ENTRIES_MAX),
});
interface Body {
  entries: OutboxEntry[];
  settledCounters: string[];
}

function parseBody(body: unknown): Body {
  const b = bodySchema.parse(body);
  const txIds = new Set(b.entries.map((e) => e.txId));
  if (txIds.size !== b.entries.length) throw new Error('duplicate txIds');
  return b;
}

const EMPTY: Body = { entries: [], settledCounters: [] };

export interface FileOutboxOptions {
  /** The outbox file, e.g. /var/lib/kioskpay/outbox.json; its directory is created if missing. */
  path: string;
  limits?: Partial<OutboxLimits>;
  /** Test hook: called after each write step; throwing there simulates a crash at that step. */
  onWriteStep?: (step: DurableWriteStep) => void | Promise<void>;
}

/** How the outbox was loaded; a `backup` source must reach the kiosk's fault telemetry. */
export type OutboxRecovery = Recovery;

export class FileOutbox extends SerialOutbox {
  readonly #db: Low<Body>;
  readonly #adapter: DurableJsonAdapter<Body>;
  readonly recovery: OutboxRecovery;

  private constructor(db: Low<Body>, adapter: DurableJsonAdapter<Body>, limits: OutboxLimits) {
    super(new OutboxContents(db.data.entries, db.data.settledCounters), limits);
    this.#db = db;
    this.#adapter = adapter;
    this.recovery = adapter.recovery;
  }

  /** Loads the outbox (falling back to its backup if needed); rejects with STORE_CORRUPT if neither is valid. */
  static async open(o: FileOutboxOptions): Promise<FileOutbox> {
    const limits = checkLimits({ ...OUTBOX_LIMITS, ...o.limits });
    const { db, adapter } = await openDurableLow(o.path, EMPTY, parseBody, {
      format: OUTBOX_FILE_FORMAT,
      bytesMax: OUTBOX_FILE_BYTES_MAX,
      ...(o.onWriteStep ? { onStep: o.onWriteStep } : {}),
    });
    return new FileOutbox(db, adapter, limits);
  }

  protected override persist(next: OutboxContents): Promise<void> {
    this.#db.data = { entries: [...next.entries], settledCounters: [...next.settledCounters] };
    return this.#db.write();
  }

  protected override release(): Promise<void> {
    return this.#adapter.close();
  }
}
