// SPDX-License-Identifier: Apache-2.0
// The kiosk's durable outbox: offline payments it approved while its uplink was down, kept until the
// server's settle.result says each one is final (docs/protocol.md 3.6).
//
// Failure semantics, which the checkout and the forwarder rely on:
// - append() resolves only once the entry is durable (on disk and fsync'd for the file adapter). The
//   kiosk says "approved" and fires the relay only after it resolves. If it rejects, the payment
//   was NOT approved: decline it. An append that was interrupted by a crash may or may not survive.
// - append() refuses with a typed OutboxError: OUTBOX_FULL (entriesMax reached; the offline
//   pre-check caps the count below this, so reaching it is a second line of defence), DUPLICATE_TX
//   (txIds are never reused) or COUNTER_SEEN (the code's credential and counter were already taken).
// - acknowledge() removes entries durably; unknown txIds are ignored, so acknowledging twice is safe.
// - A failed write (disk full, I/O error) leaves the store failed: every later call rejects with
//   STORE_FAILED, because memory and disk may now disagree. Reopen the store to continue.
// - list(), stats() and hasCounter() read the last durable state and never touch the disk.
import { z } from 'zod';
import { saleLinesSchema, type SaleLine } from '../../shared/kiosk-messages.ts';
import type { Currency, Money } from '../../shared/money.ts';
import { amountSchema, codeTextSchema, idSchema, timestampMsSchema } from '../../shared/schemas.ts';

/** One stored offline payment. Everything the server needs to settle it, and the replay key. */
export interface OutboxEntry {
  /** The kiosk's transaction id: the settlement idempotency key ([PROTO-SETTLE-1]). */
  readonly txId: string;
  /** The scanned offline QR code text. A secret: never log it. */
  readonly code: string;
  readonly amount: Money;
  /** The kiosk's trusted time when it accepted the code, Unix ms ([PROTO-SETTLE-3]). */
  readonly capturedAt: number;
  /** The offline credential that signed the code (16 lowercase hex characters). */
  readonly credentialId: string;
  /** The code's counter (uint32): with credentialId, what makes a code single-use. */
  readonly counter: number;
  /**
   * What the payment sold (shared/kiosk-messages.ts SaleLine), sent with it in the settle item.
   * Absent in entries stored before kiosks listed their sales, and when a sale could not be listed.
   */
  readonly lines?: readonly SaleLine[] | undefined;
}

export const outboxEntrySchema = z.strictObject({
  txId: idSchema,
  code: codeTextSchema,
  amount: amountSchema,
  capturedAt: timestampMsSchema,
  credentialId: z.string().regex(/^[0-9a-f]{16}$/),
  counter: z.int().min(0).max(0xffff_ffff),
  // Optional, so that an outbox written before entries held lines loads and forwards unchanged.
  lines: saleLinesSchema.optional(),
});

export interface OutboxStats {
  count: number;
  /** Sum of stored amounts per currency, in minor units; currencies with no entry are absent. */
  amountByCurrency: Partial<Record<Currency, number>>;
  /** capturedAt of the oldest stored entry, or null when empty. */
  oldestCapturedAt: number | null;
}

/** Every limit of the outbox, with its overflow behaviour. */
export const OUTBOX_LIMITS = Object.freeze({
  /** Stored entries at most; one more append rejects with OUTBOX_FULL (Moneris caps at 500 records). */
  entriesMax: 500,
  /**
   * Counters of settled entries remembered after acknowledge, so a replayed code is still refused
   * offline while it may be inside its time window; the oldest is forgotten first.
   */
  settledCountersMax: 1_000,
});

export interface OutboxLimits {
  entriesMax: number;
  settledCountersMax: number;
}

/** The port. See the failure semantics at the top of this file. */
export interface OutboxStore {
  /** Stores one approved payment; resolves only when durable. */
  append(entry: OutboxEntry): Promise<void>;
  /** Stored entries, oldest first (append order). */
  list(): readonly OutboxEntry[];
  /** Removes entries the server answered for (settled or declined: both are final). */
  acknowledge(txIds: readonly string[]): Promise<void>;
  stats(): OutboxStats;
  /** True when this credential's counter is stored, or was settled recently (settledCountersMax). */
  hasCounter(credentialId: string, counter: number): boolean;
  /** Waits for pending writes and releases the store; later calls reject with STORE_CLOSED. */
  close(): Promise<void>;
}

// ---- errors -------------------------------------------------------------------------------------

/** Typed detail per code. */
export interface OutboxErrorDetails {
  OUTBOX_FULL: { count: number; entriesMax: number };
  DUPLICATE_TX: { txId: string };
  COUNTER_SEEN: { credentialId: string; counter: number };
  /** An earlier write failed; memory and disk may disagree until the store is reopened. */
  STORE_FAILED: { cause: string };
  STORE_CLOSED: Record<string, never>;
  /** On open: neither the main file nor its backup holds a valid outbox. The kiosk must not start empty. */
  STORE_CORRUPT: { path: string; problems: string[] };
}
export type OutboxErrorCode = keyof OutboxErrorDetails;

const MESSAGES: { [C in OutboxErrorCode]: (d: OutboxErrorDetails[C]) => string } = {
  OUTBOX_FULL: (d) => `outbox full: ${d.count} of ${d.entriesMax} entries stored`,
  DUPLICATE_TX: (d) => `txId ${d.txId} is already stored`,
  COUNTER_SEEN: (d) => `counter ${d.counter} of credential ${d.credentialId} was already taken`,
  STORE_FAILED: (d) => `outbox failed after a write error (${d.cause}); reopen it`,
  STORE_CLOSED: () => 'outbox closed',
  STORE_CORRUPT: (d) => `no valid outbox at ${d.path}: ${d.problems.join('; ')}`,
};

export class OutboxError<C extends OutboxErrorCode = OutboxErrorCode> extends Error {
  override readonly name = 'OutboxError';
  constructor(
    readonly code: C,
    readonly detail: OutboxErrorDetails[C],
  ) {
    super(MESSAGES[code](detail));
  }
}

export function isOutboxError<C extends OutboxErrorCode>(e: unknown, code: C): e is OutboxError<C> {
  return e instanceof OutboxError && e.code === code;
}
