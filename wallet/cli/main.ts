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
import { UsageError, type CliEnv, type Command, type CommandContext, type OptionValues, type OptionsConfig } from './command.ts';
import { balanceCommand } from './commands/balance.ts';
import { codeCommand } from './commands/code.ts';
import { credentialCommand } from './commands/credential.ts';
import { enrollCommand } from './commands/enroll.ts';
import { historyCommand } from './commands/history.ts';
import { syncCommand } from './commands/sync.ts';
import { topupCommand } from './commands/topup.ts';
import { WalletStateFile, defaultStatePath, lockStateFile } from './state-file.ts';

const COMMANDS: readonly Command[] = [enrollCommand, topupCommand, balanceCommand, historyCommand, syncCommand, credentialCommand, codeCommand];

const COMMON_OPTIONS: OptionsConfig = {
  state: { type: 'string' },
  server: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export const WALLET_HELP = `Usage: kioskpay wallet <command> [options]

The shopper's wallet: enroll with a payment server, then show codes at a kiosk. Online codes come
from the server; when it cannot be reached within 3 s, an offline code is made on this machine.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(11)} ${c.summary}`).join('\n')}

Common options:
  --state FILE      wallet state file (default ~/.kioskpay/wallet.json; holds private keys, mode 0600)
  --server URL      payment server (stored at enroll; overrides the stored one for this run)
  -h, --help        help for a command

Exit status: 0 ok, 1 operating error (typed code on stderr), 2 wrong usage.
Run 'kioskpay wallet <command> --help' for a command's options.
`;

function defaultEnv(): CliEnv {
  return {
    stdout: (t) => { process.stdout.write(t); },
    stderr: (t) => { process.stderr.write(t); },
    clock: systemClock,
    timers: systemTimers,
    random: cryptoRandom,
    ed: naclEd25519,
    homeDir: homedir(),
  };
}

/** Runs `kioskpay wallet ...`. `env` replaces parts of the outside world (tests). */
export async function walletCommand(argv: string[], env: Partial<CliEnv> = {}): Promise<number> {
  const e: CliEnv = { ...defaultEnv(), ...env };
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? e.stderr : e.stdout)(WALLET_HELP);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    e.stderr(`kioskpay wallet: unknown command '${name}'\n\n${WALLET_HELP}`);
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
    e.stdout(command.help);
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
    throw new UsageError(n > max ? `unexpected argument '${parsed.positionals[max]}'` : `${command.name} needs ${min} argument${min === 1 ? '' : 's'}`);
  }
  return { values, positionals: parsed.positionals };
}

async function runLocked(env: CliEnv, command: Command, values: OptionValues, positionals: string[]): Promise<number> {
  const statePath = typeof values.state === 'string' ? resolve(values.state) : defaultStatePath(env.homeDir);
  const note = (text: string) => env.stderr(`kioskpay wallet ${command.name}: ${text}\n`);
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
  env.stderr(`kioskpay wallet ${command.name}: ${err instanceof Error ? err.message : String(err)}\nRun 'kioskpay wallet ${command.name} --help' for usage.\n`);
  return 2;
}
