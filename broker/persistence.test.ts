// SPDX-License-Identifier: Apache-2.0
// Retained messages and persistent sessions across a broker restart, kept in the local Redis
// (127.0.0.1:6379) under a unique key prefix per test, removed afterwards. Skipped when Redis is
// not reachable. Also: without Redis they are gone after a restart (in memory, as documented).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../shared/topics.ts';
import { startBroker, type RunningBroker } from './broker.ts';
import type { IdentityTable } from './identities.ts';
import { BrokerPersistenceError, createRedisPersistence, redisOptionsFromUrl } from './persistence.ts';
import { disconnectWatcher } from './testing/disconnect-watcher.ts';
import { testIdentities } from './testing/test-identities.ts';
import { eventually, WAIT_MS } from '../shared/testing/wait.ts';

const REDIS_URL = 'redis://127.0.0.1:6379/0';

async function redisReachable(): Promise<boolean> {
  const r = new Redis({
    host: '127.0.0.1',
    port: 6379,
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}
const HAVE_REDIS = await redisReachable();

let identities: IdentityTable;
beforeAll(async () => {
  identities = await testIdentities();
});

const clients: MqttClient[] = [];
const brokers: RunningBroker[] = [];
async function closeAll(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
  await Promise.all(brokers.splice(0).map((b) => b.close()));
}
afterEach(closeAll);

async function broker(redis?: { url: string; prefix: string }, logger?: pino.Logger): Promise<RunningBroker> {
  const b = await startBroker({ port: 0, identities, ...(redis ? { redis } : {}), ...(logger ? { logger } : {}) });
  brokers.push(b);
  return b;
}

async function stop(b: RunningBroker): Promise<void> {
  await b.close();
  brokers.splice(brokers.indexOf(b), 1);
}

/** Connects, listening for messages from before CONNACK (a resumed session's queue comes right after it). */
async function connect(b: RunningBroker, username: string, extra: IClientOptions = {}) {
  const c = mqtt.connect(b.url, {
    protocolVersion: 4,
    username,
    password: `pw-${username}`,
    clientId: `kp-${username}-${Math.random().toString(16).slice(2, 10)}`,
    reconnectPeriod: 0,
    connectTimeout: WAIT_MS,
    ...extra,
  });
  clients.push(c);
  const seen: { topic: string; payload: string; retain: boolean }[] = [];
  c.on('message', (topic, payload, packet) => seen.push({ topic, payload: payload.toString(), retain: packet.retain }));
  const sessionPresent = await new Promise<boolean>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no CONNACK')), WAIT_MS);
    c.once('connect', (connack) => {
      clearTimeout(timer);
      resolve(connack.sessionPresent);
    });
    c.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  const waitFor = (pred: (m: { topic: string; payload: string; retain: boolean }) => boolean, what: string) =>
    eventually(() => seen.find(pred), { what }).catch((e: Error) => {
      throw new Error(`${e.message}; saw ${JSON.stringify(seen)}`);
    });
  return { c, seen, sessionPresent, waitFor };
}

describe('broker persistence: redis URL and options', () => {
  it('parses redis:// and rediss:// URLs and refuses anything else', () => {
    expect(redisOptionsFromUrl('redis://127.0.0.1:6380/3')).toEqual({ host: '127.0.0.1', port: 6380, db: 3 });
    expect(redisOptionsFromUrl('rediss://u:p%40ss@redis.example:6379')).toEqual({
      host: 'redis.example',
      port: 6379,
      db: 0,
      username: 'u',
      password: 'p@ss',
      tls: {},
    });
    expect(redisOptionsFromUrl('redis://[::1]')).toMatchObject({ host: '::1', port: 6379 });
    for (const bad of ['http://x', 'not a url', 'redis:///0', 'redis://h/x', 'redis://h/0?a=1']) {
      expect(() => redisOptionsFromUrl(bad), bad).toThrow(BrokerPersistenceError);
    }
  });

  it('refuses a bad prefix, and an unreachable Redis at start-up, with a clear error', async () => {
    await expect(createRedisPersistence({ url: REDIS_URL, prefix: 'bad prefix' })).rejects.toThrow(/prefix/);
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    await expect(startBroker({ port: 0, identities, redis: { url: 'redis://127.0.0.1:1/0' } })).rejects.toThrow(
      /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/,
    );
  });

  it('without Redis, a retained message is gone after a restart (in memory only)', async () => {
    const first = await broker();
    const server = await connect(first, 'server');
    await server.c.publishAsync(topics.catalog, 'in memory', { qos: 1, retain: true });
    await stop(first);
    const second = await broker();
    const k1 = await connect(second, 'k1');
    await k1.c.subscribeAsync(topics.catalog, { qos: 1 });
    // Barrier: a live message on the same topic arrives first and alone.
    const again = await connect(second, 'server');
    await again.c.publishAsync(topics.catalog, 'live', { qos: 1 });
    await k1.waitFor((m) => m.payload === 'live', 'live catalog');
    expect(k1.seen.map((m) => m.payload)).toEqual(['live']);
  });
});

describe.skipIf(!HAVE_REDIS)('broker persistence in Redis (skipped: no Redis on 127.0.0.1:6379)', () => {
  let prefix: string;
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 });
  });
  afterAll(() => admin?.disconnect());
  afterEach(async () => {
    // Brokers first (this hook runs before the outer one), so none writes after the clean-up.
    await closeAll();
    // Every key this test's brokers wrote, and nothing else.
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  });

  const redis = () => {
    prefix = `kp-test-${randomBytes(6).toString('hex')}:`;
    return { url: REDIS_URL, prefix };
  };

  it('keeps a retained message across a restart', async () => {
    const cfg = redis();
    const first = await broker(cfg);
    const server = await connect(first, 'server');
    await server.c.publishAsync(topics.catalog, 'catalog v7', { qos: 1, retain: true });
    await stop(first);
    expect((await admin.keys(`${prefix}*`)).length).toBeGreaterThan(0);

    const second = await broker(cfg);
    const k1 = await connect(second, 'k1');
    await k1.c.subscribeAsync(topics.catalog, { qos: 1 });
    const got = await k1.waitFor((m) => m.topic === topics.catalog, 'retained catalog');
    expect(got).toEqual({ topic: topics.catalog, payload: 'catalog v7', retain: true });
  });

  it('delivers a QoS 1 message published while a clean=false subscriber was away, after a broker restart', async () => {
    const cfg = redis();
    const watch = disconnectWatcher(WAIT_MS);
    const first = await broker(cfg, watch.logger);
    const clientId = `kp-k1-session-${randomBytes(4).toString('hex')}`;
    const k1 = await connect(first, 'k1', { clientId, clean: false });
    expect((await k1.c.subscribeAsync(topics.kioskCommands('k1'), { qos: 1 }))[0]!.qos).toBe(1);
    await k1.c.endAsync();
    // Until the broker has seen k1 go, it would deliver the command to the closing connection.
    await watch.disconnected(clientId);
    const server = await connect(first, 'server');
    await server.c.publishAsync(topics.kioskCommands('k1'), 'reboot please', { qos: 1 });
    // aedes acknowledges a publish (PUBACK) before the offline client's queue entry reaches Redis:
    // wait for the entry, as an orderly shutdown would, before stopping the broker.
    await eventually(async () => (await admin.keys(`${prefix}*outgoing:${clientId}*`)).length > 0, { what: 'the queued message in Redis' });
    await stop(first);

    // A new broker (on another port: the kiosk would reconnect by URL) with the same Redis.
    const second = await broker(cfg);
    const back = await connect(second, 'k1', { clientId, clean: false });
    expect(back.sessionPresent).toBe(true);
    const got = await back.waitFor((m) => m.topic === topics.kioskCommands('k1'), 'the queued command');
    expect(got.payload).toBe('reboot please');
    // The subscription itself survived too: a new command arrives without subscribing again.
    const again = await connect(second, 'server');
    await again.c.publishAsync(topics.kioskCommands('k1'), 'second', { qos: 1 });
    await back.waitFor((m) => m.payload === 'second', 'a live command on the restored subscription');
    expect(back.seen.map((m) => m.payload)).toEqual(['reboot please', 'second']);
  });
});
