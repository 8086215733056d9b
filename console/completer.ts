// SPDX-License-Identifier: Apache-2.0
// Tab completion for the REPL (node:readline's completer contract: return [candidates, the word
// being completed]). The first word completes to command names; a command's kiosk argument to the
// kiosk ids known from the fleet's retained status; `test KIOSK ` to led/buzzer/relay; `--` to the
// command's options; `--mode ` to the policy modes.
import { POLICY_MODES } from '../shared/kiosk-policy.ts';
import { CONSOLE_COMMANDS, TEST_TARGETS } from './console-commands.ts';

const OPTIONS: Readonly<Record<string, readonly string[]>> = {
  policy: ['--mode', '--stored-count-max', '--stored-amount-max', '--offline-duration-max-h'],
  message: ['--seconds'],
  watch: ['--count'],
  alerts: ['--follow', '--count'],
};

export type Completer = (line: string) => [string[], string];

export function makeCompleter(kioskIds: () => string[]): Completer {
  return (line) => {
    const words = line.split(/[ \t]+/);
    const current = words.pop() ?? '';
    const before = words.filter((w) => w !== '');
    const match = (candidates: readonly string[]): [string[], string] => {
      const hits = candidates.filter((c) => c.startsWith(current));
      return [hits.length === 1 ? [hits[0]! + ' '] : hits, current];
    };
    if (before.length === 0) return match(CONSOLE_COMMANDS.map((c) => c.name));
    const spec = CONSOLE_COMMANDS.find((c) => c.name === before[0]);
    if (!spec) return [[], current];
    if (before.at(-1) === '--mode') return match(POLICY_MODES);
    if (current.startsWith('-')) return match(OPTIONS[spec.name] ?? []);
    const positionals = before.slice(1).filter((w, i, all) => !w.startsWith('--') && !all[i - 1]?.startsWith('--'));
    if (spec.takesKiosk && positionals.length === 0) return match(kioskIds());
    if (spec.name === 'test' && positionals.length === 1) return match(TEST_TARGETS);
    if (spec.name === 'help' && positionals.length === 0) return match(CONSOLE_COMMANDS.map((c) => c.name));
    return [[], current];
  };
}
