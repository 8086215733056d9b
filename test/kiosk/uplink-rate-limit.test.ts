// SPDX-License-Identifier: Apache-2.0
// The kiosk's real uplink over our broker, against a scripted server that refuses the first `pay`
// with RATE_LIMITED (retryAfterMs 300) and approves the next. The uplink resends the SAME request
// (same id and txId) only after the wait on its (fake) timers, and the payment completes once: no
// status, no void. Before the resend, the kiosk took the refusal as the answer (outcome 'error').
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../broker/broker.ts';
import { identitiesFromPasswords } from '../../broker/identities.ts';
import { CHEAP_SCRYPT } from '../../broker/testing/test-identities.ts';
import { payOnline } from '../../device/domain/online-payment.ts';
import { ManualTimers } from '../../device/timers.ts';
import { MqttUplink } from '../../device/uplink/mqtt-uplink.ts';
import type { KioskReply, KioskRequest } from '../../shared/kiosk-messages.ts';
import { topics } from '../../shared/topics.ts';
import { eventually } from '../../shared/testing/wait.ts';

const silent = pino({ level: 'silent' });
let broker: RunningBroker;
let server: MqttClient;
const seen: KioskRequest[] = [];
/** The scripted server's answers, in order; approval once the script is used up. */
const script: Array<(r: KioskRequest) => KioskReply> = [];

beforeAll(async () => {
  const identities = await identitiesFromPasswords(
    [
      { username: 'k1', password: 'pw-k1', role: 'kiosk', kioskId: 'k1' },
      { username: 'srv', password: 'pw-srv', role: 'server' },
    ],
    CHEAP_SCRYPT,
  );
  broker = await startBroker({ port: 0, identities, limits: { authBackoffBaseMs: 0 }, logger: silent });
  server = await mqtt.connectAsync(broker.url, {
    protocolVersion: 4,
    username: 'srv',
    password: 'pw-srv',
    clientId: 'srv-rate',
    reconnectPeriod: 0,
  });
  server.on('message', (_t, payload) => {
    const req = JSON.parse(payload.toString()) as KioskRequest;
    seen.push(req);
    const answer =
      script.shift() ??
      ((r: KioskRequest): KioskReply => ({ v: 1, type: 'pay.result', re: r.id, txId: 'txId' in r ? r.txId : '', status: 'approved' }));
    void server.publishAsync(topics.kioskReplies('k1'), JSON.stringify(answer(req)), { qos: 1 });
  });
  await server.subscribeAsync(topics.allKioskRequests, { qos: 1 });
}, 20_000);

afterAll(async () => {
  await server?.endAsync(true);
  await broker?.close();
});

describe('the uplink and a RATE_LIMITED reply', () => {
  it('resends the same pay after retryAfterMs and the payment completes once', async () => {
    const timers = new ManualTimers();
    const uplink = await MqttUplink.connect({
      url: broker.url,
      kioskId: 'k1',
      username: 'k1',
      password: 'pw-k1',
      requestTimeoutMs: 5_000,
      timers,
      random: () => 0,
    });
    try {
      script.push((r) => ({ v: 1, type: 'error', re: r.id, code: 'RATE_LIMITED', message: 'slow down', retryAfterMs: 300 }));
      let n = 0;
      const paying = payOnline(
        uplink,
        { txId: 'tx-1', code: '31000000000000000000', amount: { value: 100, currency: 'JPY' } },
        { nextId: () => `c${++n}` },
      );
      // The refusal arrived: its request's deadline timer is gone, the backoff wait remains.
      await eventually(() => seen.length === 1 && uplink.pendingRequests === 0 && timers.pending === 1, { what: 'the refusal' });
      timers.advance(299);
      expect(timers.pending).toBe(1); // still waiting: nothing resent yet
      timers.advance(1);
      expect(await paying).toMatchObject({ outcome: 'approved', result: { txId: 'tx-1' } });
      expect(seen.map((r) => [r.type, r.id, 'txId' in r ? r.txId : ''])).toEqual([
        ['pay', 'c1', 'tx-1'],
        ['pay', 'c1', 'tx-1'],
      ]);
    } finally {
      await uplink.close();
    }
  }, 20_000);
});
