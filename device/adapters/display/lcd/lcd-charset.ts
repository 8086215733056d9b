// SPDX-License-Identifier: Apache-2.0
// The character set of an HD44780 LCD with character ROM A00 (the common "Japanese" ROM on 20x4 I2C
// modules). Codes 0x20-0x7D are ASCII except 0x5C, which shows ¥ (there is no backslash), and 0x7E
// and 0x7F, which show → and ←. Text for the LCD goes through two steps:
// - toLcdText() turns any string into the characters the ROM can show, one character per cell:
//   full-width forms and accents are folded (NFKD), common punctuation is transliterated, control
//   characters become spaces, and every other grapheme (Japanese, emoji, a flag) becomes one '?'.
// - lcdRomCodes() turns such text into the ROM codes written to the LCD ('¥' -> 0x5C).
// Lines kept in memory (the sim, tests, logs) hold the readable form, never ROM codes.

/** What is shown for a grapheme the ROM cannot show. */
export const LCD_FALLBACK = '?';

/** Readable characters with a ROM code that differs from their code point. */
const ROM_SPECIAL: ReadonlyMap<string, number> = new Map([
  ['¥', 0x5c],
  ['→', 0x7e],
  ['←', 0x7f],
]);

/** Characters (after NFKD and removing combining marks) written as other ROM characters. */
const TRANSLITERATION: ReadonlyMap<string, string> = new Map([
  ['\\', '/'], // 0x5C is ¥ on ROM A00
  ['~', '-'], // 0x7E is →
  ['‘', "'"],
  ['’', "'"],
  ['‚', "'"],
  ['‛', "'"],
  ['′', "'"],
  ['`', "'"],
  ['“', '"'],
  ['”', '"'],
  ['„', '"'],
  ['″', '"'],
  ['«', '"'],
  ['»', '"'],
  ['「', '"'],
  ['」', '"'],
  ['‐', '-'],
  ['‑', '-'],
  ['‒', '-'],
  ['–', '-'],
  ['—', '-'],
  ['―', '-'],
  ['−', '-'],
  ['ー', '-'],
  ['×', 'x'],
  ['÷', '/'],
  ['•', '*'],
  ['·', '.'],
  ['・', '.'],
  ['、', ','],
  ['。', '.'],
  ['€', 'EUR'],
  ['£', 'GBP'],
  ['¢', 'c'],
  ['©', '(c)'],
  ['®', '(R)'],
  ['™', 'TM'],
  ['°', 'o'],
  ['ß', 'ss'],
  ['æ', 'ae'],
  ['Æ', 'AE'],
  ['œ', 'oe'],
  ['Œ', 'OE'],
  ['ø', 'o'],
  ['Ø', 'O'],
  ['ł', 'l'],
  ['Ł', 'L'],
  ['đ', 'd'],
  ['Đ', 'D'],
  ['ı', 'i'],
  ['¡', '!'],
  ['¿', '?'],
]);

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });
const COMBINING_MARK = /\p{M}/gu;
const FORMAT_CHAR = /\p{Cf}/gu;

/** True for a character the ROM shows as itself or through ROM_SPECIAL. */
export function isLcdChar(ch: string): boolean {
  if (ch.length !== 1) return false;
  if (ROM_SPECIAL.has(ch)) return true;
  const c = ch.charCodeAt(0);
  return c >= 0x20 && c <= 0x7d && ch !== '\\';
}

function mapChar(ch: string): string | undefined {
  if (isLcdChar(ch)) return ch;
  const t = TRANSLITERATION.get(ch);
  if (t !== undefined) return t;
  const c = ch.codePointAt(0) ?? 0;
  if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return ' ';
  return undefined;
}

function mapGrapheme(g: string): string {
  const direct = mapChar(g);
  if (direct !== undefined) return direct;
  // Accents and other combining marks go; so do zero-width spaces, joiners and bidi marks.
  const folded = g.normalize('NFKD').replace(COMBINING_MARK, '').replace(FORMAT_CHAR, '');
  if (folded === '') return '';
  let out = '';
  for (const ch of folded) {
    const m = mapChar(ch);
    if (m === undefined) return LCD_FALLBACK;
    out += m;
  }
  return out;
}

/**
 * Any text as characters the ROM can show (one UTF-16 unit per cell). A run of graphemes it cannot
 * show (a Japanese sentence, a row of emoji) becomes a single '?'. Never throws.
 */
export function toLcdText(text: string): string {
  let out = '';
  let afterFallback = false;
  for (const { segment } of segmenter.segment(text)) {
    const m = mapGrapheme(segment);
    if (m === LCD_FALLBACK && afterFallback) continue;
    afterFallback = m === LCD_FALLBACK;
    out += m;
  }
  return out;
}

/** The ROM codes for text made by toLcdText(); anything else is written as '?'. */
export function lcdRomCodes(text: string): number[] {
  const codes: number[] = [];
  for (const ch of text) {
    const special = ROM_SPECIAL.get(ch);
    codes.push(special ?? (isLcdChar(ch) ? ch.charCodeAt(0) : LCD_FALLBACK.charCodeAt(0)));
  }
  return codes;
}

/** The readable character for a ROM code read back from the LCD (tests and the HD44780 model). */
export function lcdCharForRom(code: number): string {
  for (const [ch, c] of ROM_SPECIAL) if (c === code) return ch;
  return code >= 0x20 && code <= 0x7d ? String.fromCharCode(code) : '\uFFFD';
}
