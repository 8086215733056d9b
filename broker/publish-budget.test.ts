// SPDX-License-Identifier: Apache-2.0
// The broker's per-login publish budget (publish-budget.ts): the bucket and penalty rules on a
// manual clock, then the real broker on port 0, where a kiosk that floods its request topic is
// disconnected and refused for its penalty while another kiosk's requests still reach the server.
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '../shared/topics.ts';
import { startBroker, type RunningBroker } from './broker.ts';
import { PublishBudget } from './publish-budget.ts';
import { testIdentities } from './testing/test-identities.ts';
import { eventually, WAIT_MS } from '../shared/testing/wait.ts';

describe('PublishBudget', () => {
  const limits = { perSec: 10, burst: 20, penaltyBaseMs: 1_000, penaltyMaxMs: 8_000 };

  it('allows the burst, then the sustained rate, per connection', () => {
    let now = 0;
    const budget = new PublishBudget(limits, () => now);
    const a = {};
    const b = {};
    for (let i = 0; i < 20; i++) expect(budget.take(a)).toBe(true);
    expect(budget.take(a)).toBe(false);
    expect(budget.take(b)).toBe(true); // another connection has its own budget
    now += 100; // one publish's worth at 10/s
    expect(budget.take(a)).toBe(true);
    expect(budget.take(a)).toBe(false);
  });

  it('refuses a penalised username for a time that doubles with repeats and is forgiven after a quiet spell', () => {
    let now = 0;
    const budget = new PublishBudget(limits, () => now);
    expect(budget.penalise('k1')).toBe(1_000);
    expect(budget.refusal('k1')).toMatch(/refused for 1 s/);
    expect(budget.refusal('k2')).toBeUndefined();
    now = 1_000;
    expect(budget.refusal('k1')).toBeUndefined();
    expect([budget.penalise('k1'), budget.penalise('k1'), budget.penalise('k1'), budget.penalise('k1')]).toEqual([
      2_000, 4_000, 8_000, 8_000,
    ]);
    now += 8_000 + 8_000; // quiet for the longest penalty after the last one ended
    expect(budget.penalise('k1')).toBe(1_000);
  });

  it('refuses limits that could never let anything through', () => {
    expect(() => new PublishBudget({ ...limits, perSec: 0 }, () => 0)).toThrow(/perSec/);
    expect(() => new PublishBudget({ ...limits, penaltyMaxMs: 10 }, () => 0)).toThrow(/penaltyBaseMs/);
  });
});

describe('the broker enforces the publish budget', () => {
  let broker: RunningBroker | undefined;
  const clients: MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await broker?.close();
    broker = undefined;
  });

  const login = async (username: string, password: string, clientId: string) => {
    const c = await mqtt.connectAsync(broker!.url, {
      protocolVersion: 4,
      username,
      password,
      clientId,
      reconnectPeriod: 0,
      connectTimeout: WAIT_MS,
    });
    clients.push(c);
    return c;
  };

  it('disconnects a kiosk that floods and refuses its logins for the penalty; other kiosks and the server are untouched', async () => {
    const identities = await testIdentities([]);
    broker = await startBroker({
      port: 0,
      identities,
      limits: { publishesPerSecMax: 50, publishBurstMax: 100, publishPenaltyBaseMs: 60_000 },
    });
    const server = await login('server', 'pw-server', 'kioskpay-server');
    const seen: string[] = [];
    server.on('message', (topic) => seen.push(topic));
    await server.subscribeAsync(topics.allKioskRequests, { qos: 1 });
    const flooder = await login('k1', 'pw-k1', 'kp-k1-a');
    const closed = new Promise<void>((resolve) => flooder.once('close', () => resolve()));
    for (let i = 0; i < 1_000; i++)
      flooder.publish(topics.kioskRequests('k1'), JSON.stringify({ v: 1, type: 'time', id: `f${i}`, t0: 1 }), { qos: 0 });
    await closed;
    // Within its penalty even the right password gets CONNACK 3 (server unavailable: retry later).
    await expect(
      mqtt.connectAsync(broker.url, {
        protocolVersion: 4,
        username: 'k1',
        password: 'pw-k1',
        clientId: 'kp-k1-b',
        reconnectPeriod: 0,
        connectTimeout: WAIT_MS,
      }),
    ).rejects.toMatchObject({ code: 3 });
    const honest = await login('k2', 'pw-k2', 'kp-k2-a');
    await honest.publishAsync(topics.kioskRequests('k2'), JSON.stringify({ v: 1, type: 'time', id: 'h1', t0: 1 }), { qos: 1 });
    // The server login is never budgeted: it answers every kiosk.
    for (let i = 0; i < 300; i++)
      server.publish(topics.kioskReplies('k2'), JSON.stringify({ v: 1, type: 'time.result', re: `r${i}`, t0: 1, t1: 2, t2: 3 }), {
        qos: 0,
      });
    await server.publishAsync(topics.kioskReplies('k2'), '{}', { qos: 1 });
    await eventually(() => seen.includes(topics.kioskRequests('k2')), { what: "the honest kiosk's request at the server" });
    expect(server.connected).toBe(true);
    // At most the burst and the rate over the flood's lifetime reached the server, not 1,000.
    expect(seen.filter((t) => t === topics.kioskRequests('k1')).length).toBeLessThan(1_000);
    expect(seen.filter((t) => t === topics.kioskRequests('k1')).length).toBeGreaterThanOrEqual(100);
  }, 20_000);
});
