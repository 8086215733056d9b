// SPDX-License-Identifier: Apache-2.0
// Mosquitto 2 as the broker: its password file, ACL file and mosquitto.conf, generated from the same
// identity list our embedded broker uses, so kiosks and the server run unchanged against either.
//
// Passwords: our identities file stores scrypt hashes, which Mosquitto cannot read, and Mosquitto's
// PBKDF2 hashes cannot be turned back into passwords. So the generator takes identities WITH their
// clear-text passwords (IdentityWithPassword): operators keep one source of passwords (a secrets
// store, a vault export) and generate both the identities file (`kioskpay broker hash-password`)
// and the Mosquitto files from it. The clear-text file never belongs next to the broker.
//
// ACL: broker/acl.ts is the source of truth; mosquittoAclFile() writes its rules per role as
// Mosquitto `user`/`topic` lines. Mosquitto denies whatever no line grants, like acl.ts. Where
// Mosquitto's language is coarser than acl.ts, the differences are listed in docs/mosquitto.md.
import { pbkdf2 as pbkdf2Callback, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { z } from 'zod';
import { assertUnreachable } from '../shared/assert.ts';
import { KIOSK_MESSAGE_BYTES_MAX } from '../shared/kiosk-messages.ts';
import { topics, type KioskTopicLeaf } from '../shared/topics.ts';
import { BROKER_TOPICS, KIOSK_TOPIC_GRANTS, SERVER_BROADCASTS, STAFF_BROADCASTS, TOPIC_BYTES_MAX } from './acl.ts';
import { BROKER_DEFAULTS } from './broker.ts';
import { IdentityTable, PASSWORD_BYTES_MAX, type IdentityWithPassword } from './identities.ts';

const pbkdf2 = promisify(pbkdf2Callback);

/**
 * Mosquitto 2's `$7$` password hash: PBKDF2-HMAC-SHA512, as `mosquitto_passwd` writes it
 * (checked against mosquitto_passwd 2.0.11: 101 iterations, 12-byte salt, 64-byte hash, standard
 * base64 with padding).
 */
export const MOSQUITTO_PBKDF2 = Object.freeze({ iterations: 101, saltBytes: 12, hashBytes: 64, digest: 'sha512' });

/** Largest MQTT packet Mosquitto accepts: the largest payload plus its topic, packet id and fixed header. */
export const MOSQUITTO_MAX_PACKET_BYTES = KIOSK_MESSAGE_BYTES_MAX + TOPIC_BYTES_MAX + 1024;

/** Other limits written into mosquitto.conf, each matching the embedded broker where it has one. */
export const MOSQUITTO_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  /** The kiosks' listener. */
  port: 1883,
  /** The staff listener (server, technicians, operators): a separate password file, so no kiosk login works there. */
  staffPort: 1885,
  /** QoS 1/2 messages in flight to one client at once (Mosquitto's default is 20). */
  maxInflightMessages: 20,
  /** QoS 1/2 messages queued for one client beyond those in flight (Mosquitto's default 1000). */
  maxQueuedMessages: 1000,
  /** Simultaneous connections (BROKER_DEFAULTS.connectionsMax). */
  maxConnections: BROKER_DEFAULTS.connectionsMax,
});

/** A well-formed scrypt hash that verifies nothing: lets IdentityTable validate names and roles without hashing. */
const PLACEHOLDER_HASH = `scrypt$16384$8$1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;

const passwordSchema = z.string().refine((p) => {
  const bytes = Buffer.byteLength(p, 'utf8');
  return bytes > 0 && bytes <= PASSWORD_BYTES_MAX;
}, `must be 1-${PASSWORD_BYTES_MAX} bytes of UTF-8`);

const identityWithPasswordSchema = z.strictObject({
  username: z.string(),
  password: passwordSchema,
  // Conformance `test` identities exist only for the embedded broker's conformance mode.
  role: z.enum(['kiosk', 'server', 'technician', 'operator'], {
    error: 'must be kiosk, server, technician or operator (test identities are for the embedded broker only)',
  }),
  kioskId: z.string().optional(),
});

/**
 * Validates identities with passwords by the same rules as the identities file (usernames, roles,
 * a kiosk's username equal to its kioskId, no duplicates); throws an Error naming the first problem.
 */
export function parseIdentitiesWithPasswords(json: unknown, source = 'identities with passwords'): IdentityWithPassword[] {
  const parsed = z.array(identityWithPasswordSchema).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${source}: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`);
  }
  // Names, roles, kiosk ids and duplicates: exactly the identities file's rules, from identities.ts.
  IdentityTable.fromJson(
    parsed.data.map(({ password: _password, ...rest }) => ({ ...rest, passwordHash: PLACEHOLDER_HASH })),
    source,
  );
  return parsed.data as IdentityWithPassword[];
}

