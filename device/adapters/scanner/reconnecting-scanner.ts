// SPDX-License-Identifier: Apache-2.0
// What every real scanner adapter shares (failure semantics: scanner.ts): open the device, frame its
// bytes into scans, notice an unplug, report 'unavailable', reopen with capped exponential backoff,
// and a watchdog on the device node for unplugs the device never reports. An adapter supplies only
// a ScannerDevice: how to open its kind of device and hand over bytes.
import { EventEmitter } from 'node:events';
import { LineFramer, type FramerEvent, type LineFramerOptions } from './line-framer.ts';
import { nodeState as statNodeState, type NodeState, type NodeStateFn } from './device-node.ts';
import { systemTimers, type TimerHandle, type Timers } from '../../timers.ts';
import { backoffDelay, type BackoffOptions, type Scanner, type ScannerEvents, type ScannerStatus } from './scanner.ts';

/** Where an open device reports to. */
export interface DeviceSink {
  /** Bytes for the line framer. */
  data(chunk: Uint8Array): void;
  /** The device is gone (unplug, hang-up, read error, end of file); may be called more than once. */
  gone(reason: string): void;
}

export interface OpenedDevice {
  /** Closes the device; resolves (never rejects) once closed. Safe after the device is gone. */
  close(): Promise<void>;
}

export interface ScannerDevice {
  readonly path: string;
  /** Opens the device; rejects when it cannot be opened (missing, no permission, busy). */
  open(sink: DeviceSink): Promise<OpenedDevice>;
}

export interface NodeWatchOptions {
  /** How often the node is checked while the device is open; default 1,000 ms. */
  intervalMs?: number;
  /** Default: stat() on the path. Tests pass a fake. */
  nodeState?: NodeStateFn;
}

export interface ReconnectingScannerOptions extends LineFramerOptions {
  /** Default: the global timers. */
  timers?: Pick<Timers, 'setTimeout' | 'clearTimeout'>;
  backoff?: BackoffOptions;
  /** Watchdog on the device node while open; false turns it off. */
  watch?: NodeWatchOptions | false;
}

/** One successful open; callbacks from an older link are ignored. */
interface Link {
  readonly gen: number;
  dev?: OpenedDevice;
  /** The node's identity when it was opened (null: could not be told, so only absence counts). */
  id?: string | null;
}

export class ReconnectingScanner extends EventEmitter<ScannerEvents> implements Scanner {
  readonly #device: ScannerDevice;
  readonly #timers: Pick<Timers, 'setTimeout' | 'clearTimeout'>;
  readonly #backoff: BackoffOptions | undefined;
  readonly #watch: { intervalMs: number; nodeState: NodeStateFn } | undefined;
  readonly #framer: LineFramer;
  #status: ScannerStatus | undefined;
  #running = false;
  /** Bumped by start/stop so callbacks from an earlier run are ignored. */
  #generation = 0;
  #link: Link | undefined;
  #opening: Promise<void> | undefined;
  #timer: TimerHandle | undefined;
  #watchTimer: TimerHandle | undefined;
  #attempt = 0;

  constructor(device: ScannerDevice, opts: ReconnectingScannerOptions) {
    super();
    this.#device = device;
    this.#timers = opts.timers ?? systemTimers;
    this.#backoff = opts.backoff;
    this.#watch =
      opts.watch === false || opts.watch === undefined
        ? undefined
        : { intervalMs: opts.watch.intervalMs ?? 1_000, nodeState: opts.watch.nodeState ?? statNodeState };
    this.#framer = new LineFramer(opts);
  }

  get status(): ScannerStatus | undefined {
    return this.#status;
  }

  /** Current reconnect attempt count (0 while open); for telemetry and tests. */
  get reconnectAttempts(): number {
    return this.#attempt;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#generation++;
    this.#attempt = 0;
    this.#open(this.#generation);
  }

  async stop(): Promise<void> {
    if (!this.#running) {
      await this.#opening;
      return;
    }
    this.#running = false;
    this.#generation++;
    this.#clearTimers();
    // An open in flight closes its device itself once it lands (it sees the new generation).
    await this.#opening;
    const dev = this.#link?.dev;
    this.#link = undefined;
    await dev?.close();
    this.#framer.reset(); // a partial line at stop is not reported: nobody is listening for it
    this.#status = undefined;
  }

  #open(gen: number): void {
    const link: Link = { gen };
    const sink: DeviceSink = {
      data: (chunk) => {
        if (this.#link === link) this.#emitAll(this.#framer.push(chunk));
      },
      gone: () => this.#lost(link),
    };
    this.#opening = (async () => {
      let dev: OpenedDevice;
      try {
        dev = await this.#device.open(sink);
      } catch {
        if (gen !== this.#generation) return;
        this.#setStatus('unavailable');
        this.#scheduleReconnect(gen);
        return;
      }
      if (gen !== this.#generation) {
        await dev.close(); // stop() (or stop+start) happened while opening
        return;
      }
      link.dev = dev;
      this.#link = link;
      this.#attempt = 0;
      if (this.#watch) {
        link.id = idOf(await this.#watch.nodeState(this.#device.path));
        if (this.#link !== link) return; // lost or stopped meanwhile (stop() closes it)
      }
      this.#setStatus('ready');
      this.#scheduleWatch(link);
    })().finally(() => {
      this.#opening = undefined;
    });
  }

  /** The device is gone: report what was in flight, go 'unavailable', reconnect. */
  #lost(link: Link): void {
    if (this.#link !== link || link.gen !== this.#generation) return;
    this.#link = undefined;
    if (this.#watchTimer !== undefined) {
      this.#timers.clearTimeout(this.#watchTimer);
      this.#watchTimer = undefined;
    }
    void link.dev?.close();
    this.#emitAll(this.#framer.reset());
    this.#setStatus('unavailable');
    this.#scheduleReconnect(link.gen);
  }

  #scheduleWatch(link: Link): void {
    const watch = this.#watch;
    if (!watch) return;
    this.#watchTimer = this.#timers.setTimeout(() => {
      this.#watchTimer = undefined;
      if (this.#link !== link) return;
      void watch.nodeState(this.#device.path).then((state) => {
        if (this.#link !== link) return;
        if (state && (!state.present || (link.id != null && state.id !== link.id))) this.#lost(link);
        else this.#scheduleWatch(link);
      });
    }, watch.intervalMs);
  }

  #scheduleReconnect(gen: number): void {
    const delay = backoffDelay(this.#attempt, this.#backoff);
    this.#attempt++;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      if (gen === this.#generation && this.#running) this.#open(gen);
    }, delay);
  }

  #clearTimers(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    if (this.#watchTimer !== undefined) this.#timers.clearTimeout(this.#watchTimer);
    this.#timer = undefined;
    this.#watchTimer = undefined;
  }

  #setStatus(s: ScannerStatus): void {
    if (this.#status === s) return;
    this.#status = s;
    this.emit('status', s);
  }

  #emitAll(events: FramerEvent[]): void {
    for (const e of events) {
      if (e.kind === 'scan') this.emit('scan', e.scan);
      else this.emit('dropped', e.dropped);
    }
  }
}

function idOf(state: NodeState): string | null {
  return state?.present ? state.id : null;
}
