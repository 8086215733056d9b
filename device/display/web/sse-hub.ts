// SPDX-License-Identifier: Apache-2.0
// The live event streams of the kiosk's web screen (Server-Sent Events). A new client gets the
// latest frame at once; later frames are throttled: the first after a quiet spell goes out at once,
// then at most one per `pushIntervalMs`, and the last push of a burst always carries the latest frame.
// A client whose socket is backed up skips frames and gets the latest when it drains; one that stays
// backed up past `clientBufferBytesMax` is dropped (its page reconnects). Comment heartbeats keep idle
// connections open. Timers are injected so tests drive them by hand.
import { systemTimers, type TimerHandle, type Timers } from '../../timers.ts';
import type { ServerResponse } from 'node:http';

/** The device timers the hub needs (device/timers.ts). */
export type HubTimers = Pick<Timers, 'setTimeout' | 'clearTimeout'>;

export const realTimers: HubTimers = systemTimers;

export interface SseHubOptions {
  readonly clientsMax: number;
  readonly pushIntervalMs: number;
  readonly heartbeatMs: number;
  /** What the browser waits before reconnecting a dropped stream. */
  readonly retryMs: number;
  readonly clientBufferBytesMax: number;
  readonly timers: HubTimers;
}

interface Client {
  readonly res: ServerResponse;
  /** A frame was skipped while the socket was backed up. */
  stale: boolean;
}

export class SseHub {
  readonly #o: SseHubOptions;
  readonly #clients = new Set<Client>();
  #frame: string | undefined;
  /** The latest frame has not been pushed yet. */
  #dirty = false;
  #throttle: TimerHandle | undefined;
  #heartbeat: TimerHandle | undefined;
  #closed = false;

  constructor(o: SseHubOptions) {
    this.#o = o;
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Takes over `res` as an event stream; false (res untouched) when the hub is full or closed. */
  add(res: ServerResponse): boolean {
    if (this.#closed || this.#clients.size >= this.#o.clientsMax) return false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const client: Client = { res, stale: false };
    this.#clients.add(client);
    res.on('close', () => this.#clients.delete(client));
    res.on('drain', () => {
      if (client.stale && this.#frame !== undefined) this.#write(client, this.#frame);
    });
    res.write(`retry: ${this.#o.retryMs}\n\n`);
    if (this.#frame !== undefined) this.#write(client, this.#frame);
    this.#armHeartbeat();
    return true;
  }

  /** A new frame (one JSON text); pushed now or at the end of the current interval. */
  publish(json: string): void {
    if (this.#closed) return;
    this.#frame = `data: ${json}\n\n`;
    this.#dirty = true;
    if (this.#throttle === undefined) this.#flush();
  }

  close(): void {
    this.#closed = true;
    if (this.#throttle !== undefined) this.#o.timers.clearTimeout(this.#throttle);
    if (this.#heartbeat !== undefined) this.#o.timers.clearTimeout(this.#heartbeat);
    this.#throttle = this.#heartbeat = undefined;
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
  }

  #flush(): void {
    this.#throttle = undefined;
    if (!this.#dirty || this.#frame === undefined || this.#closed) return;
    this.#dirty = false;
    for (const c of this.#clients) this.#write(c, this.#frame);
    this.#throttle = this.#o.timers.setTimeout(() => this.#flush(), this.#o.pushIntervalMs);
  }

  #write(c: Client, frame: string): void {
    if (c.res.writableNeedDrain) {
      c.stale = true;
      if (c.res.writableLength > this.#o.clientBufferBytesMax) c.res.destroy();
      return;
    }
    c.stale = false;
    c.res.write(frame);
  }

  #armHeartbeat(): void {
    if (this.#heartbeat !== undefined || this.#closed) return;
    this.#heartbeat = this.#o.timers.setTimeout(() => {
      this.#heartbeat = undefined;
      if (this.#clients.size === 0) return;
      for (const c of this.#clients) if (!c.res.writableNeedDrain) c.res.write(': heartbeat\n\n');
      this.#armHeartbeat();
    }, this.#o.heartbeatMs);
  }
}
