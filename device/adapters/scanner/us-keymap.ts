// SPDX-License-Identifier: Apache-2.0
// Turns a USB HID keyboard scanner's key events into the bytes a serial scanner would have sent,
// for the line framer: the US layout (the one scanners emulate unless told otherwise), with shift
// and caps lock. Enter and keypad Enter end a code (CR). Tab, Backspace, Esc and Ctrl+key become
// their control bytes and a key with no character (F1, arrows, Alt+...) becomes 0xFF, so such a
// line is dropped ('non-printable' or 'invalid-utf8') exactly as on the serial side. Autorepeat
// (value 2) is ignored: a scanner never holds a key on purpose, and a repeat would corrupt a code.
import { EV_KEY, KEY_PRESS, KEY_RELEASE, type InputEvent } from './input-event.ts';

export const KEY = {
  ESC: 1,
  BACKSPACE: 14,
  TAB: 15,
  ENTER: 28,
  LEFTCTRL: 29,
  LEFTSHIFT: 42,
  RIGHTSHIFT: 54,
  LEFTALT: 56,
  CAPSLOCK: 58,
  F1: 59,
  NUMLOCK: 69,
  SCROLLLOCK: 70,
  KPENTER: 96,
  RIGHTCTRL: 97,
  RIGHTALT: 100,
  LEFTMETA: 125,
  RIGHTMETA: 126,
} as const;

/** Key code -> [plain, shifted] on a US keyboard. */
const US: ReadonlyMap<number, readonly [string, string]> = new Map<number, readonly [string, string]>([
  [2, ['1', '!']],
  [3, ['2', '@']],
  [4, ['3', '#']],
  [5, ['4', '$']],
  [6, ['5', '%']],
  [7, ['6', '^']],
  [8, ['7', '&']],
  [9, ['8', '*']],
  [10, ['9', '(']],
  [11, ['0', ')']],
  [12, ['-', '_']],
  [13, ['=', '+']],
  [16, ['q', 'Q']],
  [17, ['w', 'W']],
  [18, ['e', 'E']],
  [19, ['r', 'R']],
  [20, ['t', 'T']],
  [21, ['y', 'Y']],
  [22, ['u', 'U']],
  [23, ['i', 'I']],
  [24, ['o', 'O']],
  [25, ['p', 'P']],
  [26, ['[', '{']],
  [27, [']', '}']],
  [30, ['a', 'A']],
  [31, ['s', 'S']],
  [32, ['d', 'D']],
  [33, ['f', 'F']],
  [34, ['g', 'G']],
  [35, ['h', 'H']],
  [36, ['j', 'J']],
  [37, ['k', 'K']],
  [38, ['l', 'L']],
  [39, [';', ':']],
  [40, ["'", '"']],
  [41, ['`', '~']],
  [43, ['\\', '|']],
  [44, ['z', 'Z']],
  [45, ['x', 'X']],
  [46, ['c', 'C']],
  [47, ['v', 'V']],
  [48, ['b', 'B']],
  [49, ['n', 'N']],
  [50, ['m', 'M']],
  [51, [',', '<']],
  [52, ['.', '>']],
  [53, ['/', '?']],
  [57, [' ', ' ']],
  // Keypad (num lock on, as scanners that use it assume).
  [55, ['*', '*']],
  [71, ['7', '7']],
  [72, ['8', '8']],
  [73, ['9', '9']],
  [74, ['-', '-']],
  [75, ['4', '4']],
  [76, ['5', '5']],
  [77, ['6', '6']],
  [78, ['+', '+']],
  [79, ['1', '1']],
  [80, ['2', '2']],
  [81, ['3', '3']],
  [82, ['0', '0']],
  [83, ['.', '.']],
  [98, ['/', '/']],
  [117, ['=', '=']],
]);

const CONTROL: ReadonlyMap<number, number> = new Map([
  [KEY.ESC, 0x1b],
  [KEY.BACKSPACE, 0x08],
  [KEY.TAB, 0x09],
  [KEY.ENTER, 0x0d],
  [KEY.KPENTER, 0x0d],
]);
const SILENT = new Set<number>([KEY.NUMLOCK, KEY.SCROLLLOCK]);
const NO_CHARACTER = 0xff;

/** The key that types `ch` on a US keyboard, and whether it needs shift (for fake devices). */
export function keyForChar(ch: string): { code: number; shift: boolean } | undefined {
  for (const [code, [plain, shifted]] of US) {
    if (code >= 55 && code !== 57) continue; // prefer the main block over the keypad
    if (plain === ch) return { code, shift: false };
    if (shifted === ch) return { code, shift: true };
  }
  return undefined;
}

export class UsKeyDecoder {
  #shift = new Set<number>();
  #ctrl = new Set<number>();
  #altOrMeta = new Set<number>();
  #caps = false;

  /** The bytes typed by these events (CR for Enter). */
  push(events: readonly InputEvent[]): number[] {
    const out: number[] = [];
    for (const ev of events) {
      if (ev.type !== EV_KEY) continue; // EV_SYN, EV_MSC scan codes, LEDs
      const code = ev.code;
      if (this.#modifier(code, ev.value)) continue;
      if (ev.value !== KEY_PRESS) continue; // releases, and autorepeat (see above)
      out.push(this.#byteOf(code));
    }
    return out;
  }

  /** Forgets held modifiers (after an unplug the release events never come). */
  reset(): void {
    this.#shift.clear();
    this.#ctrl.clear();
    this.#altOrMeta.clear();
    this.#caps = false;
  }

  #modifier(code: number, value: number): boolean {
    const held =
      code === KEY.LEFTSHIFT || code === KEY.RIGHTSHIFT
        ? this.#shift
        : code === KEY.LEFTCTRL || code === KEY.RIGHTCTRL
          ? this.#ctrl
          : code === KEY.LEFTALT || code === KEY.RIGHTALT || code === KEY.LEFTMETA || code === KEY.RIGHTMETA
            ? this.#altOrMeta
            : undefined;
    if (held) {
      if (value === KEY_RELEASE) held.delete(code);
      else held.add(code);
      return true;
    }
    if (code === KEY.CAPSLOCK) {
      if (value === KEY_PRESS) this.#caps = !this.#caps;
      return true;
    }
    return SILENT.has(code);
  }

  #byteOf(code: number): number {
    const control = CONTROL.get(code);
    if (control !== undefined) return control;
    const pair = US.get(code);
    if (!pair || this.#altOrMeta.size > 0) return NO_CHARACTER;
    const [plain, shifted] = pair;
    const letter = plain >= 'a' && plain <= 'z';
    const upper = this.#shift.size > 0 !== (letter && this.#caps);
    const ch = upper ? shifted : plain;
    if (this.#ctrl.size > 0) {
      const c = ch.toUpperCase().charCodeAt(0);
      return c >= 0x40 && c <= 0x5f ? c & 0x1f : NO_CHARACTER; // Ctrl+] is GS (GS1 FNC1)
    }
    return ch.charCodeAt(0);
  }
}
