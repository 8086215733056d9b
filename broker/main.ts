// SPDX-License-Identifier: Apache-2.0
// `kioskpay broker`: runs the embedded broker until SIGINT/SIGTERM (reloading its identities file
// on SIGHUP); `kioskpay broker hash-password` turns a password read from stdin into the hash an
// identities file stores; `add-identity` / `remove-identity` edit the identities file.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import pino, { type Logger } from 'pino';
import { BROKER_DEFAULTS, PAHO_CONFORMANCE, startBroker, type RunningBroker } from './broker.ts';
import { addIdentity, removeIdentity } from './identity-admin.ts';
import { hashPassword, loadIdentities, PASSWORD_BYTES_MAX, ROLES, type Role } from './identities.ts';
import { REDIS_PERSISTENCE_DEFAULTS } from './persistence.ts';
import type { BrokerTlsOptions } from './tls.ts';

const HELP = `Usage: kioskpay broker [options]
       kioskpay broker hash-password < password-file
       kioskpay broker add-identity --identities FILE --username U --role R [--kiosk-id K] < password-file
       kioskpay broker mosquitto-config --identities-with-passwords FILE --out DIR [--port N] [--staff-port N]
       kioskpay broker remove-identity --identities FILE --username U

Runs the embedded MQTT 3.1.1 broker: every client authenticates with a username and password from
the identities file, and a deny-by-default ACL decides what each role may publish and subscribe.

Options:
  --port N            TCP port, 0 for any free port (default ${BROKER_DEFAULTS.port}; 1883 is usually Mosquitto's)
  --host H            bind address (default ${BROKER_DEFAULTS.host})
  --identities FILE   JSON array of {username, passwordHash, role, kioskId?} (required);
                      role is kiosk, server, technician, operator or test; a kiosk's username is
                      its kioskId. Reloaded on SIGHUP: new logins use the new file, connections of
                      removed or changed identities are closed; a bad file keeps the old table.
  --conformance       conformance mode, for the Eclipse Paho MQTT 3.1.1 interoperability suite
                      only: identities with role test may log in, publish and receive on
                      TopicA, TopicA/#, Topic/#, /# and $TopicA/#, subscribe to any filter but
                      test/nosubscribe, and use keepalive 0. Never use it in production.
  --tls-cert FILE     serve MQTT over TLS (mqtts://) on --port with this certificate chain (PEM);
                      instead of plain TCP, not besides it (run a second broker for both)
  --tls-key FILE      the certificate's private key (PEM); required with --tls-cert
  --tls-ca FILE       CA certificate(s) (PEM) that sign client certificates
  --request-client-cert
                      ask clients for a certificate: one that is presented must be signed by
                      --tls-ca and have the username as its CN; without one, the password alone
  --require-client-cert
                      refuse clients without a certificate signed by --tls-ca (at the TLS
                      handshake); its CN must equal the username (CONNACK 4 otherwise). The
                      password is checked as well
  --redis URL         keep retained messages and persistent sessions in Redis
                      (redis://[user:password@]host[:port][/db], rediss:// for TLS), so they
                      survive a restart; without it they are in memory and lost on restart
  --redis-prefix P    key prefix in Redis (default ${REDIS_PERSISTENCE_DEFAULTS.prefix}); one broker per prefix,
                      or one cluster per prefix with --cluster
  --cluster           with --redis: share messages, retained messages and sessions with every other
                      broker started with --cluster on the same Redis and prefix (one Redis per cluster);
                      clients may connect to any of them. No MQTT shared subscriptions ($share)
  --log-level LEVEL   pino level (default info)
  -h, --help          show this help

hash-password reads one password from stdin (a trailing newline is dropped) and prints its scrypt
hash for the identities file.

add-identity reads the new identity's password from stdin (a trailing newline is dropped), hashes
it and adds the identity to FILE (created if absent); remove-identity removes one. Both replace
the file atomically; send SIGHUP to a running broker to apply the change.
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
  /**
   * Registers what to run when the identities file should be reloaded, and returns how to
   * unregister it. Default: on every SIGHUP.
   */
  onReload?: (reload: () => void) => () => void;
}

function onSighup(reload: () => void): () => void {
  const listener = () => reload();
  process.on('SIGHUP', listener);
  return () => process.off('SIGHUP', listener);
}

/**
 * Reads `file` and makes it the broker's identity table. On any problem (unreadable, not JSON, an
 * invalid entry) the broker keeps its current table, the error is logged, and this resolves false.
 */
export async function reloadIdentities(broker: RunningBroker, file: string, logger: Logger): Promise<boolean> {
  let table;
  try {
    table = await loadIdentities(file);
  } catch (e) {
    logger.error({ file, err: e instanceof Error ? e.message : String(e) }, 'identities reload failed; keeping the current identities');
    return false;
  }
  const { identities, disconnected } = broker.replaceIdentities(table);
  logger.info({ file, identities, disconnected }, 'identities reloaded');
  return true;
}

function signalShutdown(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  controller.signal.addEventListener(
    'abort',
    () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
    { once: true },
  );
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
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
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

interface TlsFlags {
  'tls-cert'?: string | undefined;
  'tls-key'?: string | undefined;
  'tls-ca'?: string | undefined;
  'request-client-cert'?: boolean | undefined;
  'require-client-cert'?: boolean | undefined;
}

/** A usage problem with the TLS flags, or undefined when they fit together. */
function tlsFlagProblem(v: TlsFlags): string | undefined {
  if ((v['tls-cert'] === undefined) !== (v['tls-key'] === undefined)) return '--tls-cert and --tls-key go together';
  const certs = v['request-client-cert'] === true || v['require-client-cert'] === true;
  if (v['tls-cert'] === undefined && (v['tls-ca'] !== undefined || certs))
    return '--tls-ca and the client certificate flags need --tls-cert and --tls-key';
  if (certs && v['tls-ca'] === undefined) return 'client certificates need --tls-ca FILE, the CA that signs them';
  return undefined;
}

/** The TLS options the flags name, with the files read (an unreadable file rejects), or undefined. */
async function readTlsFiles(v: TlsFlags): Promise<BrokerTlsOptions | undefined> {
  if (v['tls-cert'] === undefined || v['tls-key'] === undefined) return undefined;
  const [cert, key, ca] = await Promise.all([
    readFile(v['tls-cert']),
    readFile(v['tls-key']),
    v['tls-ca'] === undefined ? undefined : readFile(v['tls-ca']),
  ]);
  return {
    cert,
    key,
    ...(ca !== undefined ? { ca } : {}),
    ...(v['request-client-cert'] ? { requestClientCert: true } : {}),
    ...(v['require-client-cert'] ? { requireClientCert: true } : {}),
  };
}

async function runCommand(argv: string[], io: BrokerCommandIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        identities: { type: 'string' },
        conformance: { type: 'boolean' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-ca': { type: 'string' },
        'request-client-cert': { type: 'boolean' },
        'require-client-cert': { type: 'boolean' },
        redis: { type: 'string' },
        'redis-prefix': { type: 'string' },
        cluster: { type: 'boolean' },
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
  const tlsUsage = tlsFlagProblem(values);
  if (tlsUsage) {
    io.stderr.write(`kioskpay broker: ${tlsUsage}\n`);
    return 2;
  }
  if (values['redis-prefix'] !== undefined && values.redis === undefined) {
    io.stderr.write('kioskpay broker: --redis-prefix needs --redis URL\n');
    return 2;
  }
  if (values.cluster && values.redis === undefined) {
    io.stderr.write('kioskpay broker: --cluster needs --redis URL (the brokers share state through Redis)\n');
    return 2;
  }
  const logger = io.logger ?? pino({ level: values['log-level'] ?? 'info' });
  const tls = await readTlsFiles(values);
  const identitiesFile = values.identities;
  const identities = await loadIdentities(identitiesFile);
  const shutdown = io.shutdown ?? signalShutdown();
  const broker = await startBroker({
    port,
    host: values.host ?? BROKER_DEFAULTS.host,
    identities,
    logger,
    ...(values.conformance ? { conformance: PAHO_CONFORMANCE } : {}),
    ...(tls ? { tls } : {}),
    ...(values.redis !== undefined
      ? { redis: { url: values.redis, ...(values['redis-prefix'] !== undefined ? { prefix: values['redis-prefix'] } : {}) } }
      : {}),
    ...(values.cluster ? { cluster: true } : {}),
  });
  // Reloads run one after another, so a burst of SIGHUPs ends with the file's latest content.
  let reloading: Promise<unknown> = Promise.resolve();
  const stopReloads = (io.onReload ?? onSighup)(() => {
    reloading = reloading.then(() => reloadIdentities(broker, identitiesFile, logger));
  });
  try {
    if (!shutdown.aborted) {
      await new Promise<void>((resolve) => shutdown.addEventListener('abort', () => resolve(), { once: true }));
    }
  } finally {
    stopReloads();
  }
  await reloading;
  logger.info('shutting down');
  await broker.close();
  return 0;
}

async function identityCommand(which: 'add-identity' | 'remove-identity', argv: string[], io: BrokerCommandIo): Promise<number> {
  const fail = (code: number, message: string, withHelp = false) => {
    io.stderr.write(`kioskpay broker ${which}: ${message}\n${withHelp ? `\n${HELP}` : ''}`);
    return code;
  };
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        identities: { type: 'string' },
        username: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        ...(which === 'add-identity' ? { role: { type: 'string' }, 'kiosk-id': { type: 'string' } } : {}),
      },
      strict: true,
    }));
  } catch (e) {
    return fail(2, e instanceof Error ? e.message : String(e), true);
  }
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const file = values.identities;
  const username = values.username;
  if (typeof file !== 'string' || file === '') return fail(2, '--identities FILE is required');
  if (typeof username !== 'string' || username === '') return fail(2, '--username U is required');
  try {
    if (which === 'remove-identity') {
      await removeIdentity(file, username);
      io.stdout.write(`removed ${username} from ${file}; send SIGHUP to a running broker to apply\n`);
      return 0;
    }
    const role = values.role;
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role))
      return fail(2, `--role must be one of ${ROLES.join(', ')}`);
    const kioskId = values['kiosk-id'];
    if (typeof kioskId === 'boolean') return fail(2, '--kiosk-id needs a value');
    if ((io.stdin as NodeJS.ReadStream).isTTY) io.stderr.write('Type the password, then Enter and Ctrl-D:\n');
    const password = await readPassword(io.stdin);
    if (password.length === 0) return fail(2, 'empty password on stdin');
    await addIdentity(file, { username, password, role: role as Role, kioskId });
    io.stdout.write(`added ${username} (${role}) to ${file}; send SIGHUP to a running broker to apply\n`);
    return 0;
  } catch (e) {
    // Duplicates, unknown usernames, invalid entries and unreadable files: the file is unchanged.
    return fail(1, e instanceof Error ? e.message : String(e));
  }
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
    ...(io.onReload ? { onReload: io.onReload } : {}),
  };
  if (first === 'hash-password') return hashPasswordCommand(rest, full);
  if (first === 'add-identity' || first === 'remove-identity') return identityCommand(first, rest, full);
  if (first === 'mosquitto-config') return (await import('./mosquitto-config.ts')).mosquittoConfigCommand(rest, full);
  return runCommand(argv, full);
}
