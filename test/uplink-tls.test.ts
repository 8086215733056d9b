// SPDX-License-Identifier: Apache-2.0
// The kiosk's uplink over TLS (mqtts://) to our broker requiring client certificates: it connects
// with its certificate (CN = kiosk id) and pays a round trip; without the broker's CA it never
// connects (certificates are always verified).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../broker/broker.ts';
import { hasOpenssl, makeTestCertificates, type TestCertificates } from '../broker/testing/test-certificates.ts';
import { testIdentities } from '../broker/testing/test-identities.ts';
import { MqttUplink } from '../device/uplink/mqtt-uplink.ts';
import { UplinkConnectError } from '../device/uplink/uplink.ts';
import { topics } from '../shared/topics.ts';
import mqtt from 'mqtt';

describe.skipIf(!hasOpenssl())('kiosk uplink over TLS (skipped: the openssl CLI is needed to make test certificates)', () => {
  let certs: TestCertificates;
  let broker: RunningBroker;

  beforeAll(async () => {
    certs = makeTestCertificates();
    broker = await startBroker({
      port: 0,
      identities: await testIdentities(),
      tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca, requireClientCert: true },
    });
  }, 30_000);
  afterAll(async () => {
    await broker?.close();
    certs?.remove();
  });

  it('connects with its client certificate and gets replies', async () => {
    expect(broker.url).toMatch(/^mqtts:\/\//);
    const server = await mqtt.connectAsync(broker.url, {
      protocolVersion: 4,
      username: 'server',
      password: 'pw-server',
      ca: certs.ca,
      servername: 'localhost',
      cert: certs.client('server').cert,
      key: certs.client('server').key,
    });
    await server.subscribeAsync(topics.allKioskRequests, { qos: 1 });
    server.on('message', (_t, payload) => {
      const req = JSON.parse(payload.toString()) as { id: string; t0: number };
      void server.publishAsync(
        topics.kioskReplies('k1'),
        JSON.stringify({ v: 1, type: 'time.result', re: req.id, t0: req.t0, t1: 1, t2: 2 }),
        { qos: 1 },
      );
    });
    const k1 = certs.client('k1');
    const uplink = await MqttUplink.connect({
      url: broker.url,
      kioskId: 'k1',
      username: 'k1',
      password: 'pw-k1',
      tls: { ca: certs.ca, cert: k1.cert, key: k1.key, servername: 'localhost' },
      connectTimeoutMs: 5_000,
    });
    try {
      const reply = await uplink.request({ v: 1, type: 'time', id: 'tls-1', t0: 5 });
      expect(reply).toMatchObject({ type: 'time.result', re: 'tls-1', t0: 5 });
    } finally {
      await uplink.close();
      await server.endAsync();
    }
  });

  it('never connects to a broker whose certificate it cannot verify', async () => {
    const k1 = certs.client('k1');
    await expect(
      MqttUplink.connect({
        url: broker.url,
        kioskId: 'k1',
        username: 'k1',
        password: 'pw-k1',
        tls: { cert: k1.cert, key: k1.key, servername: 'localhost' },
        connectTimeoutMs: 1_500,
      }),
    ).rejects.toBeInstanceOf(UplinkConnectError);
  });
});
