// SPDX-License-Identifier: Apache-2.0
// Test support: the Linux charlcd driver (drivers/auxdisplay/charlcd.c with hd44780_common.c) on a
// 4-row HD44780, as a model fed with the bytes written to /dev/lcd. It follows the driver step by
// step, including its unkind parts, so a test reads what the glass would show:
// - the driver's cursor (x, y) and the controller's own address counter are separate; a printed
//   byte goes to the address counter's cell, then x moves right; at x == cols the driver points the
//   counter back at the last cell and drops every further byte of that row (no wrap);
// - '\n' blanks the rest of the row and moves to the start of row (y + 1) % rows; '\r' goes to the
//   row start; '\t' prints a space; '\b' steps back and blanks a cell; '\f' clears;
// - ESC starts an escape: every byte but '\n' is collected ('\n' aborts it and acts as a newline);
//   after each byte, from 2 collected on, "[2J" clears, "[H" homes, "[L<c>" runs a special code;
//   a known one ends the escape, an unknown one is dropped only once 24 bytes are collected (so it
//   swallows the text after it); "[Lx…;"/"[Ly…;" is a goto that waits for its ';' (an invalid one
//   still ends the escape, without moving); "[LI" re-initialises (cursor and blink back on);
// - a goto to a column past the end lands on the last cell; rows use only y's two low bits
//   (y & 1: +0x40, y & 2: +cols), as hd44780_common_gotoxy does;
// - bytes are ROM codes: 0x5C shows ¥, and a UTF-8 sequence shows as two cells of other glyphs.
import { lcdCharForRom } from './lcd-charset.ts';

const ESC = 0x1b;
const ESCAPE_LEN = 24;

export class CharlcdModel {
  readonly cols: number;
  readonly rows: number;
  /** The controller's display memory (2-line mode: 0x00-0x27 and 0x40-0x67). */
  readonly #ddram = new Uint8Array(0x80).fill(0x20);
  /** The controller's address counter. */
  #ac = 0;
  /** The driver's cursor. */
  #x = 0;
  #y = 0;
  /** The escape collected so far, or undefined outside an escape. */
  #esc: number[] | undefined;
  /** Display shift (ESC [LL / [LR), in cells to the left. */
  #shift = 0;
  display = true;
  cursor = true;
  blink = true;
  backlight = false;
  /** Clears seen ('\f', ESC [2J, ESC [LI). */
  clears = 0;
  /** Printable bytes that landed in a cell, per row (reset with resetCounts()). */
  readonly charsWritten: number[];

  /** A display with `leftover` on its glass, as a previous process or the boot message left it. */
  constructor(cols = 20, rows = 4, leftover: readonly string[] = []) {
    this.cols = cols;
    this.rows = rows;
    this.charsWritten = Array.from({ length: rows }, () => 0);
    leftover.forEach((line, r) => {
      for (let c = 0; c < Math.min(line.length, cols); c++) this.#ddram[this.#cellAddress(c, r)] = line.charCodeAt(c) & 0xff;
    });
  }

  /** Bytes written to the device, in order. */
  feed(bytes: Uint8Array): void {
    for (const b of bytes) this.#writeChar(b);
  }

