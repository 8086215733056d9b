// SPDX-License-Identifier: Apache-2.0
// The kiosk's uplink in the simulator: an in-memory stand-in for MQTT (broker and TCP) with a
// seeded fault injector. It keeps MqttUplink's contract exactly (device/uplink/mqtt-uplink.ts): a
// request gets its reply, or UplinkTimeoutError after requestTimeoutMs, or UplinkOfflineError at once
// when not connected (nothing sent). Between the kiosk and the server every request and every reply
// may be dropped, duplicated or delayed (so also reordered); the link may be cut and restored
// ('disconnected' and 'connected' events); retained broadcasts (catalog, revocations) arrive again
// on every connection, as a broker's retained messages do.
//
// SimLink is the cable and the broker's side for one kiosk and lives for the whole run; SimUplink is
// the kiosk process's client and dies with it at a power loss (its pending requests never settle).
import { EventEmitter } from 'node:events';
import {
  answers, kioskReply, kioskRequest, parseJsonMessage, type KioskReply, type KioskRequest,
} from '../../shared/kiosk-messages.ts';
import { UplinkOfflineError, UplinkTimeoutError } from '../../device/uplink/uplink.ts';
import type { SimRandom } from './sim-random.ts';
import type { SimTimers } from './sim-timers.ts';

export interface NetFaults {
  /** Share of messages lost (each direction, each copy). */
  dropRate: number;
  /** Share of messages delivered twice. */
  dupRate: number;
  /** Usual one-way latency, ms. */
  latencyMs: readonly [number, number];
  /** Share of messages held up, and for how long (past the request timeout: late and reordered). */
  slowRate: number;
  slowMs: readonly [number, number];
}

export const NO_NET_FAULTS: NetFaults = Object.freeze({ dropRate: 0, dupRate: 0, latencyMs: [1, 20] as const, slowRate: 0, slowMs: [0, 0] as const });

/** Where the link's requests go: the server's dispatcher (bytes in, reply out; undefined: no reply, the server is down). */
export type ServerEndpoint = (kioskId: string, payload: Uint8Array) => Promise<KioskReply | undefined>;

export interface SimLinkDeps {
  kioskId: string;
  /** True-time event queue shared by the simulation (network deliveries). */
  world: SimTimers;
  rng: SimRandom;
  faults: () => NetFaults;
  server: ServerEndpoint;
  /** Retained broadcasts, re-sent on every connection. */
  retained: () => Array<{ topic: string; payload: string }>;
}

export class SimLink {
  /** The cable (and the broker) is up. */
  #up = true;
  #uplink: SimUplink | undefined;
  /** Bumped on every connection change; a message sent in one connection is not delivered into another. */
  #generation = 0;
  sent = 0;
  dropped = 0;
  duplicated = 0;
  published = 0;

  constructor(private readonly d: SimLinkDeps) {}

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

  /** Power loss: the client is gone without a word (the broker sends its last will). */
  detach(): void {
    this.#uplink?.kill();
    this.#uplink = undefined;
    this.#generation++;
  }

  cut(): void {
    if (!this.#up) return;
    this.#up = false;
    this.#generation++;
    this.#uplink?.setConnected(false);
  }

  restore(connectDelayMs: number): void {
    if (this.#up) return;
    this.#up = true;
    this.#scheduleConnect(connectDelayMs);
  }

  /** The kiosk published telemetry (status, events, acks): counted, not interpreted. */
  onPublish(): void {
    this.published++;
  }

  /** A request left the kiosk: through the faulty network to the server, and the reply back. */
  send(uplink: SimUplink, payload: string): void {
    this.sent++;
    const gen = this.#generation;
    this.#transmit(() => {
      // A request that reaches a restarting server is lost (as if its session were not persistent).
      void this.d.server(this.d.kioskId, new TextEncoder().encode(payload)).then((reply) => {
        if (reply === undefined) return;
        this.#transmit(() => {
          if (gen !== this.#generation || this.#uplink !== uplink) return;
          uplink.receiveReply(JSON.stringify(reply));
        });
      });
    });
  }

  /** A broadcast to the kiosk (catalog, revocations), if it is connected now. */
  broadcast(topic: string, payload: string): void {
    const uplink = this.#uplink;
    if (!uplink?.connected) return;
    const gen = this.#generation;
    // QoS 1 inside one connection loses nothing; a broadcast is lost only with its connection.
    this.#transmit(() => {
      if (gen === this.#generation && this.#uplink === uplink && uplink.connected) uplink.receiveMessage(topic, payload);
    }, false);
  }

  /** The retained message of `topic`, again (a fresh subscription). */
  resendRetained(topic: string): void {
    for (const m of this.d.retained()) if (m.topic === topic) this.broadcast(m.topic, m.payload);
  }

  #scheduleConnect(delayMs: number): void {
    const uplink = this.#uplink;
    const gen = ++this.#generation;
    this.d.world.setTimeout(() => {
      if (gen !== this.#generation || !this.#up || this.#uplink !== uplink || !uplink) return;
      uplink.setConnected(true);
      // Subscribing again makes the broker send the retained messages.
      for (const m of this.d.retained()) this.broadcast(m.topic, m.payload);
    }, delayMs);
  }

  /** One message through the fault injector: maybe lost, maybe twice (if lossy), each copy with its own delay. */
  #transmit(deliver: () => void, lossy = true): void {
    const f = this.d.faults();
    const rng = this.d.rng;
    const copies = lossy && rng.chance(f.dupRate) ? 2 : 1;
    if (copies === 2) this.duplicated++;
    for (let i = 0; i < copies; i++) {
      if (lossy && rng.chance(f.dropRate)) {
        this.dropped++;
        continue;
      }
      const delay = rng.chance(f.slowRate) ? rng.between(f.slowMs[0], f.slowMs[1]) : rng.between(f.latencyMs[0], f.latencyMs[1]);
      this.d.world.setTimeout(deliver, delay);
    }
  }
}

