// SPDX-License-Identifier: Apache-2.0
// The embedded MQTT 3.1.1 broker: aedes 1.2 behind our own authentication (scrypt identities, and
// optionally TLS client certificates: tls.ts) and a deny-by-default ACL (acl.ts), checked again on
// every delivery. Retained messages and sessions in memory, or in Redis (persistence.ts). Login
// floods it notices (flood-watch.ts) it publishes itself on kp/v1/broker/alerts for the server.
// TCP_NODELAY on every socket (see docs pitfalls: Nagle).
import { Aedes, type AuthenticateError, type Client, type Subscription } from 'aedes';
import { createRequire } from 'node:module';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import pino, { type Logger } from 'pino';
import { KIOSK_MESSAGE_BYTES_MAX } from '../shared/kiosk-messages.ts';
import { topics } from '../shared/topics.ts';
import { canPublish, canReceive, canSubscribe, isSharedSubscription, TOPIC_BYTES_MAX, TOPIC_LEVELS_MAX } from './acl.ts';
import { LoginAdmission } from './admission.ts';
import { PublishBudget } from './publish-budget.ts';
import { clientIdAllowed } from './client-ids.ts';
import { loginFloodAlertMessage } from './flood-alert-message.ts';
import { LoginFloodWatch, type FloodAlert } from './flood-watch.ts';
import { hashPassword, IdentityTable, sameIdentity, verifyPassword, type Identity } from './identities.ts';
import {
  BrokerPersistenceError,
  createRedisPersistence,
  redactRedisUrl,
  redisOptionsFromUrl,
  type AedesPersistence,
  type RedisPersistenceOptions,
} from './persistence.ts';
import { certificateRefusal, clientCertPolicy, tlsServerOptions, type BrokerTlsOptions } from './tls.ts';

/** Every limit the broker enforces, with its unit. Frozen; override per instance through BrokerOptions.limits. */
export const BROKER_DEFAULTS = Object.freeze({
  /** Bind address. Loopback unless told otherwise. */
  host: '127.0.0.1',
  /** TCP port; 1883 is usually Mosquitto's on this machine. */
  port: 1884,
  /** Longest client id accepted, in UTF-8 bytes; longer ones get CONNACK 2 (identifier rejected). */
  clientIdBytesMax: 64,
  /** Largest PUBLISH payload accepted, in bytes; a larger one closes the connection. */
  messageBytesMax: KIOSK_MESSAGE_BYTES_MAX,
  /** Deepest topic or filter, in levels (also aedes' maxTopicLevels). */
  topicLevelsMax: TOPIC_LEVELS_MAX,
  /** Packets a client may send while its CONNECT is still being authenticated; more closes it. */
  queueLimitPackets: 32,
  /** How long a subscriber's socket may stay unwritable before it is disconnected, in ms. */
  drainTimeoutMs: 10_000,
  /** How long a new TCP connection may take to send CONNECT, in ms. */
  connectTimeoutMs: 10_000,
  /** Largest keepalive a client may ask for, in seconds; keepalive 0 (never) is refused too. */
  keepaliveMaxS: 300,
  /** Messages in flight through aedes at once (aedes `concurrency`). */
  concurrency: 100,
  /** Simultaneous TCP connections; further ones are dropped by the kernel accept path. */
  connectionsMax: 2_000,
  /** Password checks running at once (each is about 50 ms of scrypt); more get CONNACK 3 and retry. */
  authInFlightMax: 32,
  /** Password checks running at once from one source address; more get CONNACK 3 (admission.ts). */
  authPerAddressInFlightMax: 4,
  /** After a failed login, that address and that username wait this long (doubling per failure) before their next password check, in ms. */
  authBackoffBaseMs: 250,
  /** Longest such wait, in ms. */
  authBackoffMaxMs: 60_000,
  /** Verified (username, password) pairs remembered, so a known client logs in again without waiting for a check slot. */
  knownLoginsMax: 10_000,
  /** Publishes a second one non-server connection may sustain; over it (after the burst) it is disconnected (publish-budget.ts). */
  publishesPerSecMax: 50,
  /** Publishes one non-server connection may send at once above that rate. */
  publishBurstMax: 200,
  /** How long a login that went over its publish budget is refused (CONNACK 3), in ms; doubles per repeat. */
  publishPenaltyBaseMs: 10_000,
  /** Longest such refusal, in ms. */
  publishPenaltyMaxMs: 600_000,
  /** Failed or deferred logins of one address or username in one episode that publish a login-flood alert (flood-watch.ts). */
  authFloodAlertAttempts: 10,
  /** A flood episode ends after this long without a failed or deferred login, in ms. */
  authFloodQuietMs: 300_000,
  /** Login-flood alerts published at most per minute, over all addresses and usernames; the rest are counted in the next. */
  authFloodAlertsPerMinute: 10,
});

