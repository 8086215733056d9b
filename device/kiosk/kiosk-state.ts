// SPDX-License-Identifier: Apache-2.0
// The kiosk's small durable state, beside the outbox (which holds the money): its policy, the
// trusted clock's persisted lower bound, the last signed revocation list and catalog (so a kiosk that
// boots without uplink can still sell), when it last reached the server, transaction ids to void
// when the uplink returns, online payments in flight (voided after a power loss), offline payments declined while their
// outbox write was in doubt (never forwarded), and stored payments the server declined at settlement (kept for review).
// One lowdb document on our durable adapter (fsync, rename, backup, checksum: durable-json-adapter.ts);
// updates are serialised and coalesced: a burst of
// changes costs one write, and save() resolves when a write holding the change is on disk.
import { z } from 'zod';
import { catalogMessage } from '../../shared/catalog/catalog.ts';
import { revocationsMessage } from '../../shared/kiosk-messages.ts';
import { DEFAULT_KIOSK_POLICY, kioskPolicySchema, type KioskPolicy } from '../../shared/kiosk-policy.ts';
import { amountSchema, idSchema } from '../../shared/schemas.ts';
import type { Low } from 'lowdb';
import { openDurableLow, type DurableJsonAdapter, type DurableJsonOptions, type Recovery } from '../outbox/durable-json-adapter.ts';
import { SPEND_KEPT_MAX } from '../domain/offline/credential-spend.ts';

export const KIOSK_STATE_FORMAT = 'kioskpay-kiosk-state/1';
const KIOSK_STATE_BYTES_MAX = 4 * 1024 * 1024;
/** Declines kept for review at most; the oldest is dropped first (each was also reported as an event). */
export const DECLINED_KEPT_MAX = 1_000;
/** Transaction ids waiting to be voided at most (inflight-ledger.ts drops the oldest past it, logged). */
export const VOID_LATER_MAX = 1_000;
/** Online payments recorded as in flight at most (one checkout at a time: more is a bug, logged). */
export const INFLIGHT_MAX = 1_000;

export const declinedRecordSchema = z.strictObject({
  txId: idSchema,
  amount: amountSchema,
  capturedAt: z.number().finite(),
  reason: z.string().max(64),
  /** Server time when the kiosk learned of the decline. */
  at: z.number().finite(),
});
export type DeclinedRecord = z.infer<typeof declinedRecordSchema>;

/** An offline payment this kiosk stored, kept after forwarding for the per-credential counters. */
const spendRecordSchema = z.strictObject({
  txId: idSchema,
  credentialId: z.string().max(64),
  amount: amountSchema,
  capturedAt: z.number().finite(),
});

const bodySchema = z.strictObject({
  policy: kioskPolicySchema,
  /** TrustedClock.toState(), validated by TrustedClock.restore. */
  clock: z.unknown(),
  lastUplinkAtMs: z.number().finite().nullable(),
  revocations: revocationsMessage.nullable(),
  catalog: catalogMessage.nullable(),
  voidLater: z.array(idSchema).max(VOID_LATER_MAX),
  /** Online payments sent and not yet decided; after a power loss they are voided (moved to voidLater). */
  inflight: z.array(idSchema).max(INFLIGHT_MAX).default([]),
  /**
   * Offline payments the checkout gave up storing and declined: never forwarded, removed from the
   * outbox if their write landed (offline-desk.ts); absent in older files.
   */
  discarded: z.array(idSchema).max(VOID_LATER_MAX).default([]),
  declined: z.array(declinedRecordSchema).max(DECLINED_KEPT_MAX),
  /** Stored offline payments of the last 30 days (domain/offline/credential-spend.ts); absent in older files. */
  offlineSpend: z.array(spendRecordSchema).max(SPEND_KEPT_MAX).default([]),
});
export type KioskState = z.infer<typeof bodySchema>;

export function initialKioskState(policy: KioskPolicy = DEFAULT_KIOSK_POLICY): KioskState {
  return {
    policy,
    clock: null,
    lastUplinkAtMs: null,
    revocations: null,
    catalog: null,
    voidLater: [],
    inflight: [],
    discarded: [],
    declined: [],
    offlineSpend: [],
  };
}

/** What the running kiosk uses of the state store (the simulator has its own, on its simulated disk). */
export type KioskStatePort = Pick<KioskStateStore, 'state' | 'update'>;

export class KioskStateStore {
  readonly #db: Low<KioskState>;
  readonly #adapter: DurableJsonAdapter<KioskState>;
  /** The write in progress, and the one queued behind it (which carries every later change). */
  #writing: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;
  #closed = false;

  private constructor(db: Low<KioskState>, adapter: DurableJsonAdapter<KioskState>) {
    this.#db = db;
    this.#adapter = adapter;
  }

  /**
   * Opens the state file; a first start gets `initial`. A corrupt file with no good backup rejects
   * (STORE_CORRUPT). `onStep`: the durable adapter's test hook; throwing in it fails that write.
   */
  static async open(
    path: string,
    initial: KioskState,
    o: Pick<DurableJsonOptions, 'onStep'> = {},
  ): Promise<{ store: KioskStateStore; loaded: Recovery }> {
    const { db, adapter } = await openDurableLow(path, initial, (b) => bodySchema.parse(b), {
      format: KIOSK_STATE_FORMAT,
      bytesMax: KIOSK_STATE_BYTES_MAX,
      ...(o.onStep ? { onStep: o.onStep } : {}),
    });
    return { store: new KioskStateStore(db, adapter), loaded: adapter.recovery };
  }

  get state(): Readonly<KioskState> {
    return this.#db.data;
  }

  /** Changes the state in memory at once and resolves when it is durable. */
  update(change: (s: KioskState) => KioskState): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('kiosk state is closed'));
    this.#db.data = change(this.#db.data);
    this.#queued ??= this.#writing.then(
      () => {
        this.#queued = undefined;
        return this.#db.write();
      },
      () => {
        this.#queued = undefined;
        return this.#db.write();
      },
    );
    this.#writing = this.#queued;
    return this.#queued;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#writing.catch(() => undefined);
    await this.#adapter.close();
  }
}
