// SPDX-License-Identifier: Apache-2.0
// Where the embedded broker keeps retained messages and persistent sessions (clean=false
// subscriptions, queued QoS 1/2 messages, last wills): in memory by default (lost on restart), or
// in Redis through aedes-persistence-redis when a Redis URL is configured, so they survive a
// restart. One broker per key prefix: the message routing itself (mqemitter) stays in process.
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';

/** What `redis` in BrokerOptions says: a `redis://` or `rediss://` URL and a key prefix. */
export interface RedisPersistenceOptions {
  /** `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS. */
  readonly url: string;
  /** Prepended to every key this broker writes; default REDIS_PERSISTENCE_DEFAULTS.prefix. */
  readonly prefix?: string;
}

export const REDIS_PERSISTENCE_DEFAULTS = Object.freeze({
  prefix: 'kioskpay:broker:',
  /** How long the start-up check may take to reach Redis, in ms; then the broker refuses to start. */
  connectTimeoutMs: 5_000,
  /** Queued messages delivered to a returning persistent session at its CONNECT (the rest stay queued). */
  sessionDeliveryMax: 1_000,
  /** How often a command is retried over Redis reconnections before it fails. */
  retriesPerRequestMax: 3,
});

/** Thrown when the Redis URL is malformed or Redis cannot be reached at start-up. */
export class BrokerPersistenceError extends Error {
  override readonly name = 'BrokerPersistenceError';
}

const PREFIX = /^[A-Za-z0-9:._-]{1,64}$/;

/** The ioredis options the URL stands for (host, port, db, credentials, TLS). Throws BrokerPersistenceError. */
export function redisOptionsFromUrl(url: string): {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls?: object;
} {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new BrokerPersistenceError(`redis URL ${JSON.stringify(url)} is not a URL (want redis://host:port/db)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new BrokerPersistenceError(`redis URL must start with redis:// or rediss://, not ${u.protocol}//`);
  if (u.hostname === '') throw new BrokerPersistenceError('redis URL has no host');
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : /^[0-9]{1,2}$/.test(dbText) ? Number(dbText) : NaN;
  if (!Number.isInteger(db)) throw new BrokerPersistenceError(`redis URL database must be a number 0-99, not ${JSON.stringify(dbText)}`);
  if (u.search !== '' || u.hash !== '') throw new BrokerPersistenceError('redis URL must not have a query or fragment');
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** The URL with its password replaced, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

/** The aedes persistence object (aedes-persistence's callback API); typed only as far as we use it. */
export interface AedesPersistence {
  destroy(): Promise<void>;
}

/**
 * Checks that Redis answers PING within connectTimeoutMs, then returns an aedes-persistence-redis
 * instance on it with the key prefix. Rejects with BrokerPersistenceError otherwise, so a broker
 * never starts half-persistent and never hangs waiting for Redis.
 */
export async function createRedisPersistence(opts: RedisPersistenceOptions): Promise<AedesPersistence> {
  const prefix = opts.prefix ?? REDIS_PERSISTENCE_DEFAULTS.prefix;
  if (!PREFIX.test(prefix))
    throw new BrokerPersistenceError(`redis prefix must be 1-64 characters of A-Z a-z 0-9 : . _ -, not ${JSON.stringify(prefix)}`);
  const base = redisOptionsFromUrl(opts.url);
  const d = REDIS_PERSISTENCE_DEFAULTS;
  const probe = new Redis({
    ...base,
    lazyConnect: true,
    connectTimeout: d.connectTimeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {}); // reported through connect()/ping() below
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    throw new BrokerPersistenceError(`cannot reach Redis at ${redactRedisUrl(opts.url)}: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    probe.disconnect();
  }
  // aedes-persistence-redis is CommonJS and brings its own ioredis; it takes ioredis options.
  const require = createRequire(import.meta.url);
  const factory = require('aedes-persistence-redis') as (o: object) => AedesPersistence;
  return factory({
    ...base,
    keyPrefix: prefix,
    connectTimeout: d.connectTimeoutMs,
    maxRetriesPerRequest: d.retriesPerRequestMax,
    maxSessionDelivery: d.sessionDeliveryMax,
  });
}