/** `mosquittoPasswordLine` with a given salt: deterministic, for tests against mosquitto_passwd output. */
export async function mosquittoPasswordLineWithSalt(
  username: string,
  password: string,
  salt: Uint8Array,
  iterations: number = MOSQUITTO_PBKDF2.iterations,
): Promise<string> {
  if (!/^[^:\s]+$/.test(username)) throw new Error(`username ${JSON.stringify(username)} cannot appear in a Mosquitto password file`);
  if (!passwordSchema.safeParse(password).success) throw new Error(`password must be 1-${PASSWORD_BYTES_MAX} bytes`);
  if (!(Number.isInteger(iterations) && iterations >= 1)) throw new Error(`iterations must be a positive integer, not ${iterations}`);
  const hash = await pbkdf2(Buffer.from(password, 'utf8'), salt, iterations, MOSQUITTO_PBKDF2.hashBytes, MOSQUITTO_PBKDF2.digest);
  return `${username}:$7$${iterations}$${Buffer.from(salt).toString('base64')}$${hash.toString('base64')}`;
}

/** One line of a Mosquitto 2 password file (no newline): `username:$7$101$<salt b64>$<hash b64>`, fresh random salt. */
export function mosquittoPasswordLine(username: string, password: string): Promise<string> {
  return mosquittoPasswordLineWithSalt(username, password, randomBytes(MOSQUITTO_PBKDF2.saltBytes));
}

/** A whole password file, one line per identity, in the given order. */
export async function mosquittoPasswordFile(identities: readonly IdentityWithPassword[]): Promise<string> {
  const checked = parseIdentitiesWithPasswords(identities);
  const lines = await Promise.all(checked.map((id) => mosquittoPasswordLine(id.username, id.password)));
  return lines.map((l) => `${l}\n`).join('');
}

/** The topic function of each leaf of `kp/v1/kiosk/{id}/{leaf}`, in the layout's order. */
const KIOSK_TOPIC_OF: Readonly<Record<KioskTopicLeaf, (kioskId: string) => string>> = Object.freeze({
  req: topics.kioskRequests,
  res: topics.kioskReplies,
  status: topics.kioskStatus,
  events: topics.kioskEvents,
  cmd: topics.kioskCommands,
  ack: topics.kioskAcks,
});
const LEAVES = Object.keys(KIOSK_TOPIC_OF) as KioskTopicLeaf[];

/**
 * A per-kiosk topic with the kiosk id level as MQTT's '+' (topics.ts refuses '+' as a kiosk id, on
 * purpose): `kp/v1/kiosk/+/res` from topics.kioskReplies. Checked against topics.allKioskRequests.
 */
function forAnyKiosk(topicOf: (kioskId: string) => string): string {
  const levels = topicOf('k').split('/');
  levels[levels.length - 2] = '+';
  return levels.join('/');
}
if (forAnyKiosk(topics.kioskRequests) !== topics.allKioskRequests)
  throw new Error('topic layout changed: update broker/mosquitto-config.ts');

/** `topic read|write|readwrite T` for each leaf read or written, in the layout's order. */
function kioskTopicLines(
  topicOf: (leaf: KioskTopicLeaf) => string,
  read: ReadonlySet<KioskTopicLeaf>,
  write: ReadonlySet<KioskTopicLeaf>,
): string[] {
  return LEAVES.filter((l) => read.has(l) || write.has(l)).map(
    (l) => `topic ${read.has(l) ? (write.has(l) ? 'readwrite' : 'read') : 'write'} ${topicOf(l)}`,
  );
}

/**
 * Mosquitto ACL lines per role, from the same grants as canPublish/canSubscribe in broker/acl.ts
 * (KIOSK_TOPIC_GRANTS, SERVER_BROADCASTS, STAFF_BROADCASTS, BROKER_TOPICS). `write` grants publishing; `read` grants receiving.
 * Mosquitto 2's acl_file never refuses a SUBSCRIBE (SUBACK grants any filter, even `#`): it checks
 * `read` for every message it would deliver, by the message's topic, so a filter wider than the
 * grants receives only what they allow. It cannot forbid the retain flag on a topic it lets a
 * client write (docs/mosquitto.md).
 */
