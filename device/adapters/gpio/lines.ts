// SPDX-License-Identifier: Apache-2.0
// The low-level GPIO line port. KioskGpio (kiosk-gpio.ts) is written once over it; the backends are
// sysfs-lines.ts (onoff), gpiod-lines.ts (libgpiod tools) and sim-lines.ts (simulated).
//
// Line numbers are always BCM numbers (0..27 on the 40-pin header); a backend maps them to its own
// numbering (sysfs base + bcm, a gpiochip offset, ...).
//
// Failure semantics, shared by every backend (lines-contract.ts checks them):
// - `output()` / `input()` throw synchronously (GpioLineError) for a BCM number outside 0..27, for a
//   line already claimed on this GpioLines, and after `close()`.
// - `OutLine.write()` throws GpioLineError after close. A backend whose write is asynchronous (a
//   child process) reports a later failure through its `onError` option instead; the line's last
//   requested level is still what `close()` releases.
// - An edge callback is never called after its unsubscribe function or `close()` ran.
// - `close()` releases every line (unexport, kill the holding process, ...), is idempotent, and
//   resolves once everything is released; it never rejects for a line that is already gone.
// - `InLine.initial` is the input's level when it was claimed (read with the requested bias), before
//   any edge is reported. It rejects (GpioLineError) if the level cannot be read; the line still
//   reports edges then.
// - An input's bias is applied where the backend can set it (libgpiod); sysfs cannot set a bias, so
//   there it comes from the firmware (`gpio=...` in config.txt, see README.md) and is ignored here.

export type Level = 0 | 1;
export type Edge = 'rising' | 'falling' | 'both';
/** The pull resistor an input asks for; 'as-is' leaves the pad as it is. */
export type GpioBias = 'pull-up' | 'pull-down' | 'disable' | 'as-is';
export const GPIO_BIASES: readonly GpioBias[] = ['pull-up', 'pull-down', 'disable', 'as-is'];

export interface InputOptions {
  /** Default 'as-is'. */
  bias?: GpioBias;
}

export const BCM_MIN = 0;
export const BCM_MAX = 27;

export interface OutLine {
  readonly bcm: number;
  write(level: Level): void;
}

export interface InLine {
  readonly bcm: number;
  /** The level when the line was claimed (see the failure semantics above). */
  readonly initial: Promise<Level>;
  /** Calls `fn` with the new level on every edge of the requested kind. Returns an unsubscribe. */
  onEdge(fn: (level: Level) => void): () => void;
}

export interface GpioLines {
  /** Claims `bcm` as an output, driven to `initial` (default 0) from the start. */
  output(bcm: number, initial?: Level): OutLine;
  /** Claims `bcm` as an input reporting edges of kind `edge`. */
  input(bcm: number, edge: Edge, opts?: InputOptions): InLine;
  close(): Promise<void>;
}

export class GpioLineError extends Error {
  override readonly name = 'GpioLineError';
  constructor(
    message: string,
    readonly code: 'BAD_LINE' | 'LINE_BUSY' | 'CLOSED' | 'UNAVAILABLE' | 'IO',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Checks a BCM number and that it is not claimed yet; shared by the backends. */
export function claimLine(claimed: Set<number>, bcm: number, closed: boolean): void {
  if (closed) throw new GpioLineError('GPIO lines are closed', 'CLOSED');
  if (!Number.isInteger(bcm) || bcm < BCM_MIN || bcm > BCM_MAX) {
    throw new GpioLineError(`BCM ${String(bcm)} is not a header GPIO (${BCM_MIN}..${BCM_MAX})`, 'BAD_LINE');
  }
  if (claimed.has(bcm)) throw new GpioLineError(`BCM ${bcm} is already claimed`, 'LINE_BUSY');
  claimed.add(bcm);
}

/** Whether a level change from `prev` to `next` is an edge of kind `edge`. */
export function isEdge(edge: Edge, prev: Level, next: Level): boolean {
  if (prev === next) return false;
  return edge === 'both' || (edge === 'rising' ? next === 1 : next === 0);
}
