// SPDX-License-Identifier: Apache-2.0
// The real Uplink adapter (uplink.ts, whose top says what a caller may rely on): request/reply over
// MQTT 3.1.1 (QoS 1). Requests go to the kiosk's request topic; replies come back on its reply topic
// and are matched by `re` (pending-requests.ts). A request that timed out may still reach the server:
// MQTT.js even resends an unacknowledged QoS 1 publish after a reconnect.
//
// Time: request deadlines, RATE_LIMITED waits, connect()'s deadline and close()'s grace run on the
// injected timers. MQTT.js keeps its own timers for what happens on the wire (the reconnect period,
// the keepalive, the CONNACK wait), listed in UPLINK_DEFAULTS.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createConnection, isIP, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { MqttClient, type IClientOptions } from 'mqtt';
import pino, { type Logger } from 'pino';
import { systemClock, type Clock } from '../../shared/clock.ts';
import type { ErrorReply, KioskOperations, KioskRequest } from '../../shared/kiosk-messages.ts';
import { topics } from '../../shared/topics.ts';
import { systemTimers, type Timers } from '../timers.ts';
import { PendingRequests, REQUEST_DEFAULTS } from './pending-requests.ts';
import { UplinkClosedError, UplinkConnectError, UplinkOfflineError, type Uplink, type UplinkEvent } from './uplink.ts';

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
  /** Request deadlines, RATE_LIMITED backoff waits, connect()'s deadline and close()'s grace; default the system's. */
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
  ...REQUEST_DEFAULTS,
  connectTimeoutMs: 10_000,
  /** Wait between reconnection attempts, in ms (MQTT.js reconnectPeriod). */
  reconnectPeriodMs: 1_000,
  /** Wait for CONNACK on each attempt, in ms (MQTT.js connectTimeout). */
  connackTimeoutMs: 5_000,
  /** MQTT keepalive, in seconds: a dead link is noticed within about 1.5 times this. */
  keepaliveS: 20,
  /** How long close() waits for a clean MQTT DISCONNECT before dropping the socket, in ms. */
  closeGraceMs: 1_000,
});

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
      ? tlsConnect({
          host,
          port,
          ...(tls?.ca ? { ca: tls.ca } : {}),
          ...(tls?.cert ? { cert: tls.cert } : {}),
          ...(tls?.key ? { key: tls.key } : {}),
          ...((tls?.servername ?? (isIP(host) ? undefined : host)) ? { servername: tls?.servername ?? host } : {}),
        })
      : createConnection({ host, port, noDelay: true });
    // Explicit as well: Nagle's algorithm costs 40-90 ms per round trip on loopback (docs pitfalls).
    socket.setNoDelay(true);
    return socket;
  };
}

export class MqttUplink implements Uplink {
  readonly #client: MqttClient;
  readonly #log: Logger;
  readonly #requestTopic: string;
  readonly #replyTopic: string;
  readonly #requests: PendingRequests;
  readonly #events = new EventEmitter();
  readonly #subscriptions: readonly string[];
  readonly #unlink: (() => void) | undefined;
  readonly #timers: Timers;
  /** Connected and subscribed to the reply topic: only then are requests sent. */
  #ready = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** The last MQTT error seen, so a broker that stays down does not log once a second. */
  #lastError = '';

