// SPDX-License-Identifier: Apache-2.0
// What every uplink adapter does between a request and its reply, written once: the checks for
// programmer errors, the table of pending requests with a deadline each on the injected timers,
// matching a reply to its request (shared/kiosk-messages.ts `answers`), and the RATE_LIMITED resends
// (rate-limit-retry.ts). An adapter supplies only the transport: whether it is connected or closed,
// and how a request's bytes leave.
import pino, { type Logger } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import {
  answers,
  KIOSK_MESSAGE_BYTES_MAX,
  kioskReply,
  kioskRequest,
  parseJsonMessage,
  type KioskReply,
  type KioskRequest,
} from '../../shared/kiosk-messages.ts';
import type { TimerHandle, Timers } from '../timers.ts';
import { sendWithRateLimitRetry } from './rate-limit-retry.ts';
import { UplinkClosedError, UplinkOfflineError, UplinkTimeoutError } from './uplink.ts';

/** The request limits of every adapter, with their units. */
export const REQUEST_DEFAULTS = Object.freeze({
  /** How long a request waits for its reply (resends after RATE_LIMITED included), in ms. */
  requestTimeoutMs: 5_000,
  /** Requests waiting for replies at once; one more is refused as a programmer error. */
  pendingRequestsMax: 64,
});

export interface PendingRequestsOptions {
  /** Deadlines and RATE_LIMITED backoff waits. */
  timers: Timers;
  /** Uniform in [0, 1): the backoff jitter. */
  random: () => number;
  /** Default REQUEST_DEFAULTS.requestTimeoutMs. */
  requestTimeoutMs?: number | undefined;
  /** Measures round trips for the debug log; default the timers' clock. */
  clock?: Pick<Clock, 'monotonicMs'> | undefined;
  logger?: Logger | undefined;
}

/** The adapter's side: its state, and one attempt at putting a request's bytes on the wire. */
export interface RequestTransport {
  closed(): boolean;
  connected(): boolean;
  /** Sends the bytes; a failure to send is the adapter's to log (the request then ends by its deadline). */
  send(request: KioskRequest, payload: string): void;
}

interface Pending {
  readonly request: KioskRequest;
  readonly resolve: (reply: KioskReply) => void;
  readonly reject: (err: Error) => void;
  readonly timer: TimerHandle;
  readonly sentAtMs: number;
}

export class PendingRequests {
  readonly #pending = new Map<string, Pending>();
  /** Backoff waits of RATE_LIMITED requests; rejectAll() ends them. */
  readonly #waits = new Set<() => void>();
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #clock: Pick<Clock, 'monotonicMs'>;
  readonly #log: Logger;
  readonly requestTimeoutMs: number;

  constructor(o: PendingRequestsOptions) {
    this.#timers = o.timers;
    this.#random = o.random;
    this.#clock = o.clock ?? { monotonicMs: () => o.timers.now() };
    this.#log = o.logger ?? pino({ level: 'silent' });
    this.requestTimeoutMs = o.requestTimeoutMs ?? REQUEST_DEFAULTS.requestTimeoutMs;
    if (!(Number.isFinite(this.requestTimeoutMs) && this.requestTimeoutMs > 0))
      throw new Error(`requestTimeoutMs must be positive, not ${o.requestTimeoutMs}`);
  }

  get size(): number {
    return this.#pending.size;
  }

  /**
   * One request through `transport`, resent after RATE_LIMITED replies within its deadline. Rejects
   * with UplinkClosedError, UplinkOfflineError, UplinkTimeoutError, or a plain Error for a
   * programmer error (malformed request, duplicate pending id, too many pending, oversized).
   */
  request(req: KioskRequest, transport: RequestTransport): Promise<KioskReply> {
    if (transport.closed()) return Promise.reject(new UplinkClosedError());
    const checked = kioskRequest.safeParse(req);
    if (!checked.success)
      return Promise.reject(new Error(`invalid ${String(req.type)} request: ${checked.error.issues[0]?.message ?? 'schema mismatch'}`));
    if (this.#pending.has(req.id)) return Promise.reject(new Error(`request id ${req.id} is already pending`));
    if (this.#pending.size >= REQUEST_DEFAULTS.pendingRequestsMax)
      return Promise.reject(new Error(`more than ${REQUEST_DEFAULTS.pendingRequestsMax} requests pending`));
    const payload = JSON.stringify(req);
    if (Buffer.byteLength(payload) > KIOSK_MESSAGE_BYTES_MAX)
      return Promise.reject(new Error(`request of ${Buffer.byteLength(payload)} bytes exceeds ${KIOSK_MESSAGE_BYTES_MAX}`));
    const request = checked.data;
    return sendWithRateLimitRetry((timeoutMs) => this.#sendOnce(request, payload, timeoutMs, transport), this.requestTimeoutMs, {
      timers: this.#timers,
      random: this.#random,
      waits: this.#waits,
    });
  }

  /** One attempt: sends and waits at most timeoutMs for the reply. */
  #sendOnce(req: KioskRequest, payload: string, timeoutMs: number, transport: RequestTransport): Promise<KioskReply> {
    if (transport.closed()) return Promise.reject(new UplinkClosedError());
    if (!transport.connected()) return Promise.reject(new UplinkOfflineError());
    return new Promise<KioskReply>((resolve, reject) => {
      const timer = this.#timers.setTimeout(() => {
        this.#pending.delete(req.id);
        this.#log.warn({ id: req.id, type: req.type, timeoutMs: this.requestTimeoutMs }, 'request timed out');
        reject(new UplinkTimeoutError(req.id, this.requestTimeoutMs));
      }, timeoutMs);
      this.#pending.set(req.id, { request: req, resolve, reject, timer, sentAtMs: this.#clock.monotonicMs() });
      transport.send(req, payload);
    });
  }

  /**
   * A message on the reply topic: resolves the pending request it answers. Anything else (not a
   * valid reply, no pending request of that id, not an answer to it) is dropped and logged, without
   * its payload.
   */
  receive(payload: Uint8Array): void {
    const parsed = parseJsonMessage(kioskReply, payload);
    if (!parsed.ok) {
      this.#log.warn({ code: parsed.code, reason: parsed.message, bytes: payload.length }, 'invalid reply dropped');
      return;
    }
    const reply = parsed.value;
    const pending = reply.re === null ? undefined : this.#pending.get(reply.re);
    if (!pending) {
      this.#log.info({ re: reply.re, type: reply.type }, 'reply matches no pending request; dropped');
      return;
    }
    if (!answers(pending.request, reply)) {
      this.#log.warn({ re: reply.re, type: reply.type, requestType: pending.request.type }, 'reply does not answer its request; dropped');
      return;
    }
    this.#timers.clearTimeout(pending.timer);
    this.#pending.delete(pending.request.id);
    this.#log.debug({ id: pending.request.id, type: reply.type, roundTripMs: this.#clock.monotonicMs() - pending.sentAtMs }, 'reply');
    pending.resolve(reply);
  }

  /** Ends every pending request and backoff wait with `err` (close()), clearing their timers. */
  rejectAll(err: () => Error): void {
    for (const end of [...this.#waits]) end();
    for (const [id, p] of this.#pending) {
      this.#timers.clearTimeout(p.timer);
      this.#pending.delete(id);
      p.reject(err());
    }
  }

  /** Forgets every pending request without settling it, clearing their timers (a simulated power loss). */
  abandon(): void {
    for (const p of this.#pending.values()) this.#timers.clearTimeout(p.timer);
    this.#pending.clear();
  }
}
