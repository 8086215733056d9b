// SPDX-License-Identifier: Apache-2.0
// Issue 12, finding 1: a flood of CONNECTs with wrong passwords must not lock the fleet out. Before
// admission control, 64 parallel wrong-password logins filled the broker's 32 password-check
// slots and a real kiosk reconnecting meanwhile got CONNACK 3 (server unavailable) and stayed off.
// Real sockets on loopback, port 0, production scrypt cost for the kiosk; the flood is bounded.
import mqtt from 'mqtt';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loginFloodMessage, type LoginFloodMessage } from '../shared/alert-messages.ts';
import { topics } from '../shared/topics.ts';
import { startBroker, type RunningBroker } from './broker.ts';
import { hashPassword, IdentityTable } from './identities.ts';
import { wrongPasswordFlood } from './testing/wrong-password-flood.ts';
import { WAIT_MS } from '../shared/testing/wait.ts';

/** How long the kiosk may wait for its CONNACK: a bound on the wait, not a measured threshold. */
const ADMIT_WAIT_MS = WAIT_MS;

let broker: RunningBroker | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await broker?.close();
  broker = undefined;
});

/** `n` raw CONNECTs with wrong passwords, all written at once; resolves when all are written. */
const flood = (port: number, n: number, username: string) => wrongPasswordFlood(port, n, username, 'written', sockets);

async function kioskLogin(port: number): Promise<number> {
  const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: 4,
    username: 'k1',
    password: 'k1-secret',
    clientId: 'kp-k1-real',
    reconnectPeriod: 0,
    connectTimeout: ADMIT_WAIT_MS,
  });
  try {
    return await new Promise<number>((resolve, reject) => {
      c.once('connect', () => resolve(0));
      c.once('error', (e) => ((e as { code?: number }).code !== undefined ? resolve((e as { code: number }).code) : reject(e)));
      c.once('close', () => resolve(-1));
    });
  } finally {
    c.end(true);
  }
}

describe('login flood (issue 12, finding 1)', () => {
  it('backs off a username and an address after a failure, but not a known login', async () => {
    const identities = IdentityTable.fromJson([
      { username: 'k1', passwordHash: await hashPassword('k1-secret'), role: 'kiosk', kioskId: 'k1' },
      { username: 'k2', passwordHash: await hashPassword('k2-secret'), role: 'kiosk', kioskId: 'k2' },
    ]);
    broker = await startBroker({ port: 0, identities, limits: { authBackoffBaseMs: 60_000 } });
    expect(await kioskLogin(broker.port)).toBe(0);
    const k2 = (password: string) =>
      mqtt.connectAsync(`mqtt://127.0.0.1:${broker!.port}`, {
        protocolVersion: 4,
        username: 'k2',
        password,
        clientId: 'kp-k2-x',
        reconnectPeriod: 0,
        connectTimeout: ADMIT_WAIT_MS,
      });
    await expect(k2('wrong')).rejects.toMatchObject({ code: 4 });
    // Within the backoff even the right password gets no password check: CONNACK 3, retry later.
    await expect(k2('k2-secret')).rejects.toMatchObject({ code: 3 });
    // A login that verified before is admitted at once.
    expect(await kioskLogin(broker.port)).toBe(0);
  });

  it.each([64, 1_000])(
    'admits a known kiosk while %i wrong-password CONNECTs arrive at once',
    async (n) => {
      const identities = IdentityTable.fromJson([
        { username: 'k1', passwordHash: await hashPassword('k1-secret'), role: 'kiosk', kioskId: 'k1' },
        { username: 'k2', passwordHash: await hashPassword('k2-secret'), role: 'kiosk', kioskId: 'k2' },
      ]);
      broker = await startBroker({ port: 0, identities, limits: { connectionsMax: 2_000 } });
      expect(await kioskLogin(broker.port)).toBe(0); // the kiosk was online before
      await flood(broker.port, n, 'k2');
      // The kiosk's connection dropped; it reconnects in the middle of the flood.
      expect(await kioskLogin(broker.port)).toBe(0);
    },
    30_000,
  );

  it('publishes exactly one login-flood alert for a flood on kp/v1/broker/alerts, naming address, username and kiosk', async () => {
    const identities = IdentityTable.fromJson([
      { username: 'k2', passwordHash: await hashPassword('k2-secret'), role: 'kiosk', kioskId: 'k2' },
      { username: 'server', passwordHash: await hashPassword('server-secret'), role: 'server' },
    ]);
    broker = await startBroker({ port: 0, identities });
    const server = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
      protocolVersion: 4,
      username: 'server',
      password: 'server-secret',
      clientId: 'kioskpay-server',
      reconnectPeriod: 0,
    });
    try {
      const alerts: LoginFloodMessage[] = [];
      let barrier!: () => void;
      const barrierSeen = new Promise<void>((resolve) => {
        barrier = resolve;
      });
      server.on('message', (topic, payload) => {
        if (topic === topics.brokerAlerts) alerts.push(loginFloodMessage.parse(JSON.parse(payload.toString())));
        else barrier();
      });
      expect((await server.subscribeAsync([topics.brokerAlerts, topics.kioskStatus('k2')], { qos: 1 })).map((g) => g.qos)).toEqual([1, 1]);
      const k2Login = () =>
        mqtt.connectAsync(`mqtt://127.0.0.1:${broker!.port}`, {
          protocolVersion: 4,
          username: 'k2',
          password: 'k2-secret',
          clientId: 'kp-k2-real',
          reconnectPeriod: 0,
        });
      await (await k2Login()).endAsync(true); // k2 was online before the flood: known-good
      // Every attempt answered: each socket got its CONNACK (4 bytes) or was closed.
      const answered = (s: Socket) =>
        new Promise<void>((resolve) => {
          let bytes = 0;
          s.on('data', (d: Buffer) => {
            bytes += d.length;
            if (bytes >= 4) resolve();
          });
          s.once('close', () => resolve());
        });
      await Promise.all((await floodSockets(broker.port, 64, 'k2')).map(answered));
      // Barrier: a later message through the broker to the same subscriber, from the real kiosk.
      const k2 = await k2Login();
      await k2.publishAsync(topics.kioskStatus('k2'), 'x', { qos: 1 });
      await barrierSeen;
      await k2.endAsync(true);
      expect(alerts).toHaveLength(1);
      const [a] = alerts;
      expect(a).toMatchObject({
        address: expect.stringMatching(/127\.0\.0\.1$/),
        username: 'k2',
        usernameKnown: true,
        kioskId: 'k2',
        suppressed: 0,
      });
      expect(a!.addressCounts.failed).toBeGreaterThanOrEqual(1);
      expect(a!.addressCounts.failed + a!.addressCounts.deferred).toBeGreaterThanOrEqual(10);
    } finally {
      await server.endAsync(true);
    }
  }, 30_000);
});

/** Like flood(), but resolves with the sockets once every CONNECT is written. */
async function floodSockets(port: number, n: number, username: string): Promise<Socket[]> {
  const start = sockets.length;
  await flood(port, n, username);
  return sockets.slice(start);
}
