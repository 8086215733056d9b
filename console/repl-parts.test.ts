// SPDX-License-Identifier: Apache-2.0
// The REPL's parts without a broker: tab completion (the readline completer called directly),
// the capped history file, word splitting, command parsing and the progress bar.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeCompleter } from './completer.ts';
import { parseCommandWords, UsageError } from './console-commands.ts';
import { loadHistory, saveHistory } from './history.ts';
import { renderProgressBar } from './progress-bar.ts';
import { splitWords } from './words.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kp-repl-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('completer', () => {
  const complete = makeCompleter(() => ['k1', 'k2', 'lobby-3']);
  it('completes command names, then kiosk ids, then test targets, options and modes', () => {
    expect(complete('')[0]).toContain('reload-catalog');
    expect(complete('st')).toEqual([['status', 'stored'], 'st']);
    expect(complete('forw')).toEqual([['forward '], 'forw']);
    expect(complete('status ')).toEqual([['k1', 'k2', 'lobby-3'], '']);
    expect(complete('status k')).toEqual([['k1', 'k2'], 'k']);
    expect(complete('status lo')).toEqual([['lobby-3 '], 'lo']);
    expect(complete('test k1 ')).toEqual([['led', 'buzzer', 'relay'], '']);
    expect(complete('test k1 b')).toEqual([['buzzer '], 'b']);
    expect(complete('policy k1 --')).toEqual([['--mode', '--stored-count-max', '--stored-amount-max', '--offline-duration-max-h'], '--']);
    expect(complete('policy k1 --mode f')).toEqual([['force-offline '], 'f']);
    expect(complete('policy k1 --mode force-offline --st')).toEqual([['--stored-count-max', '--stored-amount-max'], '--st']);
    expect(complete('help po')).toEqual([['policy '], 'po']);
    expect(complete('alerts --')).toEqual([['--follow', '--count'], '--']);
    expect(complete('alerts ')).toEqual([[], '']);
    expect(complete('list ')).toEqual([[], '']);
    expect(complete('status k1 ')).toEqual([[], '']);
    expect(complete('nonsense k')).toEqual([[], 'k']);
  });
});

describe('history file', () => {
  it('keeps the newest lines up to the cap, oldest first, mode 0600, and survives a missing file', () => {
    const path = join(dir, 'h');
    expect(loadHistory(path, 3)).toEqual([]);
    saveHistory(path, ['list', 'status k1', '', 'forward k1', 'quit'], 3);
    expect(readFileSync(path, 'utf8')).toBe('status k1\nforward k1\nquit\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(loadHistory(path, 2)).toEqual(['forward k1', 'quit']);
  });
});

describe('words and commands', () => {
  it('splits quoted words and refuses an unclosed quote', () => {
    expect(splitWords(`message k1 "Out of order" --seconds 5`)).toEqual({
      ok: true,
      words: ['message', 'k1', 'Out of order', '--seconds', '5'],
    });
    expect(splitWords(`message k1 'it''s' a\\ b "say \\"hi\\""`)).toEqual({ ok: true, words: ['message', 'k1', 'its', 'a b', 'say "hi"'] });
    expect(splitWords('message k1 "oops')).toEqual({ ok: false, message: 'unclosed " quote' });
  });

  it('parses each command and refuses bad arguments with a UsageError', () => {
    expect(parseCommandWords(['policy', 'k1', '--mode', 'require-online', '--stored-amount-max', '50000'])).toEqual({
      kind: 'send',
      verb: 'policy',
      kioskId: 'k1',
      body: { name: 'set-policy', policy: { mode: 'require-online', caps: { storedAmountMax: 50_000 } } },
    });
    expect(parseCommandWords(['message', 'k1', '--seconds', '0'])).toEqual({
      kind: 'send',
      verb: 'message',
      kioskId: 'k1',
      body: { name: 'display-message', text: '', seconds: 0 },
    });
    expect(parseCommandWords(['message', 'k1', 'Hello'])).toMatchObject({ body: { text: 'Hello', seconds: 30 } });
    expect(parseCommandWords(['watch'])).toEqual({ kind: 'watch', kioskId: null, count: null });
    expect(parseCommandWords(['stored', 'k1'])).toMatchObject({ body: { name: 'list-stored' } });
    expect(parseCommandWords(['alerts'])).toEqual({ kind: 'alerts', follow: false, count: null });
    expect(parseCommandWords(['alerts', '--follow', '--count', '3'])).toEqual({ kind: 'alerts', follow: true, count: 3 });
    for (const bad of [
      ['message', 'k1', 'x'.repeat(121)],
      ['message', 'k1'],
      ['status', 'k1', '--mode', 'force-offline'],
      ['policy', 'k1', '--offline-duration-max-h', '1.5'],
      ['policy', 'k1', '--offline-duration-max-h', '169'],
      ['watch', 'k1', '--count', '0'],
      ['list', 'k1'],
      ['status', '+'],
      [],
      ['alerts', '--count', '3'],
      ['alerts', 'k1'],
      ['alerts', '--follow', '--count', '0'],
      ['watch', '--follow'],
    ]) {
      expect(() => parseCommandWords(bad), bad.join(' ')).toThrow(UsageError);
    }
  });
});

describe('progress bar', () => {
  it('fills in proportion and clamps', () => {
    expect(renderProgressBar(0, 800, 10)).toBe('[..........]   0/800   0%');
    expect(renderProgressBar(300, 800, 10)).toBe('[####......] 300/800  37%');
    expect(renderProgressBar(900, 800, 10)).toBe('[##########] 800/800 100%');
    expect(renderProgressBar(0, 0, 4)).toBe('[####] 0/0 100%');
  });
});
