// SPDX-License-Identifier: Apache-2.0
// The kiosk's durable ledger of online payments whose outcome it does not hold (in the kiosk state):
// - in flight: a txId is recorded BEFORE its `pay` is sent and leaves once the server decided it (or
//   it went to be voided). Nobody saw one that is still here after a power loss approved, so at the
//   next start each is moved to be voided (a void refunds one the server did approve).
// - to void: txIds the checkout gave up on without an answer; kiosk-forwarder.ts voids them once the
//   uplink allows, and each leaves when the server answered its void.
// Both lists are bounded (INFLIGHT_MAX, VOID_LATER_MAX in kiosk-state.ts); past a bound the oldest
// txId is dropped with an error logged, as that many open payments means something else is broken.
import type { Logger } from 'pino';
import { INFLIGHT_MAX, VOID_LATER_MAX } from './kiosk-state.ts';
import type { KioskStateWriter } from './state-writer.ts';

/** What the checkout runner records in the ledger (checkout-runner.ts). */
export interface InflightRecords {
  /** Records `txId` as in flight; resolves once durable. Its `pay` is sent only then. */
  sending(txId: string): Promise<void>;
  /** `txId` is no longer in flight: the server decided it, or its `pay` was never sent. Resolves once durable. */
  decided(txId: string): Promise<void>;
  /** The checkout gave up on `txId`: to be voided, no longer in flight. Never rejects (a failed write is reported). */
  voidLater(txId: string): Promise<void>;
}

export interface InflightLedgerDeps {
  state: KioskStateWriter;
  log: Logger;
  /** A txId was durably queued to be voided: void it now if the uplink is up. */
  onVoidQueued: () => void;
  /** The list to void grew or shrank (the status reports its length). */
  onVoidsChanged?: () => void;
}

/** `list` with `txId` last (and only once), and what fell off past `max`. */
function appended(list: readonly string[], txId: string, max: number): { list: string[]; dropped: string[] } {
  const all = [...list.filter((t) => t !== txId), txId];
  const cut = Math.max(0, all.length - max);
  return { list: all.slice(cut), dropped: all.slice(0, cut) };
}

export class InflightLedger implements InflightRecords {
  readonly #d: InflightLedgerDeps;

  constructor(deps: InflightLedgerDeps) {
    this.#d = deps;
  }

  /** txIds to void, oldest first. */
  get toVoid(): readonly string[] {
    return this.#d.state.state.voidLater;
  }

  /**
   * At start: online payments that were in flight when the kiosk lost power are moved to be voided,
   * as soon as the uplink allows. Returns them.
   */
  recoverInterrupted(): readonly string[] {
    const interrupted = [...this.#d.state.state.inflight];
    if (interrupted.length === 0) return interrupted;
    this.#d.log.warn({ txIds: interrupted }, 'online payments interrupted by a restart will be voided');
    void this.#d.state.save('interrupted payments to void', (s) => {
      let voidLater = [...s.voidLater];
      for (const txId of s.inflight) voidLater = this.#bounded(voidLater, txId, VOID_LATER_MAX, 'to void');
      return { ...s, voidLater, inflight: [] };
    });
    return interrupted;
  }

  sending(txId: string): Promise<void> {
    return this.#d.state.update('payment in flight', (s) => ({
      ...s,
      inflight: this.#bounded(s.inflight, txId, INFLIGHT_MAX, 'in flight'),
    }));
  }

  decided(txId: string): Promise<void> {
    if (!this.#d.state.state.inflight.includes(txId)) return Promise.resolve();
    return this.#d.state.update('payment decided', (s) => ({ ...s, inflight: s.inflight.filter((t) => t !== txId) }));
  }

  async voidLater(txId: string): Promise<void> {
    const saved = await this.#d.state.save('payment to void', (s) => ({
      ...s,
      voidLater: this.#bounded(s.voidLater, txId, VOID_LATER_MAX, 'to void'),
      inflight: s.inflight.filter((t) => t !== txId),
    }));
    this.#d.onVoidsChanged?.();
    // Queued in memory either way; voided now only once durable, else with the next connection.
    if (saved) this.#d.onVoidQueued();
  }

  /** The server answered the void of `txId`: it leaves the list. Resolves once durable. */
  async voided(txId: string): Promise<void> {
    await this.#d.state.update('payment voided', (s) => ({ ...s, voidLater: s.voidLater.filter((t) => t !== txId) }));
    this.#d.onVoidsChanged?.();
  }

  #bounded(list: readonly string[], txId: string, max: number, what: string): string[] {
    const r = appended(list, txId, max);
    if (r.dropped.length > 0) this.#d.log.error({ dropped: r.dropped, max }, `more than ${max} payments ${what}: the oldest dropped`);
    return r.list;
  }
}
