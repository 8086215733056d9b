// SPDX-License-Identifier: Apache-2.0
// The kiosk's uplink to the payment server: request/response over MQTT 3.1.1 (QoS 1). Requests go
// to the kiosk's request topic; replies come back on its reply topic and are matched by `re`.
//
// Failure semantics, which the caller relies on:
// - UplinkOfflineError: not connected when asked; nothing was sent.
// - UplinkTimeoutError: no matching reply in time; the request may or may not have reached the
//   server (MQTT.js even resends an unacknowledged QoS 1 publish after a reconnect), so the caller
//   asks `status` for the same txId, then `void`s it. This class never re-sends, never invents new
//   ids and never deduplicates: idempotency belongs to the caller's txId.
// - UplinkClosedError: close() was called while the request was pending, or afterwards.
// - A RATE_LIMITED error reply means the server did not handle the request: the uplink sends the
//   SAME request again after the reply's retryAfterMs plus backoff with jitter (rate-limit-retry.ts),
//   within the one request deadline. Only when no resend fits is the RATE_LIMITED reply returned.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createConnection, isIP, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { MqttClient, type IClientOptions } from 'mqtt';
import pino, { type Logger } from 'pino';
import { systemClock, type Clock } from '../../shared/clock.ts';
import {
  answers, KIOSK_MESSAGE_BYTES_MAX, kioskReply, kioskRequest, parseJsonMessage,
  type ErrorReply, type KioskOperations, type KioskReply, type KioskRequest,
} from '../../shared/kiosk-messages.ts';
import { topics } from '../../shared/topics.ts';
import { systemTimers, type TimerHandle, type Timers } from '../timers.ts';
import { sendWithRateLimitRetry } from './rate-limit-retry.ts';

export interface UplinkOptions {
  /** `mqtt://host:port`, or `mqtts://host:port` with `tls`. */
  url: string;
  /** For mqtts://: the broker's CA, and this kiosk's client certificate (its CN is the kiosk id). */
  tls?: UplinkTls;
  kioskId: string;
  username: string;
  password: string;
  /** How long a request waits for its reply, in ms. Default 5000. */
  requestTimeoutMs?: number;
  /** How long connect() waits for the first connection (connected and subscribed), in ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Measures round trips (monotonic time); default the system clock. */
  clock?: Clock;
  logger?: Logger;
  /** The MQTT last will (the kiosk's offline status, retained). */
  will?: { topic: string; payload: string; retain: boolean };
  /** Topics subscribed (QoS 1) on every connection besides the reply topic: commands, broadcasts. */
  subscriptions?: readonly string[];
  /** A simulated network cable: while it is cut, connections fail and the current one is dropped. */
  link?: UplinkLink;
  /** Request deadlines and RATE_LIMITED backoff waits; default the system's. */
  timers?: Timers;
  /** Uniform in [0, 1): the backoff jitter; default Math.random. */
  random?: () => number;
}

export interface UplinkTls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The broker certificate's host name, when connecting by IP address. */
  servername?: string;
}

/** A network link the uplink's sockets go through; the simulated kiosk's "cut uplink" switch. */
export interface UplinkLink {
  isUp(): boolean;
  /** Calls fn whenever the link goes up or down; returns an unsubscribe function. */
  onChange(fn: (up: boolean) => void): () => void;
}

/** Every limit of the uplink, with its unit. */
export const UPLINK_DEFAULTS = Object.freeze({
  requestTimeoutMs: 5_000,
  connectTimeoutMs: 10_000,
  /** Wait between reconnection attempts, in ms (MQTT.js reconnectPeriod). */
  reconnectPeriodMs: 1_000,
  /** Wait for CONNACK on each attempt, in ms (MQTT.js connectTimeout). */
  connackTimeoutMs: 5_000,
  /** MQTT keepalive, in seconds: a dead link is noticed within about 1.5 times this. */
  keepaliveS: 20,
  /** Requests waiting for replies at once; one more is refused as a programmer error. */
  pendingRequestsMax: 64,
  /** How long close() waits for a clean MQTT DISCONNECT before dropping the socket, in ms. */
  closeGraceMs: 1_000,
});

