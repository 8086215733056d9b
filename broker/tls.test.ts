// SPDX-License-Identifier: Apache-2.0
// The broker over TLS (node:tls) with real MQTT.js clients and throwaway certificates from the
// openssl CLI: plain TLS, optional and required client certificates, and the CN = username rule.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../shared/topics.ts';
import { startBroker, type RunningBroker } from './broker.ts';
import type { IdentityTable } from './identities.ts';
import { hasOpenssl, makeTestCertificates, type TestCertificates } from './testing/test-certificates.ts';
import { testIdentities } from './testing/test-identities.ts';
import { tlsServerOptions } from './tls.ts';
import { WAIT_MS } from '../shared/testing/wait.ts';

const HAVE_OPENSSL = hasOpenssl();

/** An error from TLS or the socket, not a CONNACK refusal (those carry a numeric return code). */
function notConnack(e: unknown): boolean {
  return e instanceof Error && typeof (e as { code?: unknown }).code !== 'number';
}

describe.skipIf(!HAVE_OPENSSL)('the broker over TLS (skipped: the openssl CLI is needed to make test certificates)', () => {
  let certs: TestCertificates;
  let identities: IdentityTable;
  const brokers: RunningBroker[] = [];
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    certs = makeTestCertificates();
    identities = await testIdentities();
  }, 20_000);
  afterAll(() => certs?.remove());
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
    await Promise.all(brokers.splice(0).map((b) => b.close()));
  });

  async function broker(tls: { requestClientCert?: boolean; requireClientCert?: boolean } = {}): Promise<RunningBroker> {
    const b = await startBroker({
      port: 0,
      identities,
      limits: { authBackoffBaseMs: 0 },
      tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca, ...tls },
    });
    brokers.push(b);
    return b;
  }

  /** Connects over TLS trusting the test CA; resolves the client or rejects with the error. */
  async function connect(b: RunningBroker, username: string, extra: IClientOptions = {}): Promise<MqttClient> {
    const c = mqtt.connect(b.url, {
      protocolVersion: 4,
      username,
      password: `pw-${username}`,
      clientId: `kp-${username}-${Math.random().toString(16).slice(2, 10)}`,
      reconnectPeriod: 0,
      connectTimeout: WAIT_MS,
      ca: certs.ca,
      servername: 'localhost',
      ...extra,
    });
    clients.push(c);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no CONNACK and no error')), WAIT_MS);
      c.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      c.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      c.once('close', () => {
        clearTimeout(timer);
        reject(Object.assign(new Error('connection closed before CONNACK'), { code: 'CLOSED' }));
      });
    });
    return c;
  }

  it('serves MQTT over TLS: mqtts:// URL, login by password, publish and receive', async () => {
    const b = await broker();
    expect(b.url).toMatch(/^mqtts:\/\/127\.0\.0\.1:[1-9][0-9]*$/);
    const k1 = await connect(b, 'k1');
    const server = await connect(b, 'server');
    await server.subscribeAsync(topics.allKioskRequests, { qos: 1 });
    const got = new Promise<string>((resolve) => server.once('message', (_t, p) => resolve(p.toString())));
    await k1.publishAsync(topics.kioskRequests('k1'), 'over tls', { qos: 1 });
    expect(await got).toBe('over tls');
    // A plain-TCP MQTT client gets no CONNACK from the TLS port.
    await expect(connect(b, 'k1', { protocol: 'mqtt' })).rejects.toSatisfy(notConnack);
  });

  it('checks the password over TLS too (CONNACK 4)', async () => {
    const b = await broker();
    await expect(connect(b, 'k1', { password: 'wrong' })).rejects.toMatchObject({ code: 4 });
  });

  it('with client certificates required: a client without one fails the handshake; CN must equal the username', async () => {
    const b = await broker({ requireClientCert: true });
    const k1 = certs.client('k1');
    const ok = await connect(b, 'k1', { cert: k1.cert, key: k1.key });
    expect(ok.connected).toBe(true);
    // No certificate: the TLS handshake itself is refused, no MQTT at all (no CONNACK code).
    await expect(connect(b, 'k1')).rejects.toSatisfy(notConnack);
    // k1's certificate used to log in as k2 (right password): CONNACK 4, bad username or password.
    await expect(connect(b, 'k2', { cert: k1.cert, key: k1.key })).rejects.toMatchObject({ code: 4 });
    // A certificate with CN k1 from an untrusted CA: refused at the handshake.
    const forged = certs.untrustedClient('k1');
    await expect(connect(b, 'k1', { cert: forged.cert, key: forged.key })).rejects.toSatisfy(notConnack);
    // Still needs the password.
    await expect(connect(b, 'k1', { cert: k1.cert, key: k1.key, password: 'wrong' })).rejects.toMatchObject({ code: 4 });
  });

  it('refuses the handshake of a client without a certificate before any MQTT byte is read', async () => {
    const b = await broker({ requireClientCert: true });
    const error = await new Promise<Error | undefined>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: b.port, ca: certs.ca, servername: 'localhost' });
      s.once('error', (e) => resolve(e));
      s.once('close', () => resolve(undefined));
      // TLS 1.3 reports the refusal after the handshake, on the first read.
      s.once('secureConnect', () => s.write(Buffer.from([0x10, 0x00])));
    });
    expect(error?.message ?? 'closed').toMatch(/certificate|alert|closed|ECONNRESET/i);
  });

  it('with client certificates optional: password alone works, a presented one must match the username', async () => {
    const b = await broker({ requestClientCert: true });
    expect((await connect(b, 'k2')).connected).toBe(true);
    const k1 = certs.client('k1');
    expect((await connect(b, 'k1', { cert: k1.cert, key: k1.key })).connected).toBe(true);
    await expect(connect(b, 'k2', { cert: k1.cert, key: k1.key })).rejects.toMatchObject({ code: 4 });
    const forged = certs.untrustedClient('k2');
    await expect(connect(b, 'k2', { cert: forged.cert, key: forged.key })).rejects.toMatchObject({ code: 4 });
  });

  it('refuses to start with a missing CA for client certificates or non-PEM material', () => {
    expect(() => tlsServerOptions({ cert: certs.server.cert, key: certs.server.key, requireClientCert: true }, 1000)).toThrow(/tls.ca/);
    expect(() => tlsServerOptions({ cert: 'not pem', key: certs.server.key }, 1000)).toThrow(/tls.cert/);
    expect(() => tlsServerOptions({ cert: certs.server.cert, key: '' }, 1000)).toThrow(/tls.key/);
    expect(tlsServerOptions({ cert: certs.server.cert, key: certs.server.key, ca: certs.ca, requireClientCert: true }, 1000)).toMatchObject(
      { requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
    );
  });
});
