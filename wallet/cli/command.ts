// SPDX-License-Identifier: Apache-2.0
// What every `kioskpay wallet` subcommand is made of: its options, its help text, and a run function
// that gets a context (output, clock, timers, state file, API client). main.ts parses and dispatches.
import type { ParseArgsConfig } from 'node:util';
import type { Clock } from '../../shared/clock.ts';
import type { Ed25519 } from '../../shared/crypto/ed25519.ts';
import type { Random } from '../../shared/random.ts';
import { WalletApiClient, isServerUrl } from '../core/api-client.ts';
import type { Timers } from '../core/timers.ts';
import { WalletError } from '../core/wallet-errors.ts';
import type { Enrollment, WalletState } from '../core/wallet-state.ts';
import type { WalletStateFile } from './state-file.ts';
import { machineTimeZone, TimeZone } from '../../shared/time-zone.ts';

/** Wrong arguments: exit code 2, with a pointer to --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The outside world of the CLI; main.ts fills it from the process, tests with fakes. */
export interface CliEnv {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stdout is a terminal: QR codes are drawn as text art only then. */
  stdoutIsTerminal: boolean;
  clock: Clock;
  timers: Timers;
  random: Random;
  ed: Ed25519;
  fetch?: typeof globalThis.fetch;
  /** Home directory, for the default state path. */
  homeDir: string;
  /** Environment variables (XDG_DATA_HOME, LOCALAPPDATA) and platform, for the default state path. */
  vars: Record<string, string | undefined>;
  platform: NodeJS.Platform;
}

/** Stands for the state file's default path in command help texts; main.ts fills it in. */
export const STATE_DEFAULT_MARK = '<default state file>';
/** The --state line of every command's help. */
export const STATE_OPTION_HELP = `  --state FILE      wallet state file (default ${STATE_DEFAULT_MARK})`;

export type OptionValues = Record<string, string | boolean | undefined>;
export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

export interface CommandContext {
  env: CliEnv;
  values: OptionValues;
  positionals: string[];
  /** The state file this run uses, already locked by main.ts. */
  store: WalletStateFile;
  /** Prefixed message on stderr: progress notes and warnings, never secrets. */
  note(text: string): void;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  readonly options: OptionsConfig;
  /** [min, max] positional arguments. */
  readonly positionals: readonly [number, number];
  run(ctx: CommandContext): Promise<number>;
}

/** Request timeout for every call except the till's online code (which has its own, --timeout). */
export const CLI_REQUEST_TIMEOUT_MS = 10_000;
/** Housekeeping after the real work (clock sync, credential renewal) gets a shorter leash. */
export const MAINTENANCE_TIMEOUT_MS = 5_000;

export function stringOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** The server URL: --server if given (validated), else the one stored at enrollment. */
export function serverUrlFor(values: OptionValues, state: WalletState | undefined): string {
  const flag = stringOption(values, 'server');
  if (flag !== undefined) {
    if (!isServerUrl(flag)) throw new UsageError(`--server must be an http(s) URL, got '${flag}'`);
    return flag;
  }
  if (state === undefined)
    throw new WalletError('NOT_ENROLLED', {}, 'no wallet state here: run `kioskpay wallet enroll --server URL` first');
  return state.serverUrl;
}

export function requireEnrolled(state: WalletState | undefined): WalletState & { enrollment: Enrollment } {
  if (state?.enrollment === undefined)
    throw new WalletError('NOT_ENROLLED', {}, 'this wallet is not enrolled: run `kioskpay wallet enroll --server URL` first');
  return state as WalletState & { enrollment: Enrollment };
}

export function apiFor(ctx: CommandContext, state: WalletState | undefined, timeoutMs = CLI_REQUEST_TIMEOUT_MS): WalletApiClient {
  return new WalletApiClient({
    baseUrl: serverUrlFor(ctx.values, state),
    ...(state?.enrollment ? { token: state.enrollment.token } : {}),
    ...(ctx.env.fetch ? { fetch: ctx.env.fetch } : {}),
    timers: ctx.env.timers,
    timeoutMs,
  });
}

export function printJson(ctx: CommandContext, value: unknown): void {
  ctx.env.stdout(JSON.stringify(value) + '\n');
}

/** A time as people read it here: ISO 8601 in this machine's zone, with its offset (shared/time-zone.ts). */
export function isoTime(ms: number): string {
  return TimeZone.parse(machineTimeZone()).iso(ms);
}