export class UplinkError extends Error {}

/** No reply matched the request in time. Its fate is unknown: ask `status` for the same txId. */
export class UplinkTimeoutError extends UplinkError {
  override readonly name = 'UplinkTimeoutError';
  constructor(readonly requestId: string, readonly timeoutMs: number) {
    super(`no reply to request ${requestId} within ${timeoutMs} ms`);
  }
}

/** The uplink was closed; pending and later requests fail with this. */
export class UplinkClosedError extends UplinkError {
  override readonly name = 'UplinkClosedError';
  constructor() {
    super('uplink closed');
  }
}

/** Not connected to the broker: the request was not sent at all. */
export class UplinkOfflineError extends UplinkError {
  override readonly name = 'UplinkOfflineError';
  constructor() {
    super('uplink not connected; request not sent');
  }
}

/** connect() could not establish the first connection (refused credentials, ACL, or timeout). */
export class UplinkConnectError extends UplinkError {
  override readonly name = 'UplinkConnectError';
  /** The CONNACK return code when the broker refused the login (4 bad credentials, 5 not authorised). */
  constructor(message: string, readonly returnCode?: number) {
    super(message);
  }
}

type AnyReply = KioskReply;

interface Pending {
  readonly request: KioskRequest;
  readonly resolve: (reply: AnyReply) => void;
  readonly reject: (err: Error) => void;
  readonly timer: TimerHandle;
  readonly sentAtMs: number;
}

