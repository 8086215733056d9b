// SPDX-License-Identifier: Apache-2.0
// The layout of a character LCD (20x4 by default): a DisplayView as exactly `rows` lines of exactly
// `cols` characters of the HD44780 ROM A00 set (lcd-charset.ts). Pure; words come from words.ts.
//   row 0         the screen's title with its amount ("Pay ¥1,200"); an amount is never cut:
//                 when the title is too wide the label goes, then the digit grouping.
//   rows 1..n-2   the body, word-wrapped: the technician's message, then the hint, then the
//                 screen's own lines, each paragraph starting on a new row, as many as fit; the
//                 last row that cannot hold the rest of its paragraph ends with "...".
//   row n-1       the status line (with 3 rows or more): faults and stored payments on the left,
//                 "OFFLINE" discreetly at the right.
import { assert } from '../../../../shared/assert.ts';
import { CURRENCIES, formatMoney, type Money } from '../../../../shared/money.ts';
import type { DisplayView } from '../../../display/display.ts';
import { screenWords } from '../../../display/words.ts';
import { toLcdText } from './lcd-charset.ts';

export const LCD_COLS = 20;
export const LCD_ROWS = 4;
/** Supported sizes: 16x2 up to 40x4 (every common HD44780 module). */
export const LCD_COLS_MIN = 16;
export const LCD_COLS_MAX = 40;
export const LCD_ROWS_MIN = 2;
export const LCD_ROWS_MAX = 4;

export const ELLIPSIS = '...';
export const OFFLINE_MARK = 'OFFLINE';
/** Stands in for a word cut by the wrap; kept out of the LCD set so it cannot occur in the text. */
const NBSP = '\u00a0';

/** A size outside the supported range is a programmer (or config schema) error. */
export function assertLcdSize(cols: number, rows: number): void {
  assert(
    Number.isInteger(cols) && cols >= LCD_COLS_MIN && cols <= LCD_COLS_MAX,
    `LCD cols must be ${LCD_COLS_MIN}-${LCD_COLS_MAX}, got ${cols}`,
  );
  assert(
    Number.isInteger(rows) && rows >= LCD_ROWS_MIN && rows <= LCD_ROWS_MAX,
    `LCD rows must be ${LCD_ROWS_MIN}-${LCD_ROWS_MAX}, got ${rows}`,
  );
}

export function lcdLines(view: DisplayView, cols = LCD_COLS, rows = LCD_ROWS): string[] {
  assertLcdSize(cols, rows);
  const words = screenWords(view);
  const hasStatus = rows >= 3;
  const paragraphs = [view.message, view.hint?.text, ...words.lines].filter((p): p is string => p !== undefined && p.trim() !== '');
  const lines = [titleLine(view, words.title, cols), ...fillRows(paragraphs, rows - 1 - (hasStatus ? 1 : 0), cols)];
  if (hasStatus) lines.push(statusLine(view, cols));
  return lines.map((l) => fitWidth(l, cols));
}

/** The amount a screen is about, if any (it must survive any shortening of the title). */
function screenAmount(view: DisplayView): Money | undefined {
  const s = view.screen;
  switch (s.name) {
    case 'basket':
    case 'awaitingCode':
      return s.basket.total;
    case 'authorising':
    case 'approved':
      return s.total;
    default:
      return undefined;
  }
}

function titleLine(view: DisplayView, title: string, cols: number): string {
  const full = toLcdText(title).trim();
  if (full.length <= cols) return full;
  const amount = screenAmount(view);
  if (amount === undefined) return ellipsize(full, cols);
  for (const candidate of [toLcdText(formatMoney(amount)), compactMoney(amount)]) {
    if (candidate.length <= cols) return candidate;
  }
  // Wider than the LCD even without grouping: show that it does not fit, never a wrong number.
  return '#'.repeat(cols);
}

