// SPDX-License-Identifier: Apache-2.0
// "Did you mean …?": the known names nearest to a mistyped one, by edit distance (insertions,
// deletions, substitutions and swaps of two neighbouring characters each count 1, so `kiosk1`,
// `kisok-1` and `kiosk-7` are all one step from `kiosk-1`). Used for unknown kiosk ids and
// unknown console commands.

/** Most suggestions given. */
export const SUGGESTIONS_MAX = 3;
/** Longest word compared (kiosk ids are at most 32 characters; a longer word is no typo of one). */
const WORD_LENGTH_MAX = 64;

/** Optimal string alignment distance between a and b (at most WORD_LENGTH_MAX characters each). */
export function editDistance(a: string, b: string): number {
  if (a.length > WORD_LENGTH_MAX || b.length > WORD_LENGTH_MAX) return Math.max(a.length, b.length);
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/**
 * The known names close enough to `word` to be what was meant, nearest first (ties in the order
 * given), at most SUGGESTIONS_MAX. Close enough: 1 edit for a word of up to 3 characters (so `zz`
 * is nobody's typo of `k1`), else 2, or a third of the word's length for longer words. Empty when
 * nothing is close.
 */
export function nearest(word: string, known: readonly string[]): string[] {
  const limit = word.length <= 3 ? 1 : Math.max(2, Math.floor(word.length / 3));
  return known
    .map((name, i) => ({ name, i, d: editDistance(word, name) }))
    .filter((c) => c.d <= limit && c.name !== word)
    .sort((x, y) => x.d - y.d || x.i - y.i)
    .slice(0, SUGGESTIONS_MAX)
    .map((c) => c.name);
}

/** "a", "a or b", "a, b or c". */
export function orList(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}
