// SPDX-License-Identifier: Apache-2.0
// Which cells of one LCD row must be rewritten to turn `shown` into `wanted`: one span, from the
// first to the last differing cell. Over Firmata each character costs about 30 bytes on a
// 57,600-baud line, so a status change rewrites a few cells, not the whole screen.

export interface RowSpan {
  readonly start: number;
  /** One past the last cell to write. */
  readonly end: number;
}

/** The span to rewrite, or undefined when the row already shows `wanted`. */
export function changedSpan(shown: string, wanted: string): RowSpan | undefined {
  const n = Math.max(shown.length, wanted.length);
  let start = 0;
  while (start < n && shown[start] === wanted[start]) start++;
  if (start === n) return undefined;
  let end = n;
  while (end > start && shown[end - 1] === wanted[end - 1]) end--;
  return { start, end: Math.min(end, wanted.length) };
}