/**
 * Rules for identities with role `test` in a protocol conformance run (never active unless passed
 * in BrokerOptions.conformance, which only `kioskpay broker --conformance` does). Filters use MQTT
 * matching: a filter starting with a wildcard does not match a topic starting with `$`, so a `$`
 * topic is allowed only by a filter that names its first level. `$SYS` is always denied.
 *
 * - publish (and last wills): the topic matches some `allow` filter and no `deny` filter;
 * - subscribe: any well-formed filter, unless a `deny` filter covers it (SUBACK 0x80);
 * - delivery: a test identity receives a message only when its topic passes the publish rule, so a
 *   wide subscription (`#`) never shows it kp/v1 traffic or anything denied.
 * kiosk, server, technician and operator identities keep the kp/v1 ACL in conformance mode too.
 */
export interface ConformanceRules {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

/**
 * The rules for the Eclipse Paho MQTT 3.1.1 interoperability suite (client_test.py): its topics
 * `TopicA`, `TopicA/B`, `Topic/C`, `TopicA/C`, `/TopicA`, its `$`-topic probe `$TopicA/B`, and its
 * forbidden filter `test/nosubscribe`.
 */
export const PAHO_CONFORMANCE: ConformanceRules = Object.freeze({
  allow: Object.freeze(['TopicA', 'TopicA/#', 'Topic/#', '/#', '$TopicA/#']),
  deny: Object.freeze(['test/nosubscribe']),
});

/**
 * True when every topic that `inner` (a topic name or a filter) matches is also matched by filter
 * `outer`. For a topic name this is plain MQTT matching, including [MQTT-4.7.2-1]: a filter that
 * starts with `#` or `+` never matches a name that starts with `$`.
 */
export function filterCovers(outer: string, inner: string): boolean {
  const o = outer.split('/');
  const i = inner.split('/');
  const dollar = i[0]!.startsWith('$');
  for (let n = 0; ; n += 1) {
    if (n === o.length) return n === i.length;
    const level = o[n]!;
    if (level === '#') return !(n === 0 && dollar); // `a/#` also matches `a`
    if (n === i.length) return false;
    const want = i[n]!;
    if (want === '#') return false;
    if (level === '+') {
      if (n === 0 && dollar) return false;
    } else if (level !== want) {
      return false;
    }
  }
}

function isConformanceTopicText(text: string, levelsMax: number): boolean {
  return (
    text.length > 0 &&
    Buffer.byteLength(text, 'utf8') <= TOPIC_BYTES_MAX &&
    !text.includes('\u0000') &&
    text.split('/').length <= levelsMax &&
    text !== '$SYS' &&
    !text.startsWith('$SYS/')
  );
}

/** May a `test` identity publish to `topic` (or receive a message on it) under these rules? */
export function conformanceCanPublish(rules: ConformanceRules, topic: string, levelsMax: number = TOPIC_LEVELS_MAX): boolean {
  return (
    isConformanceTopicText(topic, levelsMax) &&
    !topic.includes('+') &&
    !topic.includes('#') &&
    rules.allow.some((f) => filterCovers(f, topic)) &&
    !rules.deny.some((f) => filterCovers(f, topic))
  );
}

/** May a `test` identity subscribe with `filter` under these rules? Delivery is filtered per message. */
export function conformanceCanSubscribe(rules: ConformanceRules, filter: string, levelsMax: number = TOPIC_LEVELS_MAX): boolean {
  return isConformanceTopicText(filter, levelsMax) && !filter.startsWith('$share/') && !rules.deny.some((f) => filterCovers(f, filter));
}

export type BrokerLimits = { -readonly [K in Exclude<keyof typeof BROKER_DEFAULTS, 'host' | 'port'>]: number };

export interface BrokerOptions {
  /** TCP port; 0 picks a free one (tests always use 0). */
  port: number;
  /** Bind address; default 127.0.0.1. */
  host?: string;
  /** A validated table, or identities as in the JSON file (validated here; throws on a bad entry). */
  identities: IdentityTable | readonly Identity[];
  logger?: Logger;
  limits?: Partial<BrokerLimits>;
  /**
   * Conformance mode, for running a protocol test suite against this broker: identities with role
   * `test` may log in, under these rules, and may ask for keepalive 0. Absent (the default): `test`
   * identities get CONNACK 5 and keepalive 0 is refused for everyone.
   */
  conformance?: ConformanceRules;
  /**
   * Serve MQTT over TLS on `port` instead of plain TCP (there is no second, plain listener), with
   * optional or required client certificates whose CN must equal the username (tls.ts).
   */
  tls?: BrokerTlsOptions;
  /**
   * Keep retained messages and persistent sessions in Redis, so they survive a restart. Absent:
   * in memory, lost when the broker stops. Start-up fails if Redis cannot be reached.
   */
  redis?: RedisPersistenceOptions;
  /**
   * Cluster with the other brokers on the same Redis (needs `redis`, with the same prefix on every
   * broker): messages are routed through Redis pub/sub (mqemitter-redis), so a client on one broker
   * receives what a client on another publishes. Pub/sub channels are not prefixed: one Redis per cluster.
   */
  cluster?: boolean;
  /**
   * The command-line flag that sets `port`, named in the port-in-use message: `--port` for
   * `kioskpay broker` (the default), `--mqtt-port` for `kioskpay up`.
   */
  portFlag?: string;
}

/** aedes' message router over Redis pub/sub, for a cluster of brokers (mqemitter-redis, CommonJS). */
function createRedisEmitter(redis: RedisPersistenceOptions): { close(cb: () => void): void } {
  const require = createRequire(import.meta.url);
  const factory = require('mqemitter-redis') as (o: object) => { close(cb: () => void): void };
  return factory({ ...redisOptionsFromUrl(redis.url), connectTimeout: 5_000, maxRetriesPerRequest: 3 });
}

/** What replacing the identity table did. */
export interface IdentitiesReplaced {
  /** Identities in the new table. */
  readonly identities: number;
  /** Live connections closed because their identity was removed or changed. */
  readonly disconnected: number;
}

export interface RunningBroker {
  readonly port: number;
  /** `mqtt://host:port`, or `mqtts://host:port` with TLS. */
  readonly url: string;
  /**
   * Makes `table` the identity table for every later login, and closes live connections whose
   * identity is gone from it or changed (password hash, role or kiosk id): they must log in again.
   */
  replaceIdentities(table: IdentityTable): IdentitiesReplaced;
  /** Stops accepting, disconnects every client, and resolves when all sockets are closed. */
  close(): Promise<void>;
}

/** CONNACK return codes of MQTT 3.1.1 (section 3.2.2.3) that authentication uses. */
const CONNACK = { IDENTIFIER_REJECTED: 2, SERVER_UNAVAILABLE: 3, BAD_USERNAME_OR_PASSWORD: 4, NOT_AUTHORIZED: 5 } as const;

function authError(returnCode: (typeof CONNACK)[keyof typeof CONNACK], message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/** Topics and client ids go into logs truncated and JSON-escaped by pino; payloads never do. */
function clip(text: string): string {
  return text.length > TOPIC_BYTES_MAX ? `${text.slice(0, TOPIC_BYTES_MAX)}...` : text;
}

/**
 * Destroys the socket as soon as an incoming MQTT packet announces a remaining length above
 * `remainingLengthMax`, before aedes' parser buffers it (mqtt-packet has no size limit of its own
 * and would otherwise hold up to 256 MB per connection). It listens to 'data', which a stream in
 * 'readable' mode (aedes) emits for exactly the bytes each read() returns, without changing flow.
 */
function guardPacketSize(socket: Socket, remainingLengthMax: number, onTooLarge: (announcedBytes: number) => void): void {
  let state: 'type' | 'length' | 'body' = 'type';
  let length = 0;
  let multiplier = 1;
  let bodyLeft = 0;
  socket.on('data', (chunk: Buffer) => {
    let i = 0;
    while (i < chunk.length && !socket.destroyed) {
      if (state === 'type') {
        i += 1;
        state = 'length';
        length = 0;
        multiplier = 1;
      } else if (state === 'length') {
        const byte = chunk[i++]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if (length > remainingLengthMax || (byte & 0x80 && multiplier > 128 ** 3)) {
          onTooLarge(length);
          socket.destroy();
          return;
        }
        if ((byte & 0x80) === 0) {
          bodyLeft = length;
          state = bodyLeft === 0 ? 'type' : 'body';
        }
      } else {
        const take = Math.min(bodyLeft, chunk.length - i);
        i += take;
        bodyLeft -= take;
        if (bodyLeft === 0) state = 'type';
      }
    }
  });
}

function listen(server: Server, port: number, host: string, flag: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(
          new Error(
            `port ${port} on ${host} is already in use (on this machine Mosquitto usually owns 1883); ` +
              `choose another port with ${flag} N, or ${flag} 0 for any free port`,
          ),
        );
      } else if (err.code === 'EACCES') {
        reject(
          new Error(`not allowed to listen on ${host}:${port} (ports below 1024 need privileges); choose another port with ${flag} N`),
        );
      } else {
        reject(err);
      }
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** Starts the broker and resolves once it listens. Rejects with a clear Error when the port is taken. */
export async function startBroker(opts: BrokerOptions): Promise<RunningBroker> {
  const host = opts.host ?? BROKER_DEFAULTS.host;
  const limits: Readonly<BrokerLimits> = Object.freeze({ ...BROKER_DEFAULTS, ...opts.limits });
  const log = (opts.logger ?? pino({ level: 'silent' })).child({ component: 'broker' });
  let identities =
    opts.identities instanceof IdentityTable ? opts.identities : IdentityTable.fromJson(opts.identities, 'broker identities');
  const conformance = opts.conformance
    ? Object.freeze({ allow: Object.freeze([...opts.conformance.allow]), deny: Object.freeze([...opts.conformance.deny]) })
    : undefined;
  if (conformance)
    log.warn(
      { allow: conformance.allow, deny: conformance.deny },
      'conformance mode: identities with role test may log in under these rules',
    );
  // Checked before anything starts: a bad certificate or key throws here.
  const tlsOptions = opts.tls ? tlsServerOptions(opts.tls, limits.connectTimeoutMs) : undefined;
  const certPolicy = opts.tls ? clientCertPolicy(opts.tls) : 'none';

  /** The identity each authenticated client connected as. Absent: not (yet) authenticated. */
  const identityOf = new WeakMap<Client, Identity>();
  /** The last will from each client's CONNECT packet, seen in preConnect, checked in authenticate. */
  const willOf = new WeakMap<Client, { topic: string; retain?: boolean | undefined; payload: Buffer | string }>();
  /** What authenticate must know about each CONNECT packet beyond what aedes passes it. */
  const connectOf = new WeakMap<Client, { emptyClientId: boolean; clean: boolean; keepalive: number }>();
  /** Live clients by client id, to stop one identity from taking over another's id [MQTT-3.1.4-2]. */
  const liveClients = new Map<string, Client>();
  /** Unknown usernames are verified against this, so they cost as much time as known ones. */
  let decoyHash: Promise<string> | undefined;
  let authInFlight = 0;
  const admission = new LoginAdmission(
    {
      perAddressInFlightMax: limits.authPerAddressInFlightMax,
      backoffBaseMs: limits.authBackoffBaseMs,
      backoffMaxMs: limits.authBackoffMaxMs,
      knownLoginsMax: limits.knownLoginsMax,
    },
    () => performance.now(),
  );
  const publishBudget = new PublishBudget(
    {
      perSec: limits.publishesPerSecMax,
      burst: limits.publishBurstMax,
      penaltyBaseMs: limits.publishPenaltyBaseMs,
      penaltyMaxMs: limits.publishPenaltyMaxMs,
    },
    () => performance.now(),
  );
  /** Connections already refused for their publish budget (being closed). */
  const overBudget = new WeakSet<Client>();
  const floods = new LoginFloodWatch(
    {
      alertAttempts: limits.authFloodAlertAttempts,
      quietMs: limits.authFloodQuietMs,
      alertsPerMinute: limits.authFloodAlertsPerMinute,
    },
    () => performance.now(),
  );
  /** Publishes a login-flood alert to the server (kp/v1/broker/alerts), from the broker itself. */
  function publishFlood(alert: FloodAlert | undefined): void {
    if (alert === undefined) return;
    const message = loginFloodAlertMessage(
      alert,
      alert.username === undefined ? undefined : identities.find(alert.username),
      Date.now(),
      performance.now(),
    );
    log.warn(
      {
        remote: message.address,
        username: message.username,
        trigger: message.trigger,
        addressCounts: message.addressCounts,
        usernameCounts: message.usernameCounts,
        suppressed: message.suppressed,
      },
      'login flood',
    );
    aedes.publish(
      { cmd: 'publish', topic: topics.brokerAlerts, payload: Buffer.from(JSON.stringify(message)), qos: 1, retain: false, dup: false },
      (err) => {
        if (err) log.error({ err: err.message }, 'login-flood alert not published');
      },
    );
  }

  /** May this identity publish this topic (retained or not)? The kp/v1 ACL, or the conformance rules for role test. */
  function mayPublish(identity: Identity, topic: string, retain: boolean): boolean {
    if (identity.role === 'test') return conformance !== undefined && conformanceCanPublish(conformance, topic, limits.topicLevelsMax);
    return canPublish(identity, topic, retain);
  }

  function maySubscribe(identity: Identity, filter: string): boolean {
    if (identity.role === 'test') return conformance !== undefined && conformanceCanSubscribe(conformance, filter, limits.topicLevelsMax);
    return canSubscribe(identity, filter);
  }

  async function checkCredentials(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    knownGood: boolean,
  ): Promise<Identity> {
    const connect = connectOf.get(client);
    // A zero-byte client id is accepted only with a clean session: aedes has already assigned it a
    // unique `aedes_<uuid>` id [MQTT-3.1.3-6]. With CleanSession=0 there would be no session to
    // resume: CONNACK 2 [MQTT-3.1.3-8]. (aedes 1.2 accepts both; aedes issue 1095.)
    if (connect?.emptyClientId && !connect.clean) {
      throw authError(CONNACK.IDENTIFIER_REJECTED, 'zero-length client id needs a clean session');
    }
    if (Buffer.byteLength(client.id, 'utf8') > limits.clientIdBytesMax) {
      throw authError(CONNACK.IDENTIFIER_REJECTED, `client id longer than ${limits.clientIdBytesMax} bytes`);
    }
    if (username === undefined || password === undefined) throw authError(CONNACK.NOT_AUTHORIZED, 'anonymous clients are not allowed');
    const identity = identities.find(username);
    // Unknown usernames are checked against a decoy hash, so they cost as much time as known ones.
    decoyHash ??= hashPassword('decoy password for unknown usernames');
    const ok = knownGood || (await verifyPassword(password, identity?.passwordHash ?? (await decoyHash)));
    if (!identity || !ok) throw authError(CONNACK.BAD_USERNAME_OR_PASSWORD, 'bad username or password');
    const certRefusal = certificateRefusal(client.conn, certPolicy, identity.username);
    if (certRefusal !== undefined) throw authError(CONNACK.BAD_USERNAME_OR_PASSWORD, certRefusal);
    if (identity.role === 'test' && !conformance)
      throw authError(CONNACK.NOT_AUTHORIZED, 'test identities log in only in conformance mode');
    if (conformance) {
      // aedes' own keepalive check (CONNACK 6) is off in conformance mode so that a test identity
      // may ask for keepalive 0, which MQTT 3.1.1 allows; every other limit stays as without it.
      const keepalive = connect?.keepalive ?? 0;
      if (keepalive > limits.keepaliveMaxS || (keepalive === 0 && identity.role !== 'test')) {
        throw authError(CONNACK.NOT_AUTHORIZED, `keepalive must be 1-${limits.keepaliveMaxS} s`);
      }
    }
    if (!connect?.emptyClientId && !clientIdAllowed(identity, client.id)) {
      throw authError(CONNACK.IDENTIFIER_REJECTED, `client id not allowed for role ${identity.role} (broker/client-ids.ts)`);
    }
    const holder = liveClients.get(client.id);
    const holderIdentity = holder ? identityOf.get(holder) : undefined;
    if (holderIdentity && holderIdentity.username !== identity.username) {
      throw authError(CONNACK.IDENTIFIER_REJECTED, 'client id is in use by another identity');
    }
    // The last will is published with this client's rights when it drops: refuse at CONNECT a will
    // the ACL would refuse later, rather than silently dropping it then.
    const will = willOf.get(client);
    if (will && (!mayPublish(identity, will.topic, will.retain === true) || Buffer.byteLength(will.payload) > limits.messageBytesMax)) {
      throw authError(CONNACK.NOT_AUTHORIZED, 'last will not allowed for this identity');
    }
    return identity;
  }

  if (opts.cluster && !opts.redis) throw new BrokerPersistenceError('a broker cluster needs Redis (redis option / --redis URL)');
  const persistence: AedesPersistence | undefined = opts.redis ? await createRedisPersistence(opts.redis) : undefined;
  if (opts.redis) log.info({ redis: redactRedisUrl(opts.redis.url) }, 'retained messages and sessions kept in Redis');
  else log.info('retained messages and sessions kept in memory: lost when the broker stops');
  // Created after createRedisPersistence checked that Redis answers; aedes closes it on close.
  const mq = opts.cluster && opts.redis ? createRedisEmitter(opts.redis) : undefined;
  if (mq) log.info('clustered: messages routed through Redis pub/sub to every broker on it');

  function createAedes(): Promise<Aedes> {
    return Aedes.createBroker({
      ...(persistence ? { persistence } : {}),
      ...(mq ? { mq: mq as never } : {}),
      concurrency: limits.concurrency,
      connectTimeout: limits.connectTimeoutMs,
      drainTimeout: limits.drainTimeoutMs,
      queueLimit: limits.queueLimitPackets,
      maxClientsIdLength: limits.clientIdBytesMax,
      maxTopicLevels: limits.topicLevelsMax,
      // 0 turns aedes' check off; checkCredentials enforces the limit itself in conformance mode.
      keepaliveLimit: conformance ? 0 : limits.keepaliveMaxS,

      preConnect(client, packet, done) {
        // MQTT 3.1.1 only (protocol level 4). aedes also speaks 3.1 (level 3, `MQIsdp`), whose
        // differences (23-byte client ids, no zero-length ids, no SUBACK failure code) nothing
        // here is written for: refuse it with CONNACK 1, unacceptable protocol version
        // [MQTT-3.1.2-2]. aedes sends that CONNACK itself for any level outside 3..4, so the level
        // is moved out of its range.
        if (packet.protocolVersion !== 4) {
          log.warn(
            {
              remote: client.conn && 'remoteAddress' in client.conn ? (client.conn as Socket).remoteAddress : undefined,
              protocolVersion: packet.protocolVersion,
            },
            'MQTT protocol version refused',
          );
          (packet as { protocolVersion: number }).protocolVersion = 0;
        }
        if (packet.will) willOf.set(client, packet.will);
        connectOf.set(client, { emptyClientId: !packet.clientId, clean: packet.clean !== false, keepalive: packet.keepalive ?? 0 });
        done(null, true);
      },

      authenticate(client, username, password, done) {
        const address = (client.conn as Partial<Socket> | undefined)?.remoteAddress ?? 'unknown';
        const claimed = username === undefined ? undefined : identities.find(username);
        // The known-good lane: no scrypt, no slot, no backoff (admission.ts).
        const knownGood =
          claimed !== undefined && password !== undefined && admission.isKnown(claimed.username, claimed.passwordHash, password);
        // A login that flooded is refused for its penalty, even on the known-good lane.
        const penalty = claimed === undefined ? undefined : publishBudget.refusal(claimed.username);
        if (penalty !== undefined) {
          log.debug({ remote: address, username: claimed!.username, reason: penalty }, 'login deferred');
          done(authError(CONNACK.SERVER_UNAVAILABLE, penalty), false);
          return;
        }
        let end = () => {};
        if (!knownGood) {
          const refusal = authInFlight >= limits.authInFlightMax ? 'too many logins at once' : admission.refusal(address, username ?? '');
          if (refusal !== undefined) {
            log.debug(
              { remote: address, username: username === undefined ? undefined : clip(username), reason: refusal },
              'login deferred',
            );
            publishFlood(floods.deferred(address, username));
            done(authError(CONNACK.SERVER_UNAVAILABLE, refusal), false);
            return;
          }
          authInFlight += 1;
          const endAddress = admission.start(address);
          end = () => {
            authInFlight -= 1;
            endAddress();
          };
        }
        checkCredentials(client, username, password, knownGood)
          .then((identity) => {
            // The table may have been replaced while the password was being checked.
            const current = identities.find(identity.username);
            if (!current || !sameIdentity(current, identity))
              throw authError(CONNACK.BAD_USERNAME_OR_PASSWORD, 'identity changed during login');
            return identity;
          })
          .then(
            (identity) => {
              if (!knownGood && password !== undefined) admission.succeeded(address, identity.username, identity.passwordHash, password);
              if (!knownGood) floods.succeeded(identity.username);
              identityOf.set(client, identity);
              done(null, true);
            },
            (err: unknown) => {
              // Anything but our own refusals (say, scrypt failing) is a fault on our side: "server unavailable".
              const refusal =
                err instanceof Error && 'returnCode' in err
                  ? (err as AuthenticateError)
                  : authError(CONNACK.SERVER_UNAVAILABLE, 'authentication failed');
              if (refusal.returnCode === CONNACK.BAD_USERNAME_OR_PASSWORD) {
                admission.failed(address, username);
                publishFlood(floods.failed(address, username));
              }
              log.warn(
                {
                  clientId: clip(client.id),
                  username: username === undefined ? undefined : clip(username),
                  returnCode: refusal.returnCode,
                  reason: refusal.message,
                },
                'connection refused',
              );
              done(refusal, false);
            },
          )
          .finally(end);
      },

      authorizePublish(client, packet, done) {
        const identity = client ? identityOf.get(client) : undefined;
        const bytes = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : (packet.payload?.length ?? 0);
        const allowed = identity !== undefined && mayPublish(identity, packet.topic, packet.retain) && bytes <= limits.messageBytesMax;
        if (allowed && client && identity.role !== 'server' && !publishBudget.take(client)) {
          // Over its publish budget: closed, and its logins refused for a while (publish-budget.ts).
          // The rest of what it had sent in the same read is refused without counting again.
          if (!overBudget.has(client)) {
            overBudget.add(client);
            const ms = publishBudget.penalise(identity.username);
            log.warn({ clientId: clip(client.id), username: identity.username, penaltyMs: ms }, 'publish budget exceeded: disconnected');
          }
          done(new Error('publish budget exceeded'));
          return;
        }
        if (allowed) {
          done(null);
          return;
        }
        // MQTT 3.1.1 has no negative PUBACK: aedes closes the connection on this error.
        log.warn(
          {
            clientId: client ? clip(client.id) : undefined,
            username: identity?.username,
            topic: clip(packet.topic),
            retain: packet.retain,
            bytes,
          },
          'publish denied',
        );
        done(new Error('publish not authorized'));
      },

      authorizeSubscribe(client, sub: Subscription, done) {
        const identity = identityOf.get(client);
        if (identity && maySubscribe(identity, sub.topic)) {
          if (isSharedSubscription(sub.topic))
            log.warn(
              { username: identity.username, filter: sub.topic },
              'shared subscription accepted, but aedes 1.2 delivers nothing to $share filters',
            );
          done(null, sub);
          return;
        }
        log.warn({ clientId: clip(client.id), username: identity?.username, filter: clip(sub.topic) }, 'subscribe denied');
        done(null, null); // SUBACK 0x80 for this filter [MQTT-3.9.3]
      },

      // Every delivery (live, queued for a persistent session, retained) is checked against what the
      // receiver may read now: a session restored from persistence, or taken over with the same client
      // id by another identity, keeps subscriptions its current identity might not be granted. A test
      // identity may subscribe wide, so its deliveries are checked against the conformance rules.
      authorizeForward(client, packet) {
        const identity = identityOf.get(client);
        if (identity === undefined) return null;
        if (identity.role === 'test')
          return conformance && conformanceCanPublish(conformance, packet.topic, limits.topicLevelsMax) ? packet : null;
        return canReceive(identity, packet.topic) ? packet : null;
      },
    });
  }

  let aedes: Aedes;
  try {
    aedes = await createAedes();
  } catch (e) {
    mq?.close(() => {});
    await persistence?.destroy().catch(() => {});
    throw e;
  }

  aedes.on('client', (client) => liveClients.set(client.id, client));
  aedes.on('clientDisconnect', (client) => {
    if (liveClients.get(client.id) === client) liveClients.delete(client.id);
    log.info({ clientId: clip(client.id), username: identityOf.get(client)?.username }, 'client disconnected');
  });
  aedes.on('clientReady', (client) => {
    const identity = identityOf.get(client);
    log.info({ clientId: clip(client.id), username: identity?.username, role: identity?.role }, 'client connected');
  });
  aedes.on('clientError', (client, err) => log.debug({ clientId: clip(client.id), err: err.message }, 'client error'));

  // A PUBLISH's remaining length is its topic (2 + up to TOPIC_BYTES_MAX), packet id (2) and payload.
  const remainingLengthMax = limits.messageBytesMax + TOPIC_BYTES_MAX + 4;
  const onSocket = (socket: Socket) => {
    socket.setNoDelay(true);
    aedes.handle(socket);
    guardPacketSize(socket, remainingLengthMax, (bytes) =>
      log.warn({ remote: socket.remoteAddress, bytes }, 'packet too large; connection closed'),
    );
  };
  let server: Server;
  if (tlsOptions) {
    // 'secureConnection' sockets are TLSSockets: aedes reads the decrypted stream, tls.ts the peer certificate.
    const tlsServer = createTlsServer(tlsOptions, onSocket);
    tlsServer.on('tlsClientError', (err, socket) => log.warn({ remote: socket.remoteAddress, err: err.message }, 'TLS handshake failed'));
    server = tlsServer;
  } else {
    server = createServer({ noDelay: true }, onSocket);
  }
  server.maxConnections = limits.connectionsMax;

  const closeAedes = async () => {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    // aedes does not close its persistence: the Redis connections would keep the process alive.
    await persistence
      ?.destroy()
      .catch((e: unknown) => log.warn({ err: e instanceof Error ? e.message : String(e) }, 'closing persistence failed'));
  };
  try {
    await listen(server, opts.port, host, opts.portFlag ?? '--port');
  } catch (e) {
    await closeAedes();
    throw e;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const url = `${tlsOptions ? 'mqtts' : 'mqtt'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url, identities: identities.size, clientCertificates: certPolicy }, 'broker listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    replaceIdentities(table) {
      identities = table;
      let disconnected = 0;
      for (const client of [...liveClients.values()]) {
        const old = identityOf.get(client);
        const now = old ? table.find(old.username) : undefined;
        if (old && (!now || !sameIdentity(old, now))) {
          disconnected += 1;
          log.warn(
            { clientId: clip(client.id), username: old.username },
            now ? 'identity changed; connection closed' : 'identity removed; connection closed',
          );
          client.close();
        }
      }
      log.info({ identities: table.size, disconnected }, 'identities replaced');
      return { identities: table.size, disconnected };
    },
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await closeAedes();
        await serverClosed;
        log.info({ url }, 'broker closed');
      })();
      return closing;
    },
  };
}