/** "¥1200", "USD 1234.56": the amount without digit grouping. */
export function compactMoney(m: Money): string {
  const exp = CURRENCIES[m.currency];
  const abs = Math.abs(m.value);
  const major = String(Math.floor(abs / 10 ** exp));
  const minor = exp > 0 ? '.' + String(abs % 10 ** exp).padStart(exp, '0') : '';
  const sign = m.value < 0 ? '-' : '';
  return m.currency === 'JPY' ? `${sign}¥${major}` : `${sign}${m.currency} ${major}${minor}`;
}

/** Paragraphs word-wrapped into at most `n` rows; always exactly `n` rows back. */
function fillRows(paragraphs: readonly string[], n: number, cols: number): string[] {
  const out: string[] = [];
  for (const p of paragraphs) {
    const remaining = n - out.length;
    if (remaining <= 0) break;
    const wrapped = wrap(keepAmountsWhole(toLcdText(p), cols), cols);
    if (wrapped.length <= remaining) {
      out.push(...wrapped);
    } else {
      out.push(...wrapped.slice(0, remaining - 1), ellipsize(wrapped.slice(remaining - 1).join(' '), cols));
    }
  }
  while (out.length < n) out.push('');
  return out.map((l) => l.replaceAll(NBSP, ' '));
}

/** "USD 12.00" is not split over two rows (when it fits in one): glue the code to its number. */
function keepAmountsWhole(text: string, cols: number): string {
  return text.replace(/\b(USD|EUR|JPY) (-?\d[\d,.]*)/g, (m, code: string, num: string) => (m.length <= cols ? `${code}${NBSP}${num}` : m));
}

/** Greedy word wrap; a word longer than a row is cut across rows. Whitespace runs collapse. */
export function wrap(text: string, cols: number): string[] {
  const rows: string[] = [];
  let row = '';
  for (let word of text.split(/[ \t\r\n]+/).filter((w) => w !== '')) {
    while (word.length > cols) {
      if (row !== '') rows.push(row);
      rows.push(word.slice(0, cols));
      word = word.slice(cols);
      row = '';
    }
    if (word === '') continue;
    if (row === '') row = word;
    else if (row.length + 1 + word.length <= cols) row += ' ' + word;
    else {
      rows.push(row);
      row = word;
    }
  }
  if (row !== '') rows.push(row);
  return rows;
}

/** Text cut to `cols` with "...", at a word boundary when that keeps at least half the row. */
export function ellipsize(text: string, cols: number): string {
  const t = text.trim();
  if (t.length <= cols) return t;
  let cut = t.slice(0, cols - ELLIPSIS.length);
  const space = cut.lastIndexOf(' ');
  if (space >= cols / 2) cut = cut.slice(0, space);
  return cut.trimEnd().replace(/[.,;:]+$/, '') + ELLIPSIS;
}

function count(n: number): string {
  return Number.isSafeInteger(n) && n >= 0 ? String(n) : '?';
}

function statusLine(view: DisplayView, cols: number): string {
  const right = view.offline ? OFFLINE_MARK : '';
  const room = cols - right.length - (right === '' ? 0 : 1);
  const stored = view.forwarding
    ? `sending ${count(view.forwarding.done)}/${count(view.forwarding.total)}`
    : view.storedCount > 0
      ? `${count(view.storedCount)} stored`
      : '';
  const n = view.faults.length;
  const faultCount = n === 0 ? '' : `!${n} fault${n === 1 ? '' : 's'}`;
  const faultWords = n === 1 ? `!${toLcdText(view.faults[0] ?? '')}` : faultCount;
  const join = (a: string, b: string) => [a, b].filter((x) => x !== '').join(' ');
  // The fault in words when it fits, else how many faults: the stored count is never pushed out.
  const candidates = [join(stored, faultWords), join(stored, faultCount), join(stored, n === 0 ? '' : '!')];
  const left = candidates.find((c) => c.length <= room) ?? candidates[candidates.length - 1]!;
  return ellipsize(left, room).padEnd(cols - right.length, ' ') + right;
}

/** Exactly `cols` characters. */
function fitWidth(line: string, cols: number): string {
  return line.length > cols ? line.slice(0, cols) : line.padEnd(cols, ' ');
}
