// SPDX-License-Identifier: Apache-2.0
// Issue 6, broker cluster: two of our brokers started as `kioskpay broker --redis URL --cluster`
// share one Redis (a key prefix of their own, removed afterwards): messages are routed through Redis
// pub/sub (mqemitter-redis), retained messages and sessions kept there (aedes-persistence-redis). A
// kiosk on broker A pays through the payment server on broker B, and the server's retained broadcasts
// reach subscribers on either broker. Needs Redis on 127.0.0.1:6379 (KP_TEST_REDIS_URL): skipped
// without it locally, a failure under CI.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../broker/identities.ts';
import { brokerCommand } from '../broker/main.ts';
import { MqttUplink } from '../device/uplink/mqtt-uplink.ts';
import { parseServerConfig } from '../server/config.ts';
import { startServer, type RunningServer } from '../server/app.ts';
import { enrollWallet, issueOnlineCode, topUp } from '../server/domain/wallets.ts';
import { issuerKeysMessage } from '../shared/kiosk-messages.ts';
import { money } from '../shared/money.ts';
import { topics } from '../shared/topics.ts';
import { eventually, WAIT_MS } from '../shared/testing/wait.ts';
import { freePort } from './free-port.ts';

const REDIS_URL = process.env['KP_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const silent = pino({ level: 'silent' });
const secret = () => randomBytes(12).toString('base64url');

async function probeRedis(): Promise<string | undefined> {
  const r = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
    return undefined;
  } catch (e) {
    return `Redis at ${REDIS_URL} is unreachable (${(e as Error).message})`;
  } finally {
    r.disconnect();
  }
}

const unreachable = await probeRedis();
if (unreachable !== undefined && process.env['CI']) {
  describe('broker cluster on Redis', () => {
    it('reaches Redis (required in CI)', () => {
      throw new Error(unreachable);
    });
  });
}

interface ClusterBroker {
  url: string;
  stop(): Promise<number>;
}

/** `kioskpay broker --cluster --redis ...` on a free port, in this process; stop() is its SIGTERM. */
async function clusterBroker(identitiesFile: string, prefix: string): Promise<ClusterBroker> {
  const port = await freePort();
  const shutdown = new AbortController();
  let stderr = '';
  const sink = (into: (s: string) => void) =>
    new Writable({
      write(c, _e, done) {
        into(String(c));
        done();
      },
    });
  const exit = brokerCommand(
    ['--port', String(port), '--identities', identitiesFile, '--redis', REDIS_URL, '--redis-prefix', prefix, '--cluster'],
    {
      stdout: sink(() => {}),
      stderr: sink((s) => {
        stderr += s;
      }),
      logger: silent,
      shutdown: shutdown.signal,
      onReload: () => () => {},
    },
  );
  let exited: number | undefined;
  void exit.then((code) => {
    exited = code;
  });
  const accepts = () =>
    new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  await eventually(async () => exited !== undefined || (await accepts()), { what: `the broker to listen on ${port}` }).catch((e: Error) => {
    throw new Error(`${e.message}: ${stderr}`);
  });
  if (exited !== undefined) throw new Error(`broker exited with ${exited}: ${stderr}`);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    stop: async () => {
      shutdown.abort();
      return exit;
    },
  };
}

