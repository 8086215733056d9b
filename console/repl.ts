// SPDX-License-Identifier: Apache-2.0
// The interactive console: node:readline with a prompt, history kept in a file across sessions
// (history.ts), tab completion (completer.ts), Ctrl-C stopping the running command (a `watch`, or
// the wait for an ack) and Ctrl-D or `quit` leaving. Lines are handled one at a time in order.
import { createInterface } from 'node:readline';
import type { Completer } from './completer.ts';
import { loadHistory, saveHistory } from './history.ts';
import { splitWords } from './words.ts';

export interface ReplOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** A terminal: line editing, up-arrow history and completion are on. */
  terminal: boolean;
  historyFile: string;
  historyMax: number;
  completer: Completer;
  /** Runs one command's words; resolves 'quit' to leave. Must not throw. */
  execute(words: string[], signal: AbortSignal): Promise<'quit' | undefined>;
  prompt?: string;
}

export async function runRepl(o: ReplOptions): Promise<void> {
  const history = loadHistory(o.historyFile, o.historyMax);
  const rl = createInterface({
    input: o.input,
    output: o.output,
    terminal: o.terminal,
    completer: o.completer,
    history: [...history].reverse(),
    historySize: o.historyMax,
    removeHistoryDuplicates: true,
  });
  let current: AbortController | null = null;
  let historyBroken = false;
  // Input can end while a command runs (a piped script); Node 24+ throws on prompt() after close.
  let closed = false;
  rl.once('close', () => {
    closed = true;
  });
  rl.on('SIGINT', () => {
    if (current) current.abort();
    else if (!closed) {
      o.output.write('\n(type quit or press Ctrl-D to leave)\n');
      rl.prompt();
    }
  });
  rl.setPrompt(o.prompt ?? 'kioskpay> ');
  rl.prompt();
  for await (const line of rl) {
    const trimmed = line.trim();
    if (trimmed !== '') {
      history.push(trimmed);
      try {
        saveHistory(o.historyFile, history, o.historyMax);
      } catch (e) {
        if (!historyBroken) o.output.write(`(history not saved to ${o.historyFile}: ${(e as Error).message})\n`);
        historyBroken = true;
      }
      const split = splitWords(trimmed);
      if (!split.ok) o.output.write(`${split.message}\n`);
      else {
        current = new AbortController();
        const r = await o.execute(split.words, current.signal);
        current = null;
        if (r === 'quit') break;
      }
    }
    if (!closed) rl.prompt();
  }
  rl.close();
}
