// SPDX-License-Identifier: Apache-2.0
// `kioskpay console`: the technician console over MQTT. With a command it runs once and exits
// (0 ok, 1 refused by the kiosk, 2 usage error or unknown kiosk, 3 kiosk offline, timeout or not connected); without one it starts
// the REPL. See docs/console.md.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { MqttClient } from 'mqtt';
import { systemClock, type Clock } from '../shared/clock.ts';
import { CommandClient } from './command-client.ts';
import { makeCompleter } from './completer.ts';
import { COMMAND_OPTIONS, CONSOLE_COMMANDS, parseCommand, parseCommandWords, UsageError, type ConsoleAction } from './console-commands.ts';
import { connectConsole, NotConnectedError } from './connection.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';
import { FleetRefusedError, FleetView } from './fleet-view.ts';
import { promptCommand, shellCommand } from './format.ts';
import { HISTORY_MAX_DEFAULT } from './history.ts';
import { LoginError, resolveLogin } from './login.ts';
import { runRepl } from './repl.ts';
import { printHelp, runAction, type ConsoleSession } from './run-action.ts';

const TIMEOUT_S_DEFAULT = 10;
const TIMEOUT_S_MAX = 600;

const HELP = `Usage: kioskpay console [options] [COMMAND ...]

The technician console over MQTT. Without a command it starts an interactive console (history,
tab completion); with one it runs it and exits: 0 ok, 1 refused by the kiosk, 2 usage error
(also an unknown kiosk: answered at once, with the nearest known ids), 3 no answer: the kiosk is
offline (answered at once, nothing sent), it did not answer in time, or not connected.

Commands:
${CONSOLE_COMMANDS.map((c) => `  ${c.usage}\n      ${c.help}`).join('\n')}

Options:
  --url URL          broker URL (or KIOSKPAY_MQTT_URL)
  --username NAME    technician login (or KIOSKPAY_MQTT_USERNAME)
  --password SECRET  its password (or KIOSKPAY_MQTT_PASSWORD; prefer the environment or --login)
  --login FILE       JSON file {"url","username","password"}
  --json             one JSON object per result, no progress bar
  --timeout S        seconds to wait for a kiosk's answer (default ${TIMEOUT_S_DEFAULT})
  --history FILE     REPL history (default ~/.kioskpay_console_history, ${HISTORY_MAX_DEFAULT} lines)
  -h, --help         this help

See docs/console.md for the same commands with mosquitto_pub and mosquitto_sub.
`;

export interface ConsoleDeps {
  env?: NodeJS.ProcessEnv;
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream;
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  clock?: Clock;
  /** Overrides stdout.isTTY (tests draw the progress bar into a buffer). */
  isTTY?: boolean;
  /** Ends a one-shot `watch` (default: SIGINT). */
  signal?: AbortSignal;
}

const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  login: { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  history: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function consoleCommand(argv: string[], deps: ConsoleDeps = {}): Promise<number> {
  const out = deps.stdout ?? process.stdout;
  const err = deps.stderr ?? process.stderr;
  let values;
  let positionals: string[];
  let action: ConsoleAction | null = null;
  let timeoutMs: number;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, ...COMMAND_OPTIONS },
      allowPositionals: true,
      strict: true,
    }));
    // `kioskpay console <command> --help`: that command's help.
    if (values.help) {
      if (positionals[0] !== undefined && CONSOLE_COMMANDS.some((c) => c.name === positionals[0]))
        return printHelp(positionals[0], (t) => out.write(t + '\n'));
      out.write(HELP);
      return EXIT.OK;
    }
    timeoutMs = timeoutOf(values.timeout);
    if (positionals.length > 0) {
      const { url: _u, username: _n, password: _p, login: _l, json: _j, timeout: _t, history: _h, help: _x, ...commandValues } = values;
      action = parseCommand(positionals, commandValues);
    }
  } catch (e) {
    err.write(`kioskpay console: ${(e as Error).message}\n(kioskpay console --help lists commands and options)\n`);
    return EXIT.USAGE;
  }
  if (action?.kind === 'help') return printHelp(action.topic, (t) => out.write(t + '\n'));
  if (action?.kind === 'quit') return EXIT.OK;

  let login;
  try {
    login = resolveLogin({ flags: values, env: deps.env ?? process.env });
  } catch (e) {
    if (e instanceof LoginError) {
      err.write(`kioskpay console: ${e.message}\n`);
      return EXIT.USAGE;
    }
    throw e;
  }
  const clock = deps.clock ?? systemClock;
  let client: MqttClient;
  try {
    client = await connectConsole(login, { connectTimeoutMs: Math.max(timeoutMs, 5_000), reconnect: action === null });
  } catch (e) {
    if (e instanceof NotConnectedError) {
      err.write(`kioskpay console: ${e.message}\n`);
      return EXIT.NO_ANSWER;
    }
    throw e;
  }
  try {
    const fleet = new FleetView(client, clock);
    try {
      await fleet.start();
    } catch (e) {
      if (!(e instanceof FleetRefusedError)) throw e;
      err.write(`kioskpay console: ${e.message}\n`);
      return EXIT.USAGE;
    }
    const session: ConsoleSession = {
      client,
      fleet,
      clock,
      timeoutMs,
      out,
      err,
      json: values.json === true,
      commands: new CommandClient(client, { by: login.username, clock }),
      isTTY: deps.isTTY ?? (out as { isTTY?: boolean }).isTTY === true,
      cmd: action === null ? promptCommand : shellCommand,
      brokerUrl: login.url,
    };
    if (action !== null) return await oneShot(action, session, deps.signal);
    await repl(session, out, values.history ?? join(homedir(), '.kioskpay_console_history'), deps);
    return EXIT.OK;
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}

async function oneShot(action: ConsoleAction, s: ConsoleSession, signal?: AbortSignal): Promise<ExitCode> {
  if (signal) return runAction(action, s, signal);
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    return await runAction(action, s, ac.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

async function repl(s: ConsoleSession, output: NodeJS.WritableStream, historyFile: string, deps: ConsoleDeps): Promise<void> {
  const input = deps.stdin ?? process.stdin;
  s.client.on('offline', () => s.err.write('\n(broker unreachable; reconnecting)\n'));
  s.err.write(`connected to ${s.fleet.list().length} kiosk status(es); type help, Tab completes, quit leaves\n`);
  await runRepl({
    input,
    output,
    terminal: input.isTTY === true,
    historyFile,
    historyMax: HISTORY_MAX_DEFAULT,
    completer: makeCompleter(() => s.fleet.ids()),
    execute: async (words, signal) => {
      try {
        const action = parseCommandWords(words);
        if (action.kind === 'quit') return 'quit';
        await runAction(action, s, signal);
      } catch (e) {
        s.out.write(`${e instanceof UsageError ? '' : 'error: '}${(e as Error).message}\n`);
      }
      return undefined;
    },
  });
}

function timeoutOf(text: string | undefined): number {
  if (text === undefined) return TIMEOUT_S_DEFAULT * 1000;
  const s = Number(text);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || !(s >= 0.1 && s <= TIMEOUT_S_MAX))
    throw new UsageError(`--timeout must be seconds between 0.1 and ${TIMEOUT_S_MAX}, got "${text}"`);
  return Math.round(s * 1000);
}
