// SPDX-License-Identifier: Apache-2.0
// A character LCD as a Display: what both LCD adapters (LcdDisplay over Firmata and SimLcd) offer,
// and the failure semantics lcd-contract.ts checks on each of them.
// - render() never throws and returns at once. The view is laid out by lcdLines(); the glass shows
//   the latest view rendered, drawn soon after (renders in a burst are coalesced into one draw).
// - Before the LCD is ready (connecting, or reconnecting after a fault), the latest view is kept and
//   drawn as soon as it is ready.
// - health is 'ok' while the LCD can draw and 'fault' otherwise (not yet ready, unplugged, after
//   close()). A fault is never thrown: the kiosk reads health and reports it.
// - close() is idempotent: it blanks the glass (when it still can), releases the device, and after
//   it resolves render() is ignored.
import type { Display } from '../../../display/display.ts';

export interface LcdScreen extends Display {
  readonly cols: number;
  readonly rows: number;
  /** The text on the glass now (what was last written), `rows` strings of `cols` characters. */
  readonly lines: readonly string[];
}

/** `rows` blank lines of `cols` spaces: the glass after a clear. */
export function blankLines(cols: number, rows: number): string[] {
  return Array.from({ length: rows }, () => ' '.repeat(cols));
}
