// SPDX-License-Identifier: Apache-2.0
// A model of an HD44780 LCD behind a PCF8574 I2C backpack (the common "LCD2004 I2C" module), for
// tests: it is fed the bytes written to the backpack's port and keeps the LCD's display memory, so
// a test reads what the glass would show, not which library calls were made.
// Backpack wiring (PCF8574 / LCM1602 / LCD2004 boards): P0 = RS, P1 = RW, P2 = EN, P3 = backlight,
// P4-P7 = D4-D7. The LCD latches D4-D7 on the falling edge of EN; it starts in 8-bit mode (each
// latch is a whole byte, upper nibble) until a "function set" with DL = 0 puts it in 4-bit mode
// (two latches per byte, high nibble first).
import { lcdCharForRom } from './lcd-charset.ts';

const RS = 0x01;
const EN = 0x04;
/** DDRAM address of the first cell of each row on a 4-row module (rows 2 and 3 follow 0 and 1). */
const ROW_OFFSETS = [0x00, 0x40, 0x14, 0x54] as const;

export class Hd44780Model {
  readonly #cols: number;
  readonly #rows: number;
  readonly #ddram = new Uint8Array(0x80).fill(0x20);
  #address = 0;
  #fourBit = false;
  #highNibble: number | undefined;
  #port = 0;
  /** Characters written into each row since the model was made (or resetCounts()). */
  readonly charsWritten: number[];
  /** Clear-display commands seen. */
  clears = 0;
  backlight = false;

  constructor(cols = 20, rows = 4) {
    this.#cols = cols;
    this.#rows = rows;
    this.charsWritten = Array.from({ length: rows }, () => 0);
  }

  /** One byte written to the backpack's port. */
  portWrite(value: number): void {
    const fallingEdge = (this.#port & EN) !== 0 && (value & EN) === 0;
    this.#port = value & 0xff;
    this.backlight = (value & 0x08) !== 0;
    if (fallingEdge) this.#latch(value);
  }

  /** An IO's i2cWrite(address, bytes) call, as johnny-five makes it; other addresses are ignored. */
  i2cWrite(expectAddress: number, address: number, bytes: number | readonly number[]): void {
    if (address !== expectAddress) return;
    for (const b of typeof bytes === 'number' ? [bytes] : bytes) this.portWrite(b);
  }

  /** What the glass shows, row by row. */
  glass(): string[] {
    const out: string[] = [];
    for (let r = 0; r < this.#rows; r++) {
      let line = '';
      for (let c = 0; c < this.#cols; c++) line += lcdCharForRom(this.#ddram[(ROW_OFFSETS[r] ?? 0) + c] ?? 0x20);
      out.push(line);
    }
    return out;
  }

  resetCounts(): void {
    this.charsWritten.fill(0);
    this.clears = 0;
  }

  #latch(value: number): void {
    const nibble = (value >> 4) & 0x0f;
    const rs = (value & RS) !== 0;
    if (!this.#fourBit) {
      this.#execute(rs, nibble << 4);
      return;
    }
    if (this.#highNibble === undefined) {
      this.#highNibble = nibble;
      return;
    }
    const byte = (this.#highNibble << 4) | nibble;
    this.#highNibble = undefined;
    this.#execute(rs, byte);
  }

  #execute(rs: boolean, byte: number): void {
    if (rs) {
      this.#ddram[this.#address] = byte;
      const row = this.#rowOf(this.#address);
      if (row !== undefined) this.charsWritten[row] = (this.charsWritten[row] ?? 0) + 1;
      this.#address = (this.#address + 1) & 0x7f;
    } else if (byte & 0x80) {
      this.#address = byte & 0x7f; // set DDRAM address
    } else if (byte & 0x20) {
      this.#fourBit = (byte & 0x10) === 0; // function set
      this.#highNibble = undefined;
    } else if (byte === 0x01) {
      this.#ddram.fill(0x20);
      this.#address = 0;
      this.clears++;
    } else if ((byte & 0xfe) === 0x02) {
      this.#address = 0; // return home
    }
  }

  #rowOf(address: number): number | undefined {
    for (let r = 0; r < this.#rows; r++) {
      const start = ROW_OFFSETS[r] ?? 0;
      if (address >= start && address < start + this.#cols) return r;
    }
    return undefined;
  }
}