interface Pending {
  readonly request: KioskRequest;
  readonly resolve: (reply: KioskReply) => void;
  readonly timer: unknown;
}

/** The kiosk's MQTT client for one boot (the Kiosk's KioskUplinkPort). */
export class SimUplink {
  readonly #events = new EventEmitter();
  readonly #pending = new Map<string, Pending>();
  #connected = false;
  #dead = false;

  constructor(private readonly link: SimLink, private readonly timers: SimTimers, private readonly requestTimeoutMs: number) {}

  get connected(): boolean {
    return this.#connected;
  }

  get pendingRequests(): number {
    return this.#pending.size;
  }

  request(req: KioskRequest): Promise<KioskReply> {
    const checked = kioskRequest.safeParse(req);
    if (!checked.success) return Promise.reject(new Error(`invalid ${String(req.type)} request: ${checked.error.issues[0]?.message ?? 'schema mismatch'}`));
    if (this.#pending.has(req.id)) return Promise.reject(new Error(`request id ${req.id} is already pending`));
    if (this.#dead) return new Promise<KioskReply>(() => {});
    if (!this.#connected) return Promise.reject(new UplinkOfflineError());
    return new Promise<KioskReply>((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.#pending.delete(req.id);
        reject(new UplinkTimeoutError(req.id, this.requestTimeoutMs));
      }, this.requestTimeoutMs);
      this.#pending.set(req.id, { request: checked.data, resolve, timer });
      this.link.send(this, JSON.stringify(req));
    });
  }

  publish(_topic: string, _payload: string, _o: { retain?: boolean } = {}): Promise<void> {
    if (this.#dead) return new Promise<void>(() => {});
    if (!this.#connected) return Promise.reject(new UplinkOfflineError());
    this.link.onPublish();
    return Promise.resolve();
  }

  /** Subscribing again makes the broker re-send the topic's retained message. */
  resubscribe(topic: string): Promise<void> {
    if (this.#dead) return new Promise<void>(() => {});
    if (!this.#connected) return Promise.reject(new UplinkOfflineError());
    this.link.resendRetained(topic);
    return Promise.resolve();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string, fn: (...args: any[]) => void): this {
    this.#events.on(event, fn);
    return this;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off(event: string, fn: (...args: any[]) => void): this {
    this.#events.off(event, fn);
    return this;
  }

  // ---- driven by SimLink ----

  setConnected(up: boolean): void {
    if (this.#dead || up === this.#connected) return;
    this.#connected = up;
    this.#events.emit(up ? 'connected' : 'disconnected');
  }

  receiveReply(text: string): void {
    if (this.#dead || !this.#connected) return;
    const parsed = parseJsonMessage(kioskReply, new TextEncoder().encode(text));
    if (!parsed.ok) return;
    const reply = parsed.value;
    const pending = reply.re === null ? undefined : this.#pending.get(reply.re);
    if (!pending || !answers(pending.request, reply)) return;
    this.timers.clearTimeout(pending.timer);
    this.#pending.delete(reply.re!);
    pending.resolve(reply);
  }

  receiveMessage(topic: string, payload: string): void {
    if (this.#dead || !this.#connected) return;
    this.#events.emit('message', topic, Buffer.from(payload), false);
  }

  /** The process died: nothing pending ever settles, nothing more is emitted. */
  kill(): void {
    this.#dead = true;
    this.#connected = false;
    this.#pending.clear();
  }
}
