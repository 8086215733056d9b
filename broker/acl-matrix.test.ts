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
import { WAIT_MS, within } from '../shared/testing/wait.ts';

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
  const connect = (who: keyof MatrixLogins, extra: mqtt.IClientOptions = {}) =>
    mqtt.connectAsync(broker!.url, {
      protocolVersion: 4,
      username: logins[who].username,
      password: logins[who].password,
      clientId: `kp-${logins[who].username}-${Math.random().toString(16).slice(2, 10)}`,
      reconnectPeriod: 0,
      connectTimeout: WAIT_MS,
      ...extra,
    });
  const closedBy = (c: mqtt.MqttClient, act: () => void) => {
    const closed = within(new Promise<void>((resolve) => c.once('close', () => resolve())), {
      what: 'the broker to disconnect the client',
    });
    act();
    return closed;
  };

  it('refuses a retained command, request, event or ack (the connection is closed)', async () => {
    const cases: [keyof MatrixLogins, string][] = [
      ['tech', topics.kioskCommands('k1')],
      ['server', topics.kioskCommands('k1')],
      ['k1', topics.kioskRequests('k1')],
      ['k1', topics.kioskEvents('k1')],
      ['k1', topics.kioskAcks('k1')],
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

  it("refuses a kiosk last will on another kiosk's status, and accepts one on its own (CONNACK 5 otherwise)", async () => {
    const own = await connect('k1', { will: { topic: topics.kioskStatus('k1'), payload: Buffer.from('offline'), qos: 1, retain: true } });
    await own.endAsync(true);
    await expect(
      connect('k1', { will: { topic: topics.kioskStatus('k2'), payload: Buffer.from('offline'), qos: 1, retain: true } }),
    ).rejects.toMatchObject({ code: 5 });
  });

  it("refuses k2 logging in with k1's persistent client id once k1 is gone (CONNACK 2: ids are bound to identities)", async () => {
    const clientId = `kp-k1-shared-${Date.now().toString(36)}`;
    const k1 = await connect('k1', { clientId, clean: false });
    expect((await k1.subscribeAsync(topics.kioskReplies('k1'), { qos: 1 }))[0]!.qos).toBe(1);
    await k1.endAsync();
    await watch.disconnected(clientId);
    // Before client ids were bound to identities, k2 resumed k1's session here (and only the
    // per-delivery check kept k1's replies from it).
    await expect(connect('k2', { clientId, clean: false })).rejects.toMatchObject({ code: 2 });
  });
});
