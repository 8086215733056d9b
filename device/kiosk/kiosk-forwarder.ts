// SPDX-License-Identifier: Apache-2.0
// Forwarding on the running kiosk: one run at a time over outbox/forwarder.ts, progress for the
// screen and telemetry, declines kept durably in the kiosk state BEFORE they leave the outbox, a
// retry timer while payments wait, and the transaction ids the checkout could not void in time
// (voidLater) voided once the uplink is back.
import type { Logger } from 'pino';
import type { TimerHandle } from '../timers.ts';
import { nextOnlineStep, resultOfReply, type ReplyResult } from '../../shared/idempotent-retry.ts';
import type { KioskEventMessage } from '../../shared/kiosk-telemetry.ts';
import { CommandFailure } from './commands.ts';
import type { TimerPort } from './checkout-runner.ts';
import type { InflightLedger } from './inflight-ledger.ts';
import { DECLINED_KEPT_MAX, type DeclinedRecord } from './kiosk-state.ts';
import type { KioskStateWriter } from './state-writer.ts';
import { forwardOutbox, type ForwardReport } from '../outbox/forwarder.ts';
import type { OutboxStore } from '../outbox/outbox-store.ts';
import type { Uplink } from '../uplink/uplink.ts';

/** A pending void is sent once per pass; the next pass (the retry timer, a reconnect) tries again. */
const ONE_VOID_PER_PASS = { statusAttemptsMax: 1, voidAttemptsMax: 1 } as const;

type ForwardEvent = Omit<Extract<KioskEventMessage, { kind: 'forward' }>, 'v' | 'type' | 'at' | 'kind'>;

export interface KioskForwarderDeps {
  outbox: OutboxStore;
  state: KioskStateWriter;
  /** The txIds to void (voidLater). */
  ledger: InflightLedger;
  uplink: Pick<Uplink, 'connected' | 'request'>;
  newId: () => string;
  nowMs: () => number;
  log: Logger;
  onProgress: (p: ForwardEvent) => void;
  onDeclined: (r: DeclinedRecord) => void;
  /** Waits after RATE_LIMITED batches; default the system's. */
  timers?: TimerPort;
}

export class KioskForwarder {
  readonly #d: KioskForwarderDeps;
  #running: Promise<ForwardReport> | undefined;
  #progress: { done: number; total: number } | undefined;
  #retry: { timer: TimerHandle; timers: TimerPort } | undefined;
  #voiding: Promise<void> | undefined;
  #stopped = false;

  constructor(deps: KioskForwarderDeps) {
    this.#d = deps;
  }

  /** done of total while a run is going on. */
  get progress(): { done: number; total: number } | undefined {
    return this.#progress;
  }

  /** One forwarding run; a second call while one runs is refused (COMMAND_BUSY). */
  run(progress?: (done: number, total: number) => void): Promise<ForwardReport> {
    if (this.#running)
      return Promise.reject(
        new CommandFailure('COMMAND_BUSY', `already forwarding (${this.#progress?.done ?? 0} of ${this.#progress?.total ?? 0})`),
      );
    if (!this.#d.uplink.connected) return Promise.reject(new CommandFailure('COMMAND_FAILED', 'the uplink is down'));
    this.#running = this.#run(progress).finally(() => {
      this.#running = undefined;
      this.#progress = undefined;
    });
    return this.#running;
  }

