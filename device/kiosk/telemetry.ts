// SPDX-License-Identifier: Apache-2.0
// The kiosk's telemetry (docs/protocol.md section 8): its retained status, republished on change
// (at most once per STATUS_MIN_INTERVAL_MS) and on every heartbeat, and its events. Events raised
// while the uplink is down wait in a bounded memory queue and go out, in order, when it returns;
// past the bound the oldest are dropped and counted (the status and the outbox remain the record).
import type { Logger } from 'pino';
import type { TimerHandle } from '../timers.ts';
import type { KioskEventMessage, OnlineStatus } from '../../shared/kiosk-telemetry.ts';
import { topics } from '../../shared/topics.ts';
import type { Uplink } from '../uplink/uplink.ts';
import type { TimerPort } from './checkout-runner.ts';

export const STATUS_MIN_INTERVAL_MS = 1_000;
export const EVENTS_QUEUED_MAX = 500;

type EventBody = KioskEventMessage extends infer E ? (E extends unknown ? Omit<E, 'v' | 'type' | 'at'> : never) : never;

export interface TelemetryDeps {
  kioskId: string;
  uplink: Pick<Uplink, 'connected' | 'publish'>;
  /** The current status (online form) without `seq`; called whenever one is published. */
  snapshot: () => Omit<OnlineStatus, 'seq'>;
  /** Server time estimate for event stamps. */
  nowMs: () => number;
  heartbeatMs: number;
  timers: TimerPort;
  log: Logger;
}

export class Telemetry {
  readonly #d: TelemetryDeps;
  #seq = 0;
  #lastSentMono = -Infinity;
  #pendingTimer: TimerHandle | undefined;
  #heartbeat: TimerHandle | undefined;
  readonly #queue: string[] = [];
  #dropped = 0;
  #flushing = false;
  #stopped = false;
  readonly #monotonic: () => number;

  constructor(deps: TelemetryDeps, monotonicMs: () => number) {
    this.#d = deps;
    this.#monotonic = monotonicMs;
  }

  start(): void {
    const beat = () => {
      this.#heartbeat = this.#d.timers.setTimeout(beat, this.#d.heartbeatMs);
      this.publishStatus();
    };
    this.#heartbeat = this.#d.timers.setTimeout(beat, this.#d.heartbeatMs);
  }

  /** Something in the status changed: publish soon (coalesced). */
  changed(): void {
    if (this.#stopped || this.#pendingTimer !== undefined) return;
    const wait = Math.max(0, this.#lastSentMono + STATUS_MIN_INTERVAL_MS - this.#monotonic());
    this.#pendingTimer = this.#d.timers.setTimeout(() => {
      this.#pendingTimer = undefined;
      this.publishStatus();
    }, wait);
  }

  /** Publishes the status now (retained) if connected; returns the message it built. */
  publishStatus(): OnlineStatus {
    const status: OnlineStatus = { ...this.#d.snapshot(), seq: this.#seq++ };
    if (this.#stopped || !this.#d.uplink.connected) return status;
    this.#lastSentMono = this.#monotonic();
    this.#d.uplink
      .publish(topics.kioskStatus(this.#d.kioskId), JSON.stringify(status), { retain: true })
      .catch((e: unknown) => this.#d.log.debug({ err: (e as Error).message }, 'status not published'));
    return status;
  }

  event(body: EventBody): void {
    if (this.#stopped) return;
    const message = JSON.stringify({ v: 1, type: 'event', at: this.#d.nowMs(), ...body });
    if (this.#queue.length >= EVENTS_QUEUED_MAX) {
      this.#queue.shift();
      this.#dropped++;
    }
    this.#queue.push(message);
    void this.flush();
  }

  get droppedEvents(): number {
    return this.#dropped;
  }

  /** Sends queued events in order while connected; called on every (re)connection too. */
  async flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#queue.length > 0 && this.#d.uplink.connected && !this.#stopped) {
        try {
          await this.#d.uplink.publish(topics.kioskEvents(this.#d.kioskId), this.#queue[0]!);
          this.#queue.shift();
        } catch {
          break;
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  stop(): void {
    this.#stopped = true;
    for (const t of [this.#pendingTimer, this.#heartbeat]) if (t !== undefined) this.#d.timers.clearTimeout(t);
  }

  /** After stop(): the retained status says the kiosk shut down (its last will says "connection lost" instead). Never rejects. */
  async publishShutdown(firmware: string): Promise<void> {
    if (!this.#d.uplink.connected) return;
    const offline = { v: 1, type: 'status', state: 'offline', reason: 'shutdown', firmware };
    await this.#d.uplink.publish(topics.kioskStatus(this.#d.kioskId), JSON.stringify(offline), { retain: true }).catch(() => undefined);
  }
}
