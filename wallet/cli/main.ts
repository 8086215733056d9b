// SPDX-License-Identifier: Apache-2.0
// `kioskpay wallet`: the shopper's wallet on the command line. Parses arguments, takes the state-file
// lock, runs one subcommand, and maps failures to exit codes: 0 ok, 1 operating error (its typed code
// on stderr), 2 wrong usage.
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../../shared/clock.ts';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import { cryptoRandom } from '../../shared/random.ts';
import { systemTimers } from '../core/timers.ts';
import { isWalletFailure } from '../core/wallet-errors.ts';
import {
  STATE_DEFAULT_MARK,
  UsageError,
  type CliEnv,
  type Command,
  type CommandContext,
  type OptionValues,
  type OptionsConfig,
} from './command.ts';
import { balanceCommand } from './commands/balance.ts';
import { codeCommand } from './commands/code.ts';
import { credentialCommand } from './commands/credential.ts';
import { enrollCommand } from './commands/enroll.ts';
import { historyCommand } from './commands/history.ts';
import { syncCommand } from './commands/sync.ts';
import { topupCommand } from './commands/topup.ts';
import { WalletStateFile, defaultStatePlace, lockStateFile, resolveStatePath } from './state-file.ts';

const COMMANDS: readonly Command[] = [
  enrollCommand,
  topupCommand,
  balanceCommand,
  historyCommand,
  syncCommand,
  credentialCommand,
  codeCommand,
];

const COMMON_OPTIONS: OptionsConfig = {
  state: { type: 'string' },
  server: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/** Options that take a value, in any command: what follows one of them is its value, not the command name. */
const VALUE_OPTIONS = new Set(
  [COMMON_OPTIONS, ...COMMANDS.map((c) => c.options)].flatMap((o) =>
    Object.entries(o)
      .filter(([, spec]) => spec.type === 'string')
      .map(([name]) => `--${name}`),
  ),
);

/** The command name (the first word that is neither an option nor an option's value) and every other argument. */
export function splitCommandLine(argv: readonly string[]): { name: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return { name: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { name: undefined, rest: [...argv] };
}

/** The state file of a run and the platform's default, from --state (anywhere on the line) and the environment. */
function statePathFor(env: CliEnv, flag: string | undefined) {
  return resolveStatePath({
    flag: flag === undefined ? undefined : resolve(flag),
    home: env.homeDir,
    env: env.vars,
    platform: env.platform,
  });
}

export function walletHelp(env: CliEnv, stateFlag?: string): string {
  const place = defaultStatePlace({ home: env.homeDir, env: env.vars, platform: env.platform });
  const inUse = statePathFor(env, stateFlag);
  const note =
    inUse.source === 'legacy'
      ? `\n                    In use: ${inUse.path}, the place before this version (move it to the\n                    default above, or keep passing --state).`
      : inUse.source === 'flag'
        ? `\n                    In use: ${inUse.path} (--state).`
        : '';
  return `Usage: kioskpay wallet <command> [options]

The shopper's wallet: enroll with a payment server, then show codes at a kiosk. Online codes come
from the server; when it cannot be reached within 3 s, an offline code is made on this machine.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(11)} ${c.summary}`).join('\n')}

Common options (anywhere on the line, before or after the command):
  --state FILE      the wallet state file: private keys and counters, mode 0600. Default here:
                    ${place.path}
                    (${place.rule})${note}
  --server URL      payment server (stored at enroll; overrides the stored one for this run)
  -h, --help        help for a command

Exit status: 0 ok, 1 operating error (typed code on stderr), 2 wrong usage.
Run 'kioskpay wallet <command> --help' for a command's options.
`;
}

/** A command's help, with the state file's default as it is on this machine. */
function commandHelp(env: CliEnv, command: Command): string {
  const place = defaultStatePlace({ home: env.homeDir, env: env.vars, platform: env.platform });
  return command.help.replace(STATE_DEFAULT_MARK, place.path);
}

function defaultEnv(): CliEnv {
  return {
    stdout: (t) => {
      process.stdout.write(t);
    },
    stderr: (t) => {
      process.stderr.write(t);
    },
    stdoutIsTerminal: process.stdout.isTTY === true,
    clock: systemClock,
    timers: systemTimers,
    random: cryptoRandom,
    ed: naclEd25519,
    homeDir: homedir(),
    vars: process.env,
    platform: process.platform,
  };
}

/** Runs `kioskpay wallet ...`. `env` replaces parts of the outside world (tests). */
export async function walletCommand(argv: string[], env: Partial<CliEnv> = {}): Promise<number> {
  const e: CliEnv = { ...defaultEnv(), ...env };
  let { name, rest } = splitCommandLine(argv);
  const stateFlag = (() => {
    try {
      return parseArgs({ args: rest, options: COMMON_OPTIONS, strict: false, allowPositionals: true }).values.state;
    } catch {
      return undefined;
    }
  })();
  const asksHelp = rest.includes('--help') || rest.includes('-h');
  if (name === 'help') ({ name, rest } = { name: rest.find((a) => !a.startsWith('-')), rest: ['--help'] });
  if (name === undefined) {
    (asksHelp || argv[0] === 'help' ? e.stdout : e.stderr)(walletHelp(e, typeof stateFlag === 'string' ? stateFlag : undefined));
    return asksHelp || argv[0] === 'help' ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    e.stderr(`kioskpay wallet: unknown command '${name}'\n\n${walletHelp(e)}`);
    return 2;
  }
  let values: OptionValues;
  let positionals: string[];
  try {
    ({ values, positionals } = parse(command, rest));
  } catch (err) {
    return usageFailure(e, command, err);
  }
  if (values.help) {
    e.stdout(commandHelp(e, command));
    return 0;
  }
  return runLocked(e, command, values, positionals);
}

function parse(command: Command, args: string[]): { values: OptionValues; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...COMMON_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const values = parsed.values as OptionValues;
  if (values.help) return { values, positionals: parsed.positionals };
  const [min, max] = command.positionals;
  const n = parsed.positionals.length;
  if (n < min || n > max) {
    throw new UsageError(
      n > max ? `unexpected argument '${parsed.positionals[max]}'` : `${command.name} needs ${min} argument${min === 1 ? '' : 's'}`,
    );
  }
  return { values, positionals: parsed.positionals };
}

async function runLocked(env: CliEnv, command: Command, values: OptionValues, positionals: string[]): Promise<number> {
  const state = statePathFor(env, typeof values.state === 'string' ? values.state : undefined);
  const statePath = state.path;
  const note = (text: string) => env.stderr(`kioskpay wallet ${command.name}: ${text}\n`);
  if (state.source === 'legacy')
    note(`using ${statePath}, where versions before this one kept the wallet; move it to ${state.defaultPath} (or pass --state)`);
  let release: (() => Promise<void>) | undefined;
  try {
    release = await lockStateFile(statePath);
    const ctx: CommandContext = { env, values, positionals, store: new WalletStateFile(statePath), note };
    return await command.run(ctx);
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(env, command, err);
    if (!isWalletFailure(err)) throw err;
    env.stderr(`kioskpay wallet ${command.name}: ${err.code}: ${err.message}\n`);
    return 1;
  } finally {
    await release?.();
  }
}

function usageFailure(env: CliEnv, command: Command, err: unknown): number {
  env.stderr(
    `kioskpay wallet ${command.name}: ${err instanceof Error ? err.message : String(err)}\nRun 'kioskpay wallet ${command.name} --help' for usage.\n`,
  );
  return 2;
}