  async #run(progress?: (done: number, total: number) => void): Promise<ForwardReport> {
    const d = this.#d;
    const total = d.outbox.stats().count;
    let settled = 0;
    let declined = 0;
    this.#progress = { done: 0, total };
    d.onProgress({ done: 0, total, settled, declined, finished: false });
    progress?.(0, total);
    const report = await forwardOutbox(
      d.outbox,
      { request: (r) => d.uplink.request(r) },
      {
        nextId: d.newId,
        ...(d.timers ? { timers: d.timers } : {}),
        held: (txId) => d.state.state.discarded.includes(txId),
        keepDeclined: async (items) => {
          const at = d.nowMs();
          const records: DeclinedRecord[] = items.map((p) => ({
            txId: p.txId,
            amount: { ...p.amount },
            capturedAt: p.capturedAt,
            reason: p.reason ?? 'INTERNAL',
            at,
          }));
          await d.state.update('settlement declines', (s) => ({ ...s, declined: [...s.declined, ...records].slice(-DECLINED_KEPT_MAX) }));
          for (const r of records) d.onDeclined(r);
        },
        onProgress: (p) => {
          settled = p.settled;
          declined = p.declined;
          const done = Math.min(total, total - p.remaining);
          this.#progress = { done, total };
          d.onProgress({ done, total, settled, declined, finished: false });
          progress?.(done, total);
        },
      },
    );
    const done = total - report.remaining;
    d.onProgress({
      done: Math.max(0, done),
      total,
      settled: report.settled.length,
      declined: report.declined.length,
      finished: true,
      end: report.end,
    });
    d.log.info(
      { end: report.end, settled: report.settled.length, declined: report.declined.length, remaining: report.remaining },
      'forwarding finished',
    );
    return report;
  }

  /** While payments wait and the uplink is up, tries again every `everyMs`. */
  scheduleRetry(everyMs: number, timers: TimerPort): void {
    if (this.#retry) return;
    const tick = () => {
      this.#retry = { timer: timers.setTimeout(tick, everyMs), timers };
      if (this.#d.uplink.connected && this.#d.ledger.toVoid.length > 0) {
        this.voidPending().catch((e: unknown) => this.#d.log.debug({ err: (e as Error).message }, 'pending voids not sent'));
      }
      if (this.#d.uplink.connected && this.#d.outbox.stats().count > 0 && !this.#running) {
        this.run().catch((e: unknown) => this.#d.log.debug({ err: (e as Error).message }, 'retry not started'));
      }
    };
    this.#retry = { timer: timers.setTimeout(tick, everyMs), timers };
  }

  /** Voids the handed-over txIds now if the uplink is up (else on the next connection); not after idle(). */
  voidSoon(): void {
    if (this.#stopped || !this.#d.uplink.connected) return;
    this.voidPending().catch((e: unknown) => this.#d.log.warn({ err: (e as Error).message }, 'pending voids failed'));
  }

  /** Voids the transaction ids the checkout handed over (voidLater); keeps those that got no answer. */
  voidPending(): Promise<void> {
    this.#voiding ??= this.#voidPending().finally(() => {
      this.#voiding = undefined;
    });
    return this.#voiding;
  }

  /**
   * One `void` per txId and pass, read by the idempotent-retry rule (shared/idempotent-retry.ts): a
   * txId leaves the list once its void ended it (voided, declined, or approved for a settled
   * payment); one whose void the server refused or answered unknown was not voided and stays. A
   * void without an answer (a timeout, RATE_LIMITED) ends the pass: the next one tries again.
   */
  async #voidPending(): Promise<void> {
    const d = this.#d;
    for (const txId of [...d.ledger.toVoid]) {
      if (!d.uplink.connected) return;
      let result: ReplyResult;
      try {
        result = resultOfReply('void', await d.uplink.request({ v: 1, type: 'void', id: d.newId(), txId }));
      } catch (e) {
        d.log.warn({ txId, err: (e as Error).message }, 'pending void not answered; kept');
        return;
      }
      if (result.kind === 'no-answer') {
        d.log.warn({ txId }, 'pending void not handled (rate limited); kept');
        return;
      }
      const n = nextOnlineStep('void', 1, result, ONE_VOID_PER_PASS);
      const answer = result.kind === 'refused' ? result.code : result.status;
      if (!('end' in n) || n.end === 'unresolved') {
        d.log.warn({ txId, answer }, 'pending void not done; kept');
        continue;
      }
      d.log.info({ txId, answer }, 'pending void answered');
      await d.ledger.voided(txId);
    }
  }

  /** Shutdown: no more retries or voids; resolves when no run is going on. */
  async idle(): Promise<void> {
    this.#stopped = true;
    if (this.#retry) this.#retry.timers.clearTimeout(this.#retry.timer);
    this.#retry = undefined;
    await this.#running?.catch(() => undefined);
  }
}
