// SPDX-License-Identifier: Apache-2.0
// Every change the running kiosk makes to its durable state (kiosk-state.ts) goes through here, so
// that no failed write goes unnoticed and none ends the process. Many changes are made without
// waiting for them (a new catalog, the clock's bound, the offline spend): a rejected write left
// unhandled there would end the kiosk's Node process and stop its sales over one disk error. So:
// - save(): for a change nobody waits for. Never rejects; resolves true once durable, false if not.
// - update(): for a change whose caller must know it landed (a command's answer, a record that
//   must be on disk before money moves). Rejects as the store does.
// Either way a failed write is logged with what it was for and reported once (report(true): the
// kiosk's `state-not-saved` fault event) until a write lands again (report(false)). The change stays
// in memory and goes to disk with the next write.
import type { Logger } from 'pino';
import { spendRecords, withSpend } from '../domain/offline/credential-spend.ts';
import type { OutboxStore } from '../outbox/outbox-store.ts';
import { VOID_LATER_MAX, type KioskState, type KioskStatePort } from './kiosk-state.ts';
import type { OfflineDeskDeps } from './offline-desk.ts';

/** The kiosk's fault event (telemetry `fault`) while its state cannot be saved. */
export const STATE_NOT_SAVED = 'state-not-saved';

export class KioskStateWriter {
  readonly #store: KioskStatePort;
  readonly #log: Logger;
  readonly #report: (raised: boolean) => void;
  #failing = false;

  constructor(store: KioskStatePort, log: Logger, report: (raised: boolean) => void) {
    this.#store = store;
    this.#log = log;
    this.#report = report;
  }

  get state(): Readonly<KioskState> {
    return this.#store.state;
  }

  /** Whether the last write failed (and none has landed since). */
  get failing(): boolean {
    return this.#failing;
  }

  /** A change whose caller must know it is durable: rejects when its write failed (logged and reported too). */
  update(what: string, change: (s: KioskState) => KioskState): Promise<void> {
    return this.#store.update(change).then(
      () => this.#landed(),
      (e: unknown) => {
        this.#failed(what, e);
        throw e;
      },
    );
  }

  /** A change nobody waits for: resolves true once durable, false when its write failed (logged and reported). */
  save(what: string, change: (s: KioskState) => KioskState): Promise<boolean> {
    let written: Promise<void>;
    try {
      written = this.#store.update(change);
    } catch (e) {
      written = Promise.reject(e);
    }
    return written.then(
      () => {
        this.#landed();
        return true;
      },
      (e: unknown) => {
        this.#failed(what, e);
        return false;
      },
    );
  }

  #landed(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#log.info('kiosk state saved again');
    this.#report(false);
  }

  #failed(what: string, e: unknown): void {
    this.#log.error({ what, err: e instanceof Error ? e.message : String(e) }, 'kiosk state not saved');
    if (this.#failing) return;
    this.#failing = true;
    this.#report(true);
  }
}

/** What the offline desk reads and keeps in the kiosk state: the policy, the last uplink, the spend, the discarded txIds. */
export function deskRecords(
  state: KioskStateWriter,
  outbox: Pick<OutboxStore, 'list'>,
): Pick<OfflineDeskDeps, 'policy' | 'lastUplinkAtMs' | 'spend' | 'discarded'> {
  return {
    policy: () => state.state.policy,
    lastUplinkAtMs: () => state.state.lastUplinkAtMs,
    spend: {
      records: () => spendRecords(outbox.list(), state.state.offlineSpend, new Set(state.state.declined.map((r) => r.txId))),
      note: (r) => {
        void state.save('offline spend', (s) => ({ ...s, offlineSpend: withSpend(s.offlineSpend, r, r.capturedAt) }));
      },
    },
    discarded: {
      has: (txId) => state.state.discarded.includes(txId),
      list: () => state.state.discarded,
      add: (txId) =>
        state.update('discarded payment', (s) => ({
          ...s,
          discarded: [...s.discarded.filter((t) => t !== txId), txId].slice(-VOID_LATER_MAX),
        })),
      drop: (txIds) =>
        state.update('discarded payments removed', (s) => ({ ...s, discarded: s.discarded.filter((t) => !txIds.includes(t)) })),
    },
  };
}
