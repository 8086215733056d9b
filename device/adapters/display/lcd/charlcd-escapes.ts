// SPDX-License-Identifier: Apache-2.0
// The bytes we write to the Linux kernel's charlcd device (/dev/lcd; drivers/auxdisplay/charlcd.c).
// charlcd reads a byte stream: printable bytes go to the cell under its cursor, which then moves
// right and stops at the last column (no wrap: later bytes on that row are dropped); '\n' blanks the
// rest of the row and moves to the next; '\f' and ESC [2J clear. ESC starts an escape that charlcd
// collects until it knows it: ESC [H (home), ESC [L<c> (display, cursor, blink, backlight...) and
// ESC [Lx<col>y<row>; (goto, 0-based). An escape it does not know swallows up to 24 bytes of what
// follows, so text written here never holds an ESC (lcd-charset.ts turns control characters into
// spaces) and is written as ROM codes, one byte per cell (never UTF-8: '¥' is 0x5C).

const ESC = '\x1b';

/** Display on, cursor off, blink off, backlight on, then clear (the cursor goes home). */
export const CHARLCD_SETUP = Buffer.from(`${ESC}[LD${ESC}[Lc${ESC}[Lb${ESC}[L+\f`, 'latin1');

/** Clears the glass (cursor home). */
export const CHARLCD_CLEAR = Buffer.from('\f', 'latin1');

/** Moves the cursor to a cell, 0-based. */
export function charlcdGoto(col: number, row: number): Buffer {
  return Buffer.from(`${ESC}[Lx${col}y${row};`, 'latin1');
}

/** ROM codes written from a cell onwards: a goto and the bytes. */
export function charlcdWriteAt(col: number, row: number, romCodes: readonly number[]): Buffer {
  return Buffer.concat([charlcdGoto(col, row), Buffer.from(romCodes)]);
}