describe.skipIf(unreachable !== undefined)(`two brokers clustered on Redis (skipped: ${unreachable ?? 'no'})`, () => {
  const prefix = `kp-test-cluster-${secret().replace(/[^A-Za-z0-9]/g, '')}:`;
  const passwords = { server: secret(), k1: secret(), tech: secret() };
  let dir: string;
  let a: ClusterBroker | undefined;
  let b: ClusterBroker | undefined;
  let server: RunningServer | undefined;
  let kiosk: MqttUplink | undefined;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kp-cluster-'));
    const identitiesFile = join(dir, 'identities.json');
    writeFileSync(
      identitiesFile,
      JSON.stringify([
        { username: 'server', passwordHash: await hashPassword(passwords.server), role: 'server' },
        { username: 'k1', passwordHash: await hashPassword(passwords.k1), role: 'kiosk', kioskId: 'k1' },
        { username: 'tech', passwordHash: await hashPassword(passwords.tech), role: 'technician' },
      ]),
      { mode: 0o600 },
    );
    a = await clusterBroker(identitiesFile, prefix);
    b = await clusterBroker(identitiesFile, prefix);
    // The server on broker B; it publishes its retained issuer keys there on connect.
    server = await startServer(
      parseServerConfig({
        dataDir: join(dir, 'server'),
        httpPort: 0,
        mqttUrl: b.url,
        mqttUsername: 'server',
        mqttPassword: passwords.server,
        topupEnabled: true,
        logLevel: 'silent',
        kiosks: [{ id: 'k1', merchant: 'shop' }],
      }),
      { log: silent },
    );
    kiosk = await MqttUplink.connect({
      url: a.url,
      kioskId: 'k1',
      username: 'k1',
      password: passwords.k1,
      requestTimeoutMs: WAIT_MS,
      logger: silent,
    });
  }, 40_000);

  afterAll(async () => {
    await kiosk?.close();
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
    await server?.close();
    expect(await a?.stop()).toBe(0);
    expect(await b?.stop()).toBe(0);
    // Remove this run's keys from the shared Redis.
    const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const keys = await r.keys(`${prefix}*`);
      if (keys.length > 0) await r.del(...keys);
    } finally {
      r.disconnect();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 20_000);

  it('a kiosk on broker A pays through the server on broker B, and a replay gets the same answer', async () => {
    const ctx = server!.ctx;
    const w = await enrollWallet(ctx);
    await topUp(ctx, w.walletId, money(5_000));
    const { code } = await issueOnlineCode(ctx, w.walletId);
    const r = await kiosk!.request<'pay'>({ v: 1, type: 'pay', id: 'c1', txId: 'ct1', code, amount: money(1_200) });
    expect(r).toMatchObject({ type: 'pay.result', re: 'c1', status: 'approved', txId: 'ct1' });
    const again = await kiosk!.request<'pay'>({ v: 1, type: 'pay', id: 'c2', txId: 'ct1', code, amount: money(1_200) });
    expect(again).toMatchObject({ status: 'approved', paymentId: (r as { paymentId: string }).paymentId });
    const totals = await ctx.store.unit((tx) => tx.balanceTotals());
    expect([...totals.values()]).toEqual([0]);
  });

  it('shows the retained issuer keys, published on B, to new subscribers on both brokers', async () => {
    const expected = server!.ctx.issuer.keysMessage(Date.now()).keys.map((k) => k.publicKey);
    // Barrier: the server publishes its keys after connecting, so a first subscriber may get them
    // live; once it has a copy, the broker has stored them (before routing them) for later ones.
    const probe = await mqtt.connectAsync(b!.url, {
      protocolVersion: 4,
      username: 'tech',
      password: passwords.tech,
      clientId: `kp-tech-${secret()}`,
      reconnectPeriod: 0,
      connectTimeout: WAIT_MS,
    });
    clients.push(probe);
    let probed = false;
    probe.on('message', (topic) => {
      probed ||= topic === topics.issuerKeys;
    });
    await probe.subscribeAsync(topics.issuerKeys, { qos: 1 });
    await eventually(() => probed, { what: 'the issuer keys at a first subscriber on B' });
    for (const broker of [a!, b!]) {
      const c = await mqtt.connectAsync(broker.url, {
        protocolVersion: 4,
        username: 'tech',
        password: passwords.tech,
        clientId: `kp-tech-${secret()}`,
        reconnectPeriod: 0,
        connectTimeout: WAIT_MS,
      });
      clients.push(c);
      const seen: { payload: Buffer; retain: boolean }[] = [];
      c.on('message', (topic, payload, packet) => {
        if (topic === topics.issuerKeys) seen.push({ payload, retain: packet.retain });
      });
      await c.subscribeAsync(topics.issuerKeys, { qos: 1 });
      await eventually(() => seen.length > 0, { what: `the retained keys on ${broker === a ? 'A' : 'B'}` });
      expect(seen[0]!.retain).toBe(true);
      expect(issuerKeysMessage.parse(JSON.parse(seen[0]!.payload.toString())).keys.map((k) => k.publicKey)).toEqual(expected);
    }
  });

  it('routes a live publish on one broker to a subscriber on the other', async () => {
    // A technician on B listens to k1's events; k1 (on A) publishes one.
    const tech = await mqtt.connectAsync(b!.url, {
      protocolVersion: 4,
      username: 'tech',
      password: passwords.tech,
      clientId: `kp-tech-${secret()}`,
      reconnectPeriod: 0,
      connectTimeout: WAIT_MS,
    });
    const k1 = await mqtt.connectAsync(a!.url, {
      protocolVersion: 4,
      username: 'k1',
      password: passwords.k1,
      clientId: `kp-k1-raw-${secret()}`,
      reconnectPeriod: 0,
      connectTimeout: WAIT_MS,
    });
    clients.push(tech, k1);
    const marker = secret();
    const seen: string[] = [];
    tech.on('message', (_t, payload) => seen.push(payload.toString()));
    await tech.subscribeAsync(topics.kioskEvents('k1'), { qos: 1 });
    await k1.publishAsync(topics.kioskEvents('k1'), JSON.stringify({ marker }), { qos: 1 });
    await eventually(() => seen.length > 0, { what: "k1's event on the other broker" });
    expect(seen.map((s) => (JSON.parse(s) as { marker?: string }).marker)).toEqual([marker]);
  });
});

describe('kioskpay broker --cluster', () => {
  it('refuses --cluster without --redis (exit 2, says why)', async () => {
    let stderr = '';
    const code = await brokerCommand(['--port', '0', '--identities', 'unused.json', '--cluster'], {
      stdout: new Writable({
        write(_c, _e, done) {
          done();
        },
      }),
      stderr: new Writable({
        write(c, _e, done) {
          stderr += String(c);
          done();
        },
      }),
    });
    expect(code).toBe(2);
    expect(stderr).toContain('--cluster needs --redis URL');
  });
});