function aclLines(id: IdentityWithPassword): string[] {
  switch (id.role) {
    case 'kiosk': {
      const g = KIOSK_TOPIC_GRANTS.kiosk;
      return [
        ...kioskTopicLines((l) => KIOSK_TOPIC_OF[l](id.kioskId), g.read, g.publish),
        ...SERVER_BROADCASTS.map((t) => `topic read ${t}`),
      ];
    }
    case 'server':
    case 'technician':
    case 'operator': {
      // Also covers the server's `$share/GROUP/kp/v1/kiosk/+/req` (server config mqttShareGroup):
      // Mosquitto checks each delivered message by its topic, not the subscription's filter.
      const g = KIOSK_TOPIC_GRANTS[id.role];
      const broadcastAccess = id.role === 'server' ? 'readwrite' : 'read';
      return [
        ...kioskTopicLines((l) => forAnyKiosk(KIOSK_TOPIC_OF[l]), g.readAny, g.publish),
        ...[...SERVER_BROADCASTS, ...STAFF_BROADCASTS].map((t) => `topic ${broadcastAccess} ${t}`),
        // Mosquitto never publishes the broker's topics itself (docs/mosquitto.md); the grant keeps
        // the file equal to broker/acl.ts, and no client may write there.
        ...(id.role === 'server' ? BROKER_TOPICS.map((t) => `topic read ${t}`) : []),
      ];
    }
    default: {
      // Exhaustive over roles; the identity itself is never printed (it holds a password).
      const unknown: never = id;
      return assertUnreachable((unknown as { role: never }).role);
    }
  }
}

/**
 * The ACL file for Mosquitto's `acl_file`: one `user` block per identity, deny by default. Kiosks
 * get explicit blocks rather than a `pattern ... %u` line, so the file grants exactly what the
 * identity list names (a `pattern` line would apply to every user, staff included).
 */
export function mosquittoAclFile(identities: readonly IdentityWithPassword[]): string {
  const checked = parseIdentitiesWithPasswords(identities);
  const out = [
    '# Generated by `kioskpay broker mosquitto-config` from the identity list; mirrors broker/acl.ts.',
    '# Deny by default: a client may publish or subscribe only where a line below grants it.',
    '# No lines before the first `user`: anonymous clients get nothing (and allow_anonymous is false).',
    '',
  ];
  for (const id of checked) {
    out.push(`# role ${id.role}`, `user ${id.username}`, ...aclLines(id), '');
  }
  return out.join('\n');
}

export interface MosquittoConfOptions {
  /** The kiosks' listener: kiosk logins only, each kiosk's client id forced to its username (kiosk id). */
  port: number;
  /** The staff listener: server, technician and operator logins only. */
  staffPort: number;
  /** Absolute path of the kiosks' password file (kiosk identities only). */
  kioskPasswordFile: string;
  /** Absolute path of the staff password file (every other identity). */
  staffPasswordFile: string;
  /** Absolute path of the ACL file. */
  aclFile: string;
  /** Where Mosquitto keeps retained messages and sessions across restarts; none: in memory only. */
  persistenceDir?: string;
  /** Bind address of both listeners; default 127.0.0.1. */
  host?: string;
  /** Bind address of the staff listener when it differs (a private interface, say); default `host`. */
  staffHost?: string;
  /**
   * Mosquitto's `user`: started as root, it switches to this user (default `mosquitto`) BEFORE
   * reading the password and ACL files, which that user must be able to read. No effect when
   * Mosquitto is not started as root.
   */
  user?: string;
}

function confPath(p: string, what: string): string {
  if (/[\r\n]/.test(p) || p.trim() !== p || p.length === 0)
    throw new Error(`${what} ${JSON.stringify(p)} cannot be written into mosquitto.conf`);
  return p;
}

function confWord(w: string, what: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(w)) throw new Error(`${what} ${JSON.stringify(w)} is not a plain name`);
  return w;
}

/** Password files for mosquittoConf: kiosk logins in one, staff logins in the other. */
export async function mosquittoPasswordFiles(identities: readonly IdentityWithPassword[]): Promise<{ kiosks: string; staff: string }> {
  const checked = parseIdentitiesWithPasswords(identities);
  return {
    kiosks: await mosquittoPasswordFile(checked.filter((id) => id.role === 'kiosk')),
    staff: await mosquittoPasswordFile(checked.filter((id) => id.role !== 'kiosk')),
  };
}