  /** What the glass shows, row by row (readable characters; '\uFFFD' for codes outside the ROM set we use). */
  glass(): string[] {
    return Array.from({ length: this.rows }, (_, r) => {
      let line = '';
      for (let c = 0; c < this.cols; c++) line += lcdCharForRom(this.#ddram[this.#cellAddress(c, r)] ?? 0x20);
      return line;
    });
  }

  resetCounts(): void {
    this.charsWritten.fill(0);
    this.clears = 0;
  }

  #writeChar(c: number): void {
    if (c !== 0x0a && this.#esc !== undefined) {
      this.#esc.push(c);
    } else {
      this.#esc = undefined;
      switch (c) {
        case ESC:
          this.#esc = [];
          break;
        case 0x08: // '\b'
          if (this.#x > 0) this.#shiftCursorLeft();
          this.#print(0x20);
          this.#shiftCursorLeft();
          break;
        case 0x0c:
          this.#clear();
          break; // '\f'
        case 0x0a: // '\n'
          for (; this.#x < this.cols; this.#x++) this.#data(0x20);
          this.#x = 0;
          this.#y = (this.#y + 1) % this.rows;
          this.#gotoxy(this.#x, this.#y);
          break;
        case 0x0d:
          this.#x = 0;
          this.#gotoxy(this.#x, this.#y);
          break; // '\r'
        case 0x09:
          this.#print(0x20);
          break; // '\t'
        default:
          this.#print(c);
      }
    }
    const esc = this.#esc;
    if (esc === undefined || esc.length < 2) return;
    const text = String.fromCharCode(...esc);
    let processed = false;
    if (text === '[2J') {
      this.#clear();
      processed = true;
    } else if (text === '[H') {
      this.#x = 0;
      this.#y = 0;
      this.#gotoxy(0, 0);
      processed = true;
    } else if (esc.length >= 3 && text.startsWith('[L')) {
      processed = this.#special(text.slice(2));
    }
    if (processed || esc.length >= ESCAPE_LEN) this.#esc = undefined;
  }

  /** ESC [L<code>; true when the driver counts it processed. */
  #special(code: string): boolean {
    switch (code[0]) {
      case 'D':
        this.display = true;
        return true;
      case 'd':
        this.display = false;
        return true;
      case 'C':
        this.cursor = true;
        return true;
      case 'c':
        this.cursor = false;
        return true;
      case 'B':
        this.blink = true;
        return true;
      case 'b':
        this.blink = false;
        return true;
      case '+':
        this.backlight = true;
        return true;
      case '-':
        this.backlight = false;
        return true;
      case '*':
      case 'f':
      case 'F':
      case 'n':
      case 'N':
        return true;
      case 'l':
        if (this.#x > 0) this.#shiftCursorLeft();
        return true;
      case 'r':
        if (this.#x < this.cols) {
          if (this.#x < this.cols - 1) this.#ac = this.#next(this.#ac);
          this.#x++;
        }
        return true;
      case 'L':
        this.#shift = (this.#shift + 1) % 40;
        return true;
      case 'R':
        this.#shift = (this.#shift + 39) % 40;
        return true;
      case 'k': {
        for (let x = this.#x; x < this.cols; x++) this.#data(0x20);
        this.#gotoxy(this.#x, this.#y);
        return true;
      }
      case 'I':
        // init_display: clear, address home; the driver's x and y are left as they were.
        this.#ddram.fill(0x20);
        this.#ac = 0;
        this.#shift = 0;
        this.clears++;
        this.display = this.cursor = this.blink = true;
        return true;
      case 'G': {
        if (!code.includes(';')) return false;
        this.#gotoxy(this.#x, this.#y); // CGRAM written (not modelled), then back to DDRAM
        return true;
      }
      case 'x':
      case 'y': {
        if (!code.endsWith(';')) return false;
        const xy = parseXy(code, this.#x, this.#y);
        if (xy) {
          [this.#x, this.#y] = xy;
          this.#gotoxy(this.#x, this.#y);
        }
        return true;
      }
      default:
        return false;
    }
  }

  /** charlcd_print: clipped at the last column. */
  #print(c: number): void {
    if (this.#x >= this.cols) return;
    this.#data(c);
    this.#x++;
    if (this.#x === this.cols) this.#gotoxy(this.#x - 1, this.#y);
  }

  /** hd44780_common_print: writes at the address counter while x is inside the row. */
  #data(c: number): void {
    if (this.#x >= this.cols) return;
    this.#ddram[this.#ac] = c;
    const row = this.#rowOf(this.#ac);
    if (row !== undefined) this.charsWritten[row] = (this.charsWritten[row] ?? 0) + 1;
    this.#ac = this.#next(this.#ac);
  }

  #shiftCursorLeft(): void {
    if (this.#x < this.cols) this.#ac = (this.#ac + 0x7f) & 0x7f;
    this.#x--;
  }

  #clear(): void {
    this.#ddram.fill(0x20);
    this.#ac = 0;
    this.#x = 0;
    this.#y = 0;
    this.#shift = 0;
    this.clears++;
  }

  /** hd44780_common_gotoxy with bwidth = cols and hwidth = 0x40. */
  #gotoxy(x: number, y: number): void {
    let addr = x < this.cols ? x & 0x3f : this.cols - 1;
    if (y & 1) addr += 0x40;
    if (y & 2) addr += this.cols;
    this.#ac = addr & 0x7f;
  }

  /** The controller's address after `a` in 2-line mode: 0x27 runs on to 0x40, 0x67 to 0x00. */
  #next(a: number): number {
    if (a === 0x27) return 0x40;
    if (a === 0x67) return 0x00;
    return (a + 1) & 0x7f;
  }

  /** The address shown at (col, row), with the display shift. */
  #cellAddress(col: number, row: number): number {
    const line = row & 1 ? 0x40 : 0x00;
    return line + (((row & 2 ? this.cols : 0) + col + this.#shift) % 40);
  }

  #rowOf(a: number): number | undefined {
    for (let r = 0; r < this.rows; r++) {
      for (let c = 0; c < this.cols; c++) if (this.#cellAddress(c, r) === a) return r;
    }
    return undefined;
  }
}

/** parse_xy: "(x<digits>|y<digits>)*;" from the current position; undefined when invalid. */
function parseXy(s: string, x: number, y: number): [number, number] | undefined {
  let i = 0;
  for (;;) {
    const ch = s[i];
    if (ch === undefined) return undefined;
    if (ch === ';') return [x, y];
    if (ch !== 'x' && ch !== 'y') return undefined;
    const digits = /^\d+/.exec(s.slice(i + 1))?.[0];
    if (digits === undefined) return undefined;
    if (ch === 'x') x = Number(digits);
    else y = Number(digits);
    i += 1 + digits.length;
  }
}
