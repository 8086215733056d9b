// SPDX-License-Identifier: Apache-2.0
// The Scanner port: a 2-D barcode scanner (USB-serial / CDC mode or USB HID keyboard mode in
// production, simulated in tests and in the simulated kiosk). Adapters: SerialScanner (serialport),
// HidScanner (evdev) and SimScanner; the real two share ReconnectingScanner.
//
// Failure semantics (every adapter; checked by scanner-contract.ts):
// - start() never emits synchronously; 'status' events arrive later. Calling start() twice is a
//   no-op. The first 'status' is 'ready' (device open) or 'unavailable' (it could not be opened).
// - 'status' is emitted only on a change: 'ready' -> 'unavailable' -> 'ready' ...
// - Unplug -> 'unavailable'; the adapter then reopens by itself with exponential backoff (capped)
//   and emits 'ready' when open again. An unplug is any of: a read error (EIO, ENODEV, ENXIO), a
//   zero-byte read or end of file (a hung-up tty), serialport's 'close', or the device node
//   vanishing or being replaced (the node watchdog).
//   A partial line in flight at the unplug is discarded and reported as 'dropped' ('incomplete').
// - A line over the size cap (bytes per line, or characters of text after the AIM prefix) is
//   never delivered: it is discarded up to the next terminator and reported through 'dropped'
//   with its length and a reason only. The text of a dropped line is never reported or logged
//   (it may be a payment code).
// - Binary garbage, invalid UTF-8 and control characters never throw and never reach 'scan':
//   such lines are reported through 'dropped'. No adapter ever emits 'error'.
// - stop() closes the device, cancels any pending reconnect and leaves no timers behind; after
//   its promise resolves no further events are emitted (until start() again).

/** Symbologies we map from AIM identifiers; other ids may appear as their own strings. */
export type Symbology =
  | 'qr'
  | 'ean-13'
  | 'ean-8'
  | 'code-128'
  | 'gs1-128'
  | 'code-39'
  | 'itf'
  | 'data-matrix'
  | 'pdf417'
  | 'aztec'
  | 'gs1-databar';

export interface Scan {
  /** The decoded text without suffix and without AIM prefix. 1..CODE_TEXT_MAX characters, printable. */
  text: string;
  /** Known when the scanner sent an AIM symbology identifier (or the sim was told). */
  symbology?: Symbology | (string & {});
  /** The raw AIM identifier such as ']Q1', when one was sent. */
  aimId?: string;
}

export type ScannerStatus = 'ready' | 'unavailable';

export type DropReason =
  /** Over the byte cap for a line or the character cap for the text after the prefix. */
  | 'too-long'
  /** Not valid UTF-8 (binary garbage, wrong baud rate, noise). */
  | 'invalid-utf8'
  /** Valid UTF-8 with control characters (also: a suffix mismatch such as a stray CR or LF). */
  | 'non-printable'
  /** Only an AIM prefix, no text. */
  | 'empty'
  /** A partial line cut off by an unplug or stop. */
  | 'incomplete';

/** A discarded line: length in bytes (without terminator) and a reason, never the content. */
export interface DroppedLine {
  length: number;
  reason: DropReason;
}

export interface ScannerEvents {
  scan: [scan: Scan];
  status: [status: ScannerStatus];
  dropped: [dropped: DroppedLine];
}

export interface Scanner {
  /** Last status emitted; undefined before the first one (and after stop()). */
  readonly status: ScannerStatus | undefined;
  /** Opens the device (asynchronously) and keeps it open, reconnecting after unplugs. */
  start(): void;
  /** Closes the device and cancels reconnects; resolves once closed. Idempotent. */
  stop(): Promise<void>;
  on<E extends keyof ScannerEvents>(event: E, listener: (...args: ScannerEvents[E]) => void): this;
  once<E extends keyof ScannerEvents>(event: E, listener: (...args: ScannerEvents[E]) => void): this;
  off<E extends keyof ScannerEvents>(event: E, listener: (...args: ScannerEvents[E]) => void): this;
}

export interface BackoffOptions {
  /** First reconnect delay; default 100 ms. */
  initialMs?: number;
  /** Cap; default 5,000 ms. */
  maxMs?: number;
}

/** Delay before reconnect attempt number `attempt` (0-based): initial * 2^attempt, capped. */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const initial = opts.initialMs ?? 100;
  const max = opts.maxMs ?? 5_000;
  return Math.min(max, initial * 2 ** Math.min(attempt, 30));
}