function checkPort(port: number, what: string): number {
  if (!(Number.isInteger(port) && port >= 1 && port <= 65_535)) throw new Error(`${what} must be 1..65535, not ${port}`);
  return port;
}

function checkHost(host: string): string {
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new Error(`host ${JSON.stringify(host)} is not an address`);
  return host;
}

/**
 * mosquitto.conf with two plain-TCP listeners (Mosquitto 2.0 or later), each with its own password
 * file and the same ACL file. Client ids are bound to identities (as broker/client-ids.ts does for
 * the embedded broker): on the kiosks' listener `use_username_as_clientid` replaces every client
 * id with the login's username, so a kiosk can only ever be its own kiosk id; staff logins (the
 * server's `kioskpay-server`, replicas, consoles) exist only on the staff listener, which no
 * kiosk password opens. Mosquitto's password_file and acl_file cannot bind a client id to a user
 * on a shared listener: there a kiosk login could connect as `kioskpay-server` and, as Mosquitto
 * lets the newest connection take an id over, keep kicking the server off.
 */
export function mosquittoConf(o: MosquittoConfOptions): string {
  const port = checkPort(o.port, 'port');
  const staffPort = checkPort(o.staffPort, 'staff port');
  const host = checkHost(o.host ?? MOSQUITTO_DEFAULTS.host);
  const staffHost = checkHost(o.staffHost ?? host);
  if (port === staffPort && host === staffHost) throw new Error("the kiosks' and the staff listener need different ports");
  const d = MOSQUITTO_DEFAULTS;
  const acl = confPath(o.aclFile, 'acl file');
  const lines = [
    '# Generated by `kioskpay broker mosquitto-config`. See docs/mosquitto.md.',
    '# Each listener has its own password file: kiosk logins work only on the first, staff logins only on the second.',
    'per_listener_settings true',
    ...(o.user !== undefined ? [`user ${confWord(o.user, 'user')}`] : []),
    '# Nagle costs 40-90 ms per request/reply round trip on loopback (docs pitfalls).',
    'set_tcp_nodelay true',
    `# Largest kiosk message (${KIOSK_MESSAGE_BYTES_MAX} bytes) plus topic and headers; larger packets close the connection.`,
    `max_packet_size ${MOSQUITTO_MAX_PACKET_BYTES}`,
    `max_inflight_messages ${d.maxInflightMessages}`,
    `max_queued_messages ${d.maxQueuedMessages}`,
    '',
    '# Kiosks. MQTT 3.1.1 clients authenticate; nobody connects without an identity.',
    `listener ${port} ${host}`,
    'allow_anonymous false',
    `password_file ${confPath(o.kioskPasswordFile, 'kiosk password file')}`,
    `acl_file ${acl}`,
    "# A kiosk's client id is its username (its kiosk id), whatever it sends: no kiosk can take another's or a staff id.",
    'use_username_as_clientid true',
    `max_connections ${d.maxConnections}`,
    '',
    '# Server, replicas, technicians and operators.',
    `listener ${staffPort} ${staffHost}`,
    'allow_anonymous false',
    `password_file ${confPath(o.staffPasswordFile, 'staff password file')}`,
    `acl_file ${acl}`,
    `max_connections ${d.maxConnections}`,
    '',
    '# Server replicas share kiosk requests with $share/GROUP/kp/v1/kiosk/+/req (server config mqttShareGroup).',
    '# The retained issuer keys, revocation list and catalog are re-published by the server on every connect.',
  ];
  if (o.persistenceDir !== undefined) {
    const dir = confPath(o.persistenceDir, 'persistence directory');
    lines.push('persistence true', `persistence_location ${dir.endsWith('/') ? dir : `${dir}/`}`);
  } else {
    lines.push('persistence false');
  }
  lines.push(
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'connection_messages true',
    '',
  );
  return lines.join('\n');
}

