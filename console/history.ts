// SPDX-License-Identifier: Apache-2.0
// The REPL's history file: one command per line, oldest first (as a shell keeps it), capped at
// `max` lines, written with mode 0600 (a message text may be private) by temp file + rename so a
// crash never leaves half a file. Lines with a newline or over LINE_MAX characters are not kept.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

export const HISTORY_MAX_DEFAULT = 500;
const LINE_MAX = 1_000;

/** The stored lines, oldest first; a missing or unreadable file is an empty history. */
export function loadHistory(path: string, max: number): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && l.length <= LINE_MAX)
    .slice(-max);
}

/** Stores `lines` (oldest first), keeping the newest `max`. Throws on a write error. */
export function saveHistory(path: string, lines: readonly string[], max: number): void {
  const kept = lines.filter((l) => l.trim() !== '' && !l.includes('\n') && l.length <= LINE_MAX).slice(-max);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, kept.length === 0 ? '' : kept.join('\n') + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}
