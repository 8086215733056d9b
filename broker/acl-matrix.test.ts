// SPDX-License-Identifier: Apache-2.0
// Issue 5's ACL matrix against the embedded broker with real MQTT clients (the same matrix runs
// against Mosquitto in test/mosquitto-interop.test.ts), plus what only the embedded broker can
// refuse: the retain flag per topic, and deliveries to a persistent session taken over by another
// identity.
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../shared/topics.ts';
import { startBroker, type RunningBroker } from './broker.ts';
import { aclMatrixTests, type MatrixLogins } from './testing/acl-matrix.ts';
import { disconnectWatcher } from './testing/disconnect-watcher.ts';
import { testIdentities } from './testing/test-identities.ts';

const logins: MatrixLogins = {
  k1: { username: 'k1', password: 'pw-k1' },
  k2: { username: 'k2', password: 'pw-k2' },
  server: { username: 'server', password: 'pw-server' },
  tech: { username: 'tech', password: 'pw-tech' },
  ops: { username: 'ops', password: 'pw-ops' },
};

let broker: RunningBroker | undefined;
const watch = disconnectWatcher(3_000);
beforeAll(async () => {
  const identities = await testIdentities([
    { username: 'tech', password: 'pw-tech', role: 'technician' },
    { username: 'ops', password: 'pw-ops', role: 'operator' },
  ]);
  broker = await startBroker({ port: 0, identities, logger: watch.logger });
});
afterAll(async () => {
  await broker?.close();
});

describe('the ACL matrix against the embedded broker', () => {
  aclMatrixTests(() => ({ url: broker!.url, logins, denial: 'disconnect' }));
});

describe('what only the embedded broker enforces', () => {
  const connect = (who: keyof MatrixLogins, extra: mqtt.IClientOptions = {}) => mqtt.connectAsync(broker!.url, {
    protocolVersion: 4, username: logins[who].username, password: logins[who].password, reconnectPeriod: 0, connectTimeout: 3_000, ...extra,
  });
  const closedBy = (c: mqtt.MqttClient, act: () => void) => new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not disconnected')), 3_000);
    c.once('close', () => { clearTimeout(timer); resolve(); });
    act();
  });

  it('refuses a retained command, request, event or ack (the connection is closed)', async () => {
    const cases: [keyof MatrixLogins, string][] = [
      ['tech', topics.kioskCommands('k1')], ['server', topics.kioskCommands('k1')], ['k1', topics.kioskRequests('k1')],
      ['k1', topics.kioskEvents('k1')], ['k1', topics.kioskAcks('k1')],
    ];
    for (const [who, topic] of cases) {
      const c = await connect(who);
      await closedBy(c, () => c.publish(topic, 'x', { qos: 1, retain: true }, () => {}));
      await c.endAsync(true);
    }
    // Control: the same publishes unretained are acknowledged.
    for (const [who, topic] of cases) {
      const c = await connect(who);
      await c.publishAsync(topic, 'x', { qos: 1 });
      expect(c.connected, `${who} ${topic}`).toBe(true);
      await c.endAsync(true);
    }
  });

  it('refuses a kiosk last will on another kiosk\'s status, and accepts one on its own (CONNACK 5 otherwise)', async () => {
    const own = await connect('k1', { will: { topic: topics.kioskStatus('k1'), payload: Buffer.from('offline'), qos: 1, retain: true } });
    await own.endAsync(true);
    await expect(connect('k1', { will: { topic: topics.kioskStatus('k2'), payload: Buffer.from('offline'), qos: 1, retain: true } }))
      .rejects.toMatchObject({ code: 5 });
  });

  it('never delivers k1\'s queued replies to k2 logging in with k1\'s persistent client id', async () => {
    const clientId = `shared-${Date.now().toString(36)}`;
    const k1 = await connect('k1', { clientId, clean: false });
    expect((await k1.subscribeAsync(topics.kioskReplies('k1'), { qos: 1 }))[0]!.qos).toBe(1);
    await k1.endAsync();
    // Until the broker has seen k1 go, k1's id is live: k2 would get CONNACK 2.
    await watch.disconnected(clientId);
    const server = await connect('server');
    await server.publishAsync(topics.kioskReplies('k1'), 'queued for k1', { qos: 1 });
    // k2 takes over the session: it inherits the subscription, but not the right to read it.
    // Listening before CONNACK: a resumed session's queue is flushed right after it.
    const k2 = mqtt.connect(broker!.url, { protocolVersion: 4, username: 'k2', password: 'pw-k2', clientId, clean: false, reconnectPeriod: 0, connectTimeout: 3_000 });
    const seen: string[] = [];
    k2.on('message', (topic) => seen.push(topic));
    const resumed = await new Promise<boolean>((resolve, reject) => {
      k2.once('connect', (connack) => resolve(connack.sessionPresent));
      k2.once('error', reject);
    });
    expect(resumed).toBe(true);
    expect((await k2.subscribeAsync(topics.kioskReplies('k2'), { qos: 1 }))[0]!.qos).toBe(1);
    await server.publishAsync(topics.kioskReplies('k1'), 'live for k1', { qos: 1 });
    await server.publishAsync(topics.kioskReplies('k2'), 'barrier', { qos: 1 });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no barrier; saw ${JSON.stringify(seen)}`)), 3_000);
      const check = () => { if (seen.includes(topics.kioskReplies('k2'))) { clearTimeout(timer); resolve(); } };
      k2.on('message', check);
      check();
    });
    expect(seen).toEqual([topics.kioskReplies('k2')]);
    await Promise.all([k2.endAsync(true), server.endAsync(true)]);
  });
});