  private constructor(o: UplinkOptions) {
    this.#timers = o.timers ?? systemTimers;
    this.#requestTopic = topics.kioskRequests(o.kioskId);
    this.#replyTopic = topics.kioskReplies(o.kioskId);
    this.#log = (o.logger ?? pino({ level: 'silent' })).child({ component: 'uplink', kioskId: o.kioskId });
    this.#requests = new PendingRequests({
      timers: this.#timers,
      random: o.random ?? Math.random,
      requestTimeoutMs: o.requestTimeoutMs,
      clock: o.clock ?? systemClock,
      logger: this.#log,
    });
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

  get connected(): boolean {
    return this.#ready && this.#client.connected;
  }

  get pendingRequests(): number {
    return this.#requests.size;
  }

  on(event: 'connected' | 'disconnected', listener: () => void): this;
  on(event: 'message', listener: (topic: string, payload: Buffer, retained: boolean) => void): this;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  // biome-ignore lint/suspicious/noExplicitAny: the EventEmitter signature, narrowed per event by the overloads above
  on(event: UplinkEvent, listener: (...args: any[]) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  off(event: 'connected' | 'disconnected', listener: () => void): this;
  off(event: 'message', listener: (topic: string, payload: Buffer, retained: boolean) => void): this;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  // biome-ignore lint/suspicious/noExplicitAny: the EventEmitter signature, narrowed per event by the overloads above
  off(event: UplinkEvent, listener: (...args: any[]) => void): this {
    this.#events.off(event, listener);
    return this;
  }

  publish(topic: string, payload: string, o: { retain?: boolean } = {}): Promise<void> {
    if (this.#closed) return Promise.reject(new UplinkClosedError());
    if (!this.connected) return Promise.reject(new UplinkOfflineError());
    return new Promise<void>((resolve, reject) => {
      this.#client.publish(topic, payload, { qos: 1, retain: o.retain ?? false }, (err) => (err ? reject(err) : resolve()));
    });
  }

  request<K extends keyof KioskOperations>(
    req: KioskOperations[K]['request'] & { type: K },
  ): Promise<KioskOperations[K]['reply'] | ErrorReply> {
    return this.#requests.request(req as KioskRequest, {
      closed: () => this.#closed,
      connected: () => this.connected,
      send: (r, payload) => {
        this.#client.publish(this.#requestTopic, payload, { qos: 1 }, (err) => {
          // The request may or may not have left: leave it pending, so it ends as a reply or a timeout.
          if (err) this.#log.warn({ id: r.id, type: r.type, err: err.message }, 'publish failed');
        });
      },
    }) as Promise<KioskOperations[K]['reply'] | ErrorReply>;
  }

  resubscribe(topic: string): Promise<void> {
    if (this.#closed) return Promise.reject(new UplinkClosedError());
    if (!this.connected) return Promise.reject(new UplinkOfflineError());
    return new Promise<void>((resolve, reject) => {
      this.#client.unsubscribe(topic, () => {
        this.#client.subscribe(topic, { qos: 1 }, (err) => (err ? reject(err) : resolve()));
      });
    });
  }

  /**
   * Rejects pending requests with UplinkClosedError and disconnects: a clean DISCONNECT when
   * connected (never waiting longer than closeGraceMs), else the socket is dropped at once. Every
   * timer and socket is let go, so the process can exit. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#unlink?.();
    this.#requests.rejectAll(() => new UplinkClosedError());
    const wasReady = this.#ready;
    this.#ready = false;
    // MQTT.js with manualConnect clears its "disconnecting" mark once end() is done; a socket that
    // closes after that (as after a refused CONNACK, whose socket is still being destroyed) would then
    // start its reconnect timer again, and keep the process alive for ever. With no reconnect period
    // it never does.
    this.#client.options.reconnectPeriod = 0;
    const graceful = this.#client.connected;
    this.#closing = new Promise<void>((resolve) => {
      const fallback = this.#timers.setTimeout(() => {
        this.#client.stream?.destroy();
        resolve();
      }, UPLINK_DEFAULTS.closeGraceMs);
      this.#client.end(!graceful, () => {
        this.#timers.clearTimeout(fallback);
        resolve();
      });
    }).then(() => {
      if (wasReady) this.#events.emit('disconnected');
      this.#log.info('uplink closed');
    });
    return this.#closing;
  }

  #firstConnection(timeoutMs: number, url: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let lastError = '';
      const done = (err?: Error) => {
        this.#timers.clearTimeout(timer);
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
      const timer = this.#timers.setTimeout(
        () => done(new UplinkConnectError(`could not connect to ${url} within ${timeoutMs} ms${lastError ? ` (${lastError})` : ''}`)),
        timeoutMs,
      );
      this.#events.on('connected', onConnected);
      this.#events.on('refused', onRefused);
      this.#client.on('error', onError);
    });
  }

  #onConnect(): void {
    const wanted = [this.#replyTopic, ...this.#subscriptions];
    this.#client.subscribe(wanted, { qos: 1 }, (err, granted) => {
      if (this.#closed || !this.#client.connected) return;
      const code = granted?.find((g) => g.topic === this.#replyTopic)?.qos;
      if (err || code === undefined || code === 128) {
        this.#log.error(
          { topic: this.#replyTopic, err: err?.message },
          'broker refused the reply subscription (check the kiosk identity and ACL)',
        );
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
    this.#log.warn({ pending: this.#requests.size }, 'uplink disconnected');
    this.#events.emit('disconnected');
  }

  #onMessage(topic: string, payload: Buffer, packet?: { retain?: boolean }): void {
    if (topic === this.#replyTopic) this.#requests.receive(payload);
    else this.#events.emit('message', topic, payload, packet?.retain === true);
  }
}
