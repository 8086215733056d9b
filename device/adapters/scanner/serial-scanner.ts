// SPDX-License-Identifier: Apache-2.0
// The real Scanner adapter: a scanner in USB-serial (CDC) mode, read with serialport.
// serialport has no auto-reconnect: an unplug arrives as 'close' with err.disconnected, and we
// open a new port object with exponential backoff. Failure semantics: see scanner.ts.
import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import { SerialPortStream } from '@serialport/stream';
import type { BindingInterface } from '@serialport/bindings-interface' with { 'resolution-mode': 'require' };
import { LineFramer, type FramerEvent, type LineFramerOptions } from './line-framer.ts';
import { systemTimers, type TimerHandle, type Timers } from '../../timers.ts';
import { backoffDelay, type BackoffOptions, type Scanner, type ScannerEvents, type ScannerStatus } from './scanner.ts';

export interface SerialScannerOptions extends LineFramerOptions {
  /** Prefer /dev/serial/by-id/... (stable across re-enumeration after an unplug). */
  path: string;
  /** Default 9600. */
  baudRate?: number;
  /** Default: serialport's autodetected native binding. Tests pass MockBinding or UnplugBinding. */
  binding?: BindingInterface;
  /** Default: the global timers. */
  timers?: Pick<Timers, 'setTimeout' | 'clearTimeout'>;
  backoff?: BackoffOptions;
}

export class SerialScanner extends EventEmitter<ScannerEvents> implements Scanner {
  readonly #opts: SerialScannerOptions;
  readonly #binding: BindingInterface;
  readonly #timers: Pick<Timers, 'setTimeout' | 'clearTimeout'>;
  readonly #framer: LineFramer;
  #status: ScannerStatus | undefined;
  #running = false;
  /** Bumped by start/stop so callbacks from an earlier run are ignored. */
  #generation = 0;
  #port: SerialPortStream | undefined;
  #opening: Promise<void> | undefined;
  #timer: TimerHandle | undefined;
  #attempt = 0;

  constructor(opts: SerialScannerOptions) {
    super();
    this.#opts = opts;
    this.#binding = opts.binding ?? SerialPort.binding;
    this.#timers = opts.timers ?? systemTimers;
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
    if (this.#timer !== undefined) {
      this.#timers.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    // An open in flight closes its port itself once it lands (it sees the new generation).
    await this.#opening;
    const port = this.#port;
    this.#port = undefined;
    if (port?.isOpen) {
      await new Promise<void>((resolve) => port.close(() => resolve()));
    }
    this.#framer.reset(); // a partial line at stop is not reported: nobody is listening for it
    this.#status = undefined;
  }

  #open(gen: number): void {
    const port = new SerialPortStream({
      binding: this.#binding,
      path: this.#opts.path,
      baudRate: this.#opts.baudRate ?? 9600,
      autoOpen: false,
    });
    // Never let a stream 'error' go unhandled: failures are handled through open/close below.
    port.on('error', () => {});
    this.#opening = new Promise<void>((resolve) => {
      port.open((err) => {
        this.#opening = undefined;
        resolve();
        if (gen !== this.#generation) {
          // stop() (or stop+start) happened while opening: discard this port.
          if (!err && port.isOpen) port.close();
          return;
        }
        if (err) {
          this.#setStatus('unavailable');
          this.#scheduleReconnect(gen);
          return;
        }
        this.#port = port;
        this.#attempt = 0;
        port.on('data', (chunk: Buffer) => {
          if (gen === this.#generation && this.#port === port) this.#emitAll(this.#framer.push(chunk));
        });
        port.on('close', () => {
          // Both an unplug (err.disconnected) and any other unexpected close mean: reconnect.
          if (gen !== this.#generation || this.#port !== port) return;
          this.#port = undefined;
          this.#emitAll(this.#framer.reset());
          this.#setStatus('unavailable');
          this.#scheduleReconnect(gen);
        });
        this.#setStatus('ready');
      });
    });
  }

  #scheduleReconnect(gen: number): void {
    const delay = backoffDelay(this.#attempt, this.#opts.backoff);
    this.#attempt++;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      if (gen === this.#generation && this.#running) this.#open(gen);
    }, delay);
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
