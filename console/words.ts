// SPDX-License-Identifier: Apache-2.0
// Splits a REPL line into words like a shell does for the simple cases: spaces separate, 'single'
// and "double" quotes group (so `message k1 "Out of order"` works), a backslash escapes the next
// character outside single quotes. An unclosed quote is an error, not a guess.

export function splitWords(line: string): { ok: true; words: string[] } | { ok: false; message: string } {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (ch === ' ' || ch === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) return { ok: false, message: `unclosed ${quote} quote` };
  if (inWord) words.push(word);
  return { ok: true, words };
}
