// SPDX-License-Identifier: Apache-2.0
// The simulated Uplink adapter (uplink.ts): in process, no broker and no socket. It keeps the same
// contract as MqttUplink (uplink-contract.ts runs against both), with the same request table
// (pending-requests.ts): a request gets its reply, or UplinkTimeoutError on the injected timers, or
// UplinkOfflineError at once when not connected (nothing sent); RATE_LIMITED replies are resent.
//
// SimNetwork is one kiosk's cable and broker: it carries each request to a server handler (bytes in,
// reply out: the server's kiosk dispatcher, as the simulation and tests wire it) and the reply back,
// may be cut and restored ('disconnected' and 'connected' on the client), and sends the retained
// broadcasts again on every connection, as a broker's retained messages are. How each message
// travels is its `transmit`: by default after a fixed latency on its timers; the simulator injects
// loss, duplication and delay there. A message sent in one connection is never delivered into another.
//
// SimUplink is the kiosk process's client on that network for one boot. A power loss (kill) ends it
// without a word: its pending requests never settle and it emits nothing more.
import { EventEmitter } from 'node:events';
import pino, { type Logger } from 'pino';
import type { ErrorReply, KioskOperations, KioskReply, KioskRequest } from '../../shared/kiosk-messages.ts';
import type { Timers } from '../timers.ts';
import { PendingRequests } from './pending-requests.ts';
import { UplinkClosedError, UplinkOfflineError, type Uplink, type UplinkEvent } from './uplink.ts';

/** Where the network's requests go: the server's handler (undefined: no reply, as from a server that is down). */
export type ServerEndpoint = (kioskId: string, payload: Uint8Array) => Promise<KioskReply | undefined>;

export interface SimNetworkOptions {
  kioskId: string;
  /** The network's own clock: deliveries and connection delays. */
  timers: Pick<Timers, 'setTimeout'>;
  server: ServerEndpoint;
  /** Retained broadcasts, sent again on every connection. Default none. */
  retained?: () => ReadonlyArray<{ topic: string; payload: string }>;
  /**
   * How one message travels: calls `deliver` once for each copy that arrives, when it arrives.
   * `lossy` is false for broadcasts, which QoS 1 loses only with their connection. Default: one
   * copy after `latencyMs` on `timers`.
   */
  transmit?: (deliver: () => void, lossy: boolean) => void;
  /** The default transmit's one-way latency, in ms. Default 0. */
  latencyMs?: number;
  /** Each message the client published (telemetry, acks), as the broker received it. */
  onPublish?: (topic: string, payload: string, retain: boolean) => void;
}

export class SimNetwork {
  readonly kioskId: string;
  readonly #o: SimNetworkOptions;
  readonly #transmit: (deliver: () => void, lossy: boolean) => void;
  /** The cable (and the broker) is up. */
  #up = true;
  #uplink: SimUplink | undefined;
  /** Bumped on every connection change; a message sent in one connection is not delivered into another. */
  #generation = 0;
  /** Requests that left the client, and messages it published. */
  sent = 0;
  published = 0;

  constructor(o: SimNetworkOptions) {
    this.kioskId = o.kioskId;
    this.#o = o;
    const latencyMs = o.latencyMs ?? 0;
    this.#transmit =
      o.transmit ??
      ((deliver) => {
        o.timers.setTimeout(deliver, latencyMs);
      });
  }

  get up(): boolean {
    return this.#up;
  }

  /** The client of the current boot, or undefined while the kiosk is off. */
  get uplink(): SimUplink | undefined {
    return this.#uplink;
  }

  /** A new boot's client; it connects after `connectDelayMs` if the cable is up. */
  attach(uplink: SimUplink, connectDelayMs: number): void {
    this.#uplink = uplink;
    this.#scheduleConnect(connectDelayMs);
  }

  /** Power loss: the client is gone without a word (the broker would send its last will). */
  detach(): void {
    this.#uplink?.kill();
    this.#uplink = undefined;
    this.#generation++;
  }

