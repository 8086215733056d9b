// SPDX-License-Identifier: Apache-2.0
// `kioskpay broker`: runs the embedded broker until SIGINT/SIGTERM, and `kioskpay broker
// hash-password` turns a password read from stdin into the hash an identities file stores.
import { parseArgs } from 'node:util';
import pino, { type Logger } from 'pino';
import { BROKER_DEFAULTS, startBroker } from './broker.ts';
import { hashPassword, loadIdentities, PASSWORD_BYTES_MAX } from './identities.ts';

const HELP = `Usage: kioskpay broker [options]
       kioskpay broker hash-password < password-file

Runs the embedded MQTT 3.1.1 broker: every client authenticates with a username and password from
the identities file, and a deny-by-default ACL decides what each role may publish and subscribe.

Options:
  --port N            TCP port, 0 for any free port (default ${BROKER_DEFAULTS.port}; 1883 is usually Mosquitto's)
  --host H            bind address (default ${BROKER_DEFAULTS.host})
  --identities FILE   JSON array of {username, passwordHash, role, kioskId?} (required);
                      role is kiosk, server, technician or operator; a kiosk's username is its kioskId
  --log-level LEVEL   pino level (default info)
  -h, --help          show this help

hash-password reads one password from stdin (a trailing newline is dropped) and prints its scrypt
hash for the identities file.
`;

/** Where the command reads and writes, and what stops it; process streams and signals by default. */
export interface BrokerCommandIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborted to stop a running broker. Default: the first SIGINT or SIGTERM. */
  shutdown?: AbortSignal;
  /** Default: pino to stdout at --log-level. */
  logger?: Logger;
}

function signalShutdown(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  controller.signal.addEventListener('abort', () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }, { once: true });
  return controller.signal;
}

async function readPassword(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stdin) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    bytes += b.length;
    // One line of password plus its newline; anything longer is not a password.
    if (bytes > PASSWORD_BYTES_MAX + 2) throw new Error(`password must be at most ${PASSWORD_BYTES_MAX} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function hashPasswordCommand(argv: string[], io: BrokerCommandIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (e) {
    io.stderr.write(`kioskpay broker hash-password: ${e instanceof Error ? e.message : String(e)}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if ((io.stdin as NodeJS.ReadStream).isTTY) io.stderr.write('Type the password, then Enter and Ctrl-D:\n');
  const password = await readPassword(io.stdin);
  if (password.length === 0) {
    io.stderr.write('kioskpay broker hash-password: empty password on stdin\n');
    return 2;
  }
  io.stdout.write(`${await hashPassword(password)}\n`);
  return 0;
}

function parsePort(text: string | undefined): number {
  if (text === undefined) return BROKER_DEFAULTS.port;
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65_535)) throw new Error(`--port must be 0..65535, not ${JSON.stringify(text)}`);
  return port;
}

async function runCommand(argv: string[], io: BrokerCommandIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' }, host: { type: 'string' }, identities: { type: 'string' },
        'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    io.stderr.write(`kioskpay broker: ${e instanceof Error ? e.message : String(e)}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  let port: number;
  try {
    port = parsePort(values.port);
  } catch (e) {
    io.stderr.write(`kioskpay broker: ${(e as Error).message}\n`);
    return 2;
  }
  if (!values.identities) {
    io.stderr.write('kioskpay broker: --identities FILE is required (nobody could connect without identities)\n');
    return 2;
  }
  const logger = io.logger ?? pino({ level: values['log-level'] ?? 'info' });
  const identities = await loadIdentities(values.identities);
  const shutdown = io.shutdown ?? signalShutdown();
  const broker = await startBroker({ port, host: values.host ?? BROKER_DEFAULTS.host, identities, logger });
  if (!shutdown.aborted) {
    await new Promise<void>((resolve) => shutdown.addEventListener('abort', () => resolve(), { once: true }));
  }
  logger.info('shutting down');
  await broker.close();
  return 0;
}

/** `kioskpay broker ...`; resolves with the exit code. Errors that stop the broker reject (bin/main.ts prints them). */
export async function brokerCommand(argv: string[], io: Partial<BrokerCommandIo> = {}): Promise<number> {
  const [first, ...rest] = argv;
  const full: BrokerCommandIo = {
    stdin: io.stdin ?? process.stdin,
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    ...(io.shutdown ? { shutdown: io.shutdown } : {}),
    ...(io.logger ? { logger: io.logger } : {}),
  };
  return first === 'hash-password' ? hashPasswordCommand(rest, full) : runCommand(argv, full);
}
