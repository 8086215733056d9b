// SPDX-License-Identifier: Apache-2.0
// The simulated Scanner: no hardware; tests and the simulated kiosk drive it through controls on
// the instance (emitScan, emitBytes, unplug, replug). It follows the same failure semantics as
// SerialScanner (scanner.ts): status events are asynchronous, scans go through the same caps and
// checks, and an unplugged sim comes back 'ready' by itself once replugged.
import { EventEmitter } from 'node:events';
import { aimForSymbology, checkText, LineFramer, type FramerEvent, type LineFramerOptions } from './line-framer.ts';
import type { Scan, Scanner, ScannerEvents, ScannerStatus } from './scanner.ts';
import { CODE_TEXT_MAX } from '../../../shared/schemas.ts';

export interface SimScannerOptions extends LineFramerOptions {
  /** Starts unplugged: start() then reports 'unavailable' until replug(). */
  unplugged?: boolean;
}

export class SimScanner extends EventEmitter<ScannerEvents> implements Scanner {
  readonly #framer: LineFramer;
  readonly #maxTextChars: number;
  #status: ScannerStatus | undefined;
  #running = false;
  #plugged: boolean;
  #generation = 0;

  constructor(opts: SimScannerOptions = {}) {
    super();
    this.#framer = new LineFramer(opts);
    this.#maxTextChars = opts.maxTextChars ?? CODE_TEXT_MAX;
    this.#plugged = !opts.unplugged;
  }

  get status(): ScannerStatus | undefined {
    return this.#status;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const gen = ++this.#generation;
    queueMicrotask(() => {
      if (gen === this.#generation) this.#setStatus(this.#plugged ? 'ready' : 'unavailable');
    });
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#generation++;
    this.#framer.reset();
    this.#status = undefined;
  }

  // ---- test controls ----

  /**
   * A shopper scans a code. Delivered (synchronously) only while ready; returns whether a 'scan'
   * was emitted. Text that the real adapter would drop is reported as 'dropped' instead.
   */
  emitScan(text: string, symbology?: string): boolean {
    if (this.#status !== 'ready') return false;
    const reason = checkText(text, this.#maxTextChars);
    if (reason) {
      this.emit('dropped', { length: Buffer.byteLength(text), reason });
      return false;
    }
    const scan: Scan = { text };
    if (symbology !== undefined) {
      scan.symbology = symbology;
      const aimId = aimForSymbology(symbology);
      if (aimId) scan.aimId = aimId;
    }
    this.emit('scan', scan);
    return true;
  }

  /** Raw bytes as a scanner would send them (suffix included), through the real framer. */
  emitBytes(bytes: Uint8Array | string): void {
    if (this.#status !== 'ready') return;
    this.#emitAll(this.#framer.push(typeof bytes === 'string' ? Buffer.from(bytes) : bytes));
  }

  unplug(): void {
    this.#plugged = false;
    if (!this.#running) return;
    this.#emitAll(this.#framer.reset());
    this.#setStatus('unavailable');
  }

  replug(): void {
    this.#plugged = true;
    if (!this.#running) return;
    const gen = this.#generation;
    queueMicrotask(() => {
      if (gen === this.#generation && this.#plugged) this.#setStatus('ready');
    });
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