  /** The client closed itself: it is forgotten (nothing more is delivered to it). */
  release(uplink: SimUplink): void {
    if (this.#uplink !== uplink) return;
    this.#uplink = undefined;
    this.#generation++;
  }

  /** The cable is pulled: the client is disconnected, and stays so until restore(). */
  cut(): void {
    if (!this.#up) return;
    this.#up = false;
    this.#generation++;
    this.#uplink?.setConnected(false);
  }

  /** The cable is back: the client connects again after `connectDelayMs`. */
  restore(connectDelayMs: number): void {
    if (this.#up) return;
    this.#up = true;
    this.#scheduleConnect(connectDelayMs);
  }

  /** A request left the client: through the network to the server, and the reply back. */
  send(uplink: SimUplink, payload: string): void {
    this.sent++;
    const gen = this.#generation;
    this.#transmit(() => {
      // A request that reaches a server that is down is lost (as if its session were not persistent).
      void this.#o.server(this.kioskId, new TextEncoder().encode(payload)).then((reply) => {
        if (reply === undefined) return;
        this.#transmit(() => {
          if (gen !== this.#generation || this.#uplink !== uplink) return;
          uplink.receiveReply(new TextEncoder().encode(JSON.stringify(reply)));
        }, true);
      });
    }, true);
  }

  /** A message on the client's reply topic that is no answer of the server's handler (tests: late, foreign or malformed replies). */
  sendReply(payload: string): void {
    const uplink = this.#uplink;
    if (!uplink?.connected) return;
    const gen = this.#generation;
    this.#transmit(() => {
      if (gen === this.#generation && this.#uplink === uplink) uplink.receiveReply(new TextEncoder().encode(payload));
    }, false);
  }

  /** The client published a message. */
  publish(topic: string, payload: string, retain: boolean): void {
    this.published++;
    this.#o.onPublish?.(topic, payload, retain);
  }

  /**
   * A broadcast to the client (catalog, revocations, commands), if it is connected now. `retained`:
   * the broker sends a retained message on a (new) subscription, not a live publish.
   */
  broadcast(topic: string, payload: string, retained = false): void {
    const uplink = this.#uplink;
    if (!uplink?.connected) return;
    const gen = this.#generation;
    // QoS 1 inside one connection loses nothing; a broadcast is lost only with its connection.
    this.#transmit(() => {
      if (gen === this.#generation && this.#uplink === uplink && uplink.connected) uplink.receiveMessage(topic, payload, retained);
    }, false);
  }

  /** The retained message of `topic`, again (a fresh subscription). */
  resendRetained(topic: string): void {
    for (const m of this.#retained()) if (m.topic === topic) this.broadcast(m.topic, m.payload, true);
  }

  #retained(): ReadonlyArray<{ topic: string; payload: string }> {
    return this.#o.retained?.() ?? [];
  }

  #scheduleConnect(delayMs: number): void {
    const uplink = this.#uplink;
    const gen = ++this.#generation;
    this.#o.timers.setTimeout(() => {
      if (gen !== this.#generation || !this.#up || this.#uplink !== uplink || !uplink) return;
      uplink.setConnected(true);
      // Subscribing again makes the broker send the retained messages.
      for (const m of this.#retained()) this.broadcast(m.topic, m.payload, true);
    }, delayMs);
  }
}

export interface SimUplinkOptions {
  /** Request deadlines and RATE_LIMITED backoff waits: the kiosk's timers. */
  timers: Timers;
  /** Default REQUEST_DEFAULTS.requestTimeoutMs (pending-requests.ts). */
  requestTimeoutMs?: number;
  /** Uniform in [0, 1): the backoff jitter. Default Math.random; the simulator passes a seeded one. */
  random?: () => number;
  logger?: Logger;
}

/** The kiosk's client on a SimNetwork, for one boot. */
export class SimUplink implements Uplink {
  readonly #network: SimNetwork;
  readonly #events = new EventEmitter();
  readonly #requests: PendingRequests;
  #connected = false;
  #closed = false;
  #dead = false;

  constructor(network: SimNetwork, o: SimUplinkOptions) {
    this.#network = network;
    const log = (o.logger ?? pino({ level: 'silent' })).child({ component: 'uplink', kioskId: network.kioskId });
    this.#requests = new PendingRequests({
      timers: o.timers,
      random: o.random ?? Math.random,
      requestTimeoutMs: o.requestTimeoutMs,
      logger: log,
    });
  }

  get connected(): boolean {
    return this.#connected;
  }

  get pendingRequests(): number {
    return this.#requests.size;
  }

  request<K extends keyof KioskOperations>(
    req: KioskOperations[K]['request'] & { type: K },
  ): Promise<KioskOperations[K]['reply'] | ErrorReply> {
    if (this.#dead) return new Promise<never>(() => {});
    return this.#requests.request(req as KioskRequest, {
      closed: () => this.#closed,
      connected: () => this.#connected,
      send: (_r, payload) => this.#network.send(this, payload),
    }) as Promise<KioskOperations[K]['reply'] | ErrorReply>;
  }

  publish(topic: string, payload: string, o: { retain?: boolean } = {}): Promise<void> {
    if (this.#dead) return new Promise<void>(() => {});
    if (this.#closed) return Promise.reject(new UplinkClosedError());
    if (!this.#connected) return Promise.reject(new UplinkOfflineError());
    this.#network.publish(topic, payload, o.retain ?? false);
    return Promise.resolve();
  }

  /** Subscribing again makes the broker re-send the topic's retained message. */
  resubscribe(topic: string): Promise<void> {
    if (this.#dead) return new Promise<void>(() => {});
    if (this.#closed) return Promise.reject(new UplinkClosedError());
    if (!this.#connected) return Promise.reject(new UplinkOfflineError());
    this.#network.resendRetained(topic);
    return Promise.resolve();
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

  close(): Promise<void> {
    if (this.#closed || this.#dead) return Promise.resolve();
    this.#closed = true;
    this.#requests.rejectAll(() => new UplinkClosedError());
    this.#network.release(this);
    if (this.#connected) {
      this.#connected = false;
      this.#events.emit('disconnected');
    }
    return Promise.resolve();
  }

  // ---- driven by SimNetwork ----

  /** The network connected or dropped this client. */
  setConnected(up: boolean): void {
    if (this.#dead || this.#closed || up === this.#connected) return;
    this.#connected = up;
    this.#events.emit(up ? 'connected' : 'disconnected');
  }

  /** A message on the reply topic. */
  receiveReply(payload: Uint8Array): void {
    if (this.#dead || !this.#connected) return;
    this.#requests.receive(payload);
  }

  /** A message on one of the extra subscriptions. */
  receiveMessage(topic: string, payload: string, retained: boolean): void {
    if (this.#dead || !this.#connected) return;
    this.#events.emit('message', topic, Buffer.from(payload), retained);
  }

  /** The process died: nothing pending ever settles, nothing more is emitted. */
  kill(): void {
    this.#dead = true;
    this.#connected = false;
    this.#requests.abandon();
  }
}