const HELP = `Usage: kioskpay broker mosquitto-config --identities-with-passwords FILE --out DIR [options]

Writes Mosquitto 2 files for the same identities the embedded broker uses:
  DIR/passwd-kiosks   the kiosks' listener's password_file (PBKDF2-SHA512, as mosquitto_passwd
                      writes it), mode 0600
  DIR/passwd-staff    the staff listener's password_file (server, technicians, operators), 0600
  DIR/acl             acl_file mirroring kioskpay's deny-by-default ACL
  DIR/mosquitto.conf  a config using both; run it with: mosquitto -c DIR/mosquitto.conf

Options:
  --identities-with-passwords FILE
                      JSON array of {username, password, role, kioskId?}: the identities file's
                      entries with clear-text passwords instead of hashes. Generate the identities
                      file (kioskpay broker hash-password) from the same passwords.
  --out DIR           output directory (created if missing; existing files are replaced)
  --port N            the kiosks' listener port (default ${MOSQUITTO_DEFAULTS.port}); each kiosk's
                      client id is forced to its kiosk id there
  --staff-port N      the staff listener port (default ${MOSQUITTO_DEFAULTS.staffPort}): the server's
                      mqttUrl, consoles and dashboards connect here
  --host H            address of both listeners (default ${MOSQUITTO_DEFAULTS.host})
  --staff-host H      address of the staff listener when it differs (default: --host)
  --persistence-dir D keep retained messages in D across restarts (default: in memory)
  --user U            user Mosquitto switches to when started as root (default: Mosquitto's,
                      \`mosquitto\`); it must be able to read the passwd-* files and acl
  -h, --help          show this help

See docs/mosquitto.md.
`;

/** Where the command writes its messages; process streams by default. */
export interface MosquittoConfigIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** `kioskpay broker mosquitto-config ...`; resolves with the exit code (0 ok, 1 bad input file, 2 usage). */
export async function mosquittoConfigCommand(argv: string[], io: Partial<MosquittoConfigIo> = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const fail = (code: number, message: string) => {
    stderr.write(`kioskpay broker mosquitto-config: ${message}\n`);
    return code;
  };
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'identities-with-passwords': { type: 'string' },
        out: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'staff-port': { type: 'string' },
        'staff-host': { type: 'string' },
        'persistence-dir': { type: 'string' },
        user: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    return fail(2, `${e instanceof Error ? e.message : String(e)}\n\n${HELP}`);
  }
  if (values.help) {
    stdout.write(HELP);
    return 0;
  }
  const source = values['identities-with-passwords'];
  if (!source) return fail(2, '--identities-with-passwords FILE is required');
  if (!values.out) return fail(2, '--out DIR is required');
  const portText = values.port ?? String(MOSQUITTO_DEFAULTS.port);
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65_535)) return fail(2, `--port must be 1..65535, not ${JSON.stringify(portText)}`);
  const staffPortText = values['staff-port'] ?? String(MOSQUITTO_DEFAULTS.staffPort);
  const staffPort = /^[0-9]{1,5}$/.test(staffPortText) ? Number(staffPortText) : NaN;
  if (!(staffPort >= 1 && staffPort <= 65_535)) return fail(2, `--staff-port must be 1..65535, not ${JSON.stringify(staffPortText)}`);

  let identities: IdentityWithPassword[];
  try {
    const text = await readFile(source, 'utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`${source}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    identities = parseIdentitiesWithPasswords(json, source);
  } catch (e) {
    return fail(1, e instanceof Error ? e.message : String(e));
  }

  const out = resolve(values.out);
  const kioskPasswordFile = resolve(out, 'passwd-kiosks');
  const staffPasswordFile = resolve(out, 'passwd-staff');
  const aclFile = resolve(out, 'acl');
  const confFile = resolve(out, 'mosquitto.conf');
  let conf: string;
  try {
    conf = mosquittoConf({
      port,
      staffPort,
      kioskPasswordFile,
      staffPasswordFile,
      aclFile,
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(values['staff-host'] !== undefined ? { staffHost: values['staff-host'] } : {}),
      ...(values.user !== undefined ? { user: values.user } : {}),
      ...(values['persistence-dir'] !== undefined ? { persistenceDir: resolve(values['persistence-dir']) } : {}),
    });
  } catch (e) {
    return fail(2, e instanceof Error ? e.message : String(e));
  }
  const acl = mosquittoAclFile(identities);
  const passwd = await mosquittoPasswordFiles(identities);
  await mkdir(out, { recursive: true });
  // A fresh 0600 file renamed over the old one: the hashes are never readable by others, even briefly.
  for (const [file, text] of [
    [kioskPasswordFile, passwd.kiosks],
    [staffPasswordFile, passwd.staff],
  ] as const) {
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    await rename(tmp, file);
  }
  await writeFile(aclFile, acl, { mode: 0o644 });
  await writeFile(confFile, conf, { mode: 0o644 });
  stdout.write(
    `wrote ${kioskPasswordFile}, ${staffPasswordFile} (${identities.length} identities), ${aclFile}, ${confFile}\n` +
      `kiosks connect to port ${port}, the server and staff to port ${staffPort}\nrun: mosquitto -c ${confFile}\n`,
  );
  return 0;
}