/** Parses `mqtt://host:port` and builds TCP sockets with TCP_NODELAY set from the start. */
function tcpStreamBuilder(url: string, link?: UplinkLink, tls?: UplinkTls): () => Socket {
  const parsed = new URL(url);
  const secure = parsed.protocol === 'mqtts:';
  if (parsed.protocol !== 'mqtt:' && parsed.protocol !== 'tcp:' && !secure) {
    throw new Error(`unsupported uplink URL ${JSON.stringify(url)}: use mqtt://host:port or mqtts://host:port`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = parsed.port ? Number(parsed.port) : secure ? 8883 : 1883;
  return () => {
    // A cut link: a socket that fails at once, as a connect without a network does.
    if (link && !link.isUp()) {
      const dead = new Socket();
      process.nextTick(() => dead.destroy(Object.assign(new Error('uplink cut (simulated)'), { code: 'ENETUNREACH' })));
      return dead;
    }
    // Certificates are always verified (never rejectUnauthorized: false).
    const socket = secure
      ? tlsConnect({ host, port, ...(tls?.ca ? { ca: tls.ca } : {}), ...(tls?.cert ? { cert: tls.cert } : {}), ...(tls?.key ? { key: tls.key } : {}), ...(tls?.servername ?? (isIP(host) ? undefined : host) ? { servername: tls?.servername ?? host } : {}) })
      : createConnection({ host, port, noDelay: true });
    // Explicit as well: Nagle's algorithm costs 40-90 ms per round trip on loopback (docs pitfalls).
    socket.setNoDelay(true);
    return socket;
  };
}

export class MqttUplink {
  readonly #client: MqttClient;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #requestTimeoutMs: number;
  readonly #requestTopic: string;
  readonly #replyTopic: string;
  readonly #pending = new Map<string, Pending>();
  readonly #events = new EventEmitter();
  readonly #subscriptions: readonly string[];
  readonly #unlink: (() => void) | undefined;
  readonly #timers: Timers;
  readonly #random: () => number;
  /** Backoff waits of RATE_LIMITED requests; close() ends them. */
  readonly #waits = new Set<() => void>();
  /** Connected and subscribed to the reply topic: only then are requests sent. */
  #ready = false;
  #closing: Promise<void> | undefined;
  /** The last MQTT error seen, so a broker that stays down does not log once a second. */
  #lastError = '';

  private constructor(o: UplinkOptions) {
    this.#clock = o.clock ?? systemClock;
    this.#timers = o.timers ?? systemTimers;
    this.#random = o.random ?? Math.random;
    this.#requestTimeoutMs = o.requestTimeoutMs ?? UPLINK_DEFAULTS.requestTimeoutMs;
    if (!(Number.isFinite(this.#requestTimeoutMs) && this.#requestTimeoutMs > 0)) throw new Error(`requestTimeoutMs must be positive, not ${o.requestTimeoutMs}`);
    this.#requestTopic = topics.kioskRequests(o.kioskId);
    this.#replyTopic = topics.kioskReplies(o.kioskId);
    this.#log = (o.logger ?? pino({ level: 'silent' })).child({ component: 'uplink', kioskId: o.kioskId });
    this.#subscriptions = [...(o.subscriptions ?? [])];
    const options: IClientOptions = {
      protocolVersion: 4,
      clean: true,
      // Random suffix: two programs of one kiosk (daemon and CLI) must not take each other over.
      clientId: `kp-${o.kioskId}-${randomBytes(4).toString('hex')}`,
      username: o.username,
      password: o.password,
      keepalive: UPLINK_DEFAULTS.keepaliveS,
      reconnectPeriod: UPLINK_DEFAULTS.reconnectPeriodMs,
      reconnectOnConnackError: true,
      connectTimeout: UPLINK_DEFAULTS.connackTimeoutMs,
      // We subscribe on every connection ourselves, so 'connected' means replies can arrive.
      resubscribe: false,
      queueQoSZero: false,
      manualConnect: true,
      ...(o.will ? { will: { topic: o.will.topic, payload: Buffer.from(o.will.payload), qos: 1 as const, retain: o.will.retain } } : {}),
    };
    this.#client = new MqttClient(tcpStreamBuilder(o.url, o.link, o.tls), options);
    // Cutting the link drops the connection as a pulled cable would (the broker then sends the will).
    this.#unlink = o.link?.onChange((up) => {
      if (!up) this.#client.stream?.destroy();
    });
    this.#client.on('connect', () => this.#onConnect());
    this.#client.on('close', () => this.#onClose());
    this.#client.on('message', (topic, payload, packet) => this.#onMessage(topic, payload, packet));
    this.#client.on('error', (err) => this.#onError(err));
    this.#client.connect();
  }

  /**
   * Starts connecting in the background and returns at once; the uplink keeps reconnecting and
   * emits 'connected' each time it is usable. For a kiosk that must boot without its uplink.
   */
  static open(o: UplinkOptions): MqttUplink {
    return new MqttUplink(o);
  }

  /** Connects and subscribes; rejects with UplinkConnectError on refused credentials or after connectTimeoutMs. */
  static async connect(o: UplinkOptions): Promise<MqttUplink> {
    const uplink = new MqttUplink(o);
    try {
      await uplink.#firstConnection(o.connectTimeoutMs ?? UPLINK_DEFAULTS.connectTimeoutMs, o.url);
      return uplink;
    } catch (e) {
      await uplink.close();
      throw e;
    }
  }

  /** Connected to the broker and subscribed to this kiosk's replies. */
  get connected(): boolean {
    return this.#ready && this.#client.connected;
  }

  /** Requests waiting for their reply. */
  get pendingRequests(): number {
    return this.#pending.size;
  }

  on(event: 'connected' | 'disconnected', listener: () => void): this;
  /** Messages on the extra subscriptions (never the reply topic), raw: the listener validates. */
  on(event: 'message', listener: (topic: string, payload: Buffer, retained: boolean) => void): this;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string, listener: (...args: any[]) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off(event: 'connected' | 'disconnected' | 'message', listener: (...args: any[]) => void): this {
    this.#events.off(event, listener);
    return this;
  }

  /**
   * Publishes one message (QoS 1) and resolves when the broker acknowledged it. Rejects with
   * UplinkOfflineError when not connected (nothing sent), UplinkClosedError after close().
   */
  publish(topic: string, payload: string, o: { retain?: boolean } = {}): Promise<void> {
    if (this.#closing) return Promise.reject(new UplinkClosedError());
    if (!this.connected) return Promise.reject(new UplinkOfflineError());
    return new Promise<void>((resolve, reject) => {
      this.#client.publish(topic, payload, { qos: 1, retain: o.retain ?? false }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Sends one request (QoS 1) and resolves with the reply whose `re` is its id: the reply type for
   * its operation, or an error reply. Rejects with UplinkOfflineError, UplinkTimeoutError or
   * UplinkClosedError (see the top of this file). A malformed request, a duplicate pending id or
   * more than pendingRequestsMax pending requests are programmer errors and reject with Error.
   */
  request<K extends keyof KioskOperations>(req: KioskOperations[K]['request'] & { type: K }): Promise<KioskOperations[K]['reply'] | ErrorReply> {
    if (this.#closing) return Promise.reject(new UplinkClosedError());
    const checked = kioskRequest.safeParse(req);
    if (!checked.success) return Promise.reject(new Error(`invalid ${String(req.type)} request: ${checked.error.issues[0]?.message ?? 'schema mismatch'}`));
    if (this.#pending.has(req.id)) return Promise.reject(new Error(`request id ${req.id} is already pending`));
    if (this.#pending.size >= UPLINK_DEFAULTS.pendingRequestsMax) return Promise.reject(new Error(`more than ${UPLINK_DEFAULTS.pendingRequestsMax} requests pending`));
    const payload = JSON.stringify(req);
    if (Buffer.byteLength(payload) > KIOSK_MESSAGE_BYTES_MAX) return Promise.reject(new Error(`request of ${Buffer.byteLength(payload)} bytes exceeds ${KIOSK_MESSAGE_BYTES_MAX}`));
    const request = checked.data;
    return sendWithRateLimitRetry((timeoutMs) => this.#sendOnce(request, payload, timeoutMs), this.#requestTimeoutMs, {
      timers: this.#timers,
      random: this.#random,
      waits: this.#waits,
    }) as Promise<KioskOperations[K]['reply'] | ErrorReply>;
  }

  /** One attempt: publishes and waits at most timeoutMs for the reply. */
  #sendOnce(req: KioskRequest, payload: string, timeoutMs: number): Promise<AnyReply> {
    if (this.#closing) return Promise.reject(new UplinkClosedError());
    if (!this.connected) return Promise.reject(new UplinkOfflineError());
    return new Promise<AnyReply>((resolve, reject) => {
      const timer = this.#timers.setTimeout(() => {
        this.#pending.delete(req.id);
        this.#log.warn({ id: req.id, type: req.type, timeoutMs: this.#requestTimeoutMs }, 'request timed out');
        reject(new UplinkTimeoutError(req.id, this.#requestTimeoutMs));
      }, timeoutMs);
      this.#pending.set(req.id, { request: req, resolve, reject, timer, sentAtMs: this.#clock.monotonicMs() });
      this.#client.publish(this.#requestTopic, payload, { qos: 1 }, (err) => {
        // The request may or may not have left: leave it pending, so it ends as a reply or a timeout.
        if (err) this.#log.warn({ id: req.id, type: req.type, err: err.message }, 'publish failed');
      });
    });
  }

  /** Subscribes to `topic` again, so the broker re-sends its retained message. */
  resubscribe(topic: string): Promise<void> {
    if (!this.connected) return Promise.reject(new UplinkOfflineError());
    return new Promise<void>((resolve, reject) => {
      this.#client.unsubscribe(topic, () => {
        this.#client.subscribe(topic, { qos: 1 }, (err) => (err ? reject(err) : resolve()));
      });
    });
  }

  /** Rejects pending requests with UplinkClosedError and disconnects. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#unlink?.();
      for (const end of [...this.#waits]) end();
      for (const [id, p] of this.#pending) {
        this.#timers.clearTimeout(p.timer);
        this.#pending.delete(id);
        p.reject(new UplinkClosedError());
      }
      const wasReady = this.#ready;
      this.#ready = false;
      // Connected: a clean DISCONNECT once in-flight publishes are acknowledged, but never longer
      // than closeGraceMs (MQTT.js would wait for ever on a silent broker). Otherwise: drop at once.
      const graceful = this.#client.connected;
      await new Promise<void>((resolve) => {
        const fallback = setTimeout(() => {
          this.#client.stream?.destroy();
          resolve();
        }, UPLINK_DEFAULTS.closeGraceMs);
        this.#client.end(!graceful, () => {
          clearTimeout(fallback);
          resolve();
        });
      });
      if (wasReady) this.#events.emit('disconnected');
      this.#log.info('uplink closed');
    })();
    return this.#closing;
  }

  #firstConnection(timeoutMs: number, url: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let lastError = '';
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.#events.off('connected', onConnected);
        this.#events.off('refused', onRefused);
        this.#client.off('error', onError);
        if (err) reject(err);
        else resolve();
      };
      const onConnected = () => done();
      const onRefused = (err: Error) => done(err);
      const onError = (err: Error & { code?: unknown }) => {
        lastError = err.message;
        // Bad credentials or not authorised: waiting will not help.
        if (err.code === 4 || err.code === 5) done(new UplinkConnectError(`broker at ${url} refused the login: ${err.message}`, err.code));
      };
      const timer = setTimeout(() => done(new UplinkConnectError(`could not connect to ${url} within ${timeoutMs} ms${lastError ? ` (${lastError})` : ''}`)), timeoutMs);
      this.#events.on('connected', onConnected);
      this.#events.on('refused', onRefused);
      this.#client.on('error', onError);
    });
  }

  #onConnect(): void {
    const wanted = [this.#replyTopic, ...this.#subscriptions];
    this.#client.subscribe(wanted, { qos: 1 }, (err, granted) => {
      if (this.#closing || !this.#client.connected) return;
      const code = granted?.find((g) => g.topic === this.#replyTopic)?.qos;
      if (err || code === undefined || code === 128) {
        this.#log.error({ topic: this.#replyTopic, err: err?.message }, 'broker refused the reply subscription (check the kiosk identity and ACL)');
        this.#events.emit('refused', new UplinkConnectError(`broker refused the subscription to ${this.#replyTopic}`));
        return;
      }
      for (const g of granted ?? []) {
        if (g.qos === 128) this.#log.error({ topic: g.topic }, 'broker refused a subscription (check the ACL)');
      }
      this.#ready = true;
      this.#lastError = '';
      this.#log.info('uplink connected');
      this.#events.emit('connected');
    });
  }

  /** Logs an error at warn the first time, then at debug while it repeats (one per reconnect attempt). */
  #onError(err: Error & { code?: unknown }): void {
    const key = `${String(err.code)} ${err.message}`;
    const level = key === this.#lastError ? 'debug' : 'warn';
    this.#lastError = key;
    this.#log[level]({ err: err.message, code: err.code }, 'mqtt error');
  }

  #onClose(): void {
    if (!this.#ready) return;
    this.#ready = false;
    this.#log.warn({ pending: this.#pending.size }, 'uplink disconnected');
    this.#events.emit('disconnected');
  }

  #onMessage(topic: string, payload: Buffer, packet?: { retain?: boolean }): void {
    if (topic !== this.#replyTopic) {
      this.#events.emit('message', topic, payload, packet?.retain === true);
      return;
    }
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
    this.#pending.delete(reply.re!);
    this.#log.debug({ id: reply.re, type: reply.type, roundTripMs: this.#clock.monotonicMs() - pending.sentAtMs }, 'reply');
    pending.resolve(reply);
  }
}
