// SPDX-License-Identifier: Apache-2.0
// The uplink checks against our real broker (port 0): a good login, a bad password (CONNACK 4), an
// identity the broker refuses (CONNACK 5), a closed port, a listener that never speaks MQTT, the
// password file's mode, and over TLS the certificate's CN, dates, key and PEM parsing.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../broker/broker.ts';
import { identitiesFromPasswords } from '../../broker/identities.ts';
import { hasOpenssl, makeTestCertificates, type TestCertificates } from '../../broker/testing/test-certificates.ts';
import { CHEAP_SCRYPT } from '../../broker/testing/test-identities.ts';
import { parseKioskConfig, type KioskConfig } from '../../device/kiosk/config.ts';
import type { CheckResult } from '../../device/kiosk/doctor/check.ts';
import { makeUplinkChecks, uplinkChecks } from '../../device/kiosk/doctor/uplink-checks.ts';

const silent = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'kp-uplink-doctor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function file(body: string, mode = 0o600): string {
  const p = join(dir, `f${n++}`);
  writeFileSync(p, body);
  chmodSync(p, mode);
  return p;
}

function config(mqtt: object, kioskId = 'k1'): Readonly<KioskConfig> {
  return parseKioskConfig({ kioskId, dataDir: dir, mqtt, issuerKeys: [{ keyId: 1, publicKey: 'A'.repeat(43) }], sim: true });
}

const env = { root: '/', probeTimeoutMs: 3_000 };
const byId = (rs: CheckResult[]) => Object.fromEntries(rs.map((r) => [r.id, r]));
const identities = () =>
  identitiesFromPasswords(
    [
      { username: 'k1', password: 'pw-k1', role: 'kiosk', kioskId: 'k1' },
      { username: 'tester', password: 'pw-tester', role: 'test' },
    ],
    CHEAP_SCRYPT,
  );

describe('uplinkChecks over plain MQTT', () => {
  let broker: RunningBroker;
  beforeAll(async () => {
    broker = await startBroker({ port: 0, identities: await identities(), limits: { authBackoffBaseMs: 0 }, logger: silent });
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('passes a kiosk whose password file is 0600 and whose login the broker accepts', async () => {
    const r = byId(await uplinkChecks(config({ url: broker.url, passwordFile: file('pw-k1\n') }), env));
    expect(r['uplink.password']?.status).toBe('pass');
    expect(r['uplink.tls']?.status).toBe('skip');
    expect(r['uplink.tcp']?.status).toBe('pass');
    expect(r['uplink.login']).toMatchObject({ status: 'pass', title: expect.stringContaining('CONNACK 0') });
  });

  it('fails a password file others can read, and says how to fix it', async () => {
    const r = byId(await uplinkChecks(config({ url: broker.url, passwordFile: file('pw-k1', 0o644) }), env));
    expect(r['uplink.password']).toMatchObject({
      status: 'fail',
      title: expect.stringContaining('0644'),
      fix: expect.stringContaining('chmod 0600'),
    });
    expect(r['uplink.login']?.status).toBe('pass');
  });

  it('fails a missing or empty password file; the login is then not tried', async () => {
    const missing = byId(await uplinkChecks(config({ url: broker.url, passwordFile: join(dir, 'nope') }), env));
    expect(missing['uplink.password']).toMatchObject({ status: 'fail', detail: 'ENOENT' });
    expect(missing['uplink.login']?.status).toBe('skip');
    expect(byId(await uplinkChecks(config({ url: broker.url, passwordFile: file('\n') }), env))['uplink.password']?.status).toBe('fail');
  });

  it('tells a bad password (CONNACK 4) from a refused identity (CONNACK 5)', async () => {
    const bad = byId(await uplinkChecks(config({ url: broker.url, passwordFile: file('wrong') }), env));
    expect(bad['uplink.login']).toMatchObject({ status: 'fail', title: expect.stringContaining('CONNACK 4') });
    const refused = byId(await uplinkChecks(config({ url: broker.url, username: 'tester', passwordFile: file('pw-tester') }), env));
    expect(refused['uplink.login']).toMatchObject({ status: 'fail', title: expect.stringContaining('not authorised (CONNACK 5)') });
  });

  it('warns about a password written in the config file', async () => {
    expect(byId(await uplinkChecks(config({ url: broker.url, password: 'pw-k1' }), env))['uplink.password']?.status).toBe('warn');
  });

  it('fails a closed port as unreachable and skips the login', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as { port: number }).port;
    await new Promise<void>((r) => s.close(() => r()));
    const r = byId(await uplinkChecks(config({ url: `mqtt://127.0.0.1:${port}`, passwordFile: file('pw-k1') }), env));
    expect(r['uplink.tcp']).toMatchObject({ status: 'fail', title: expect.stringContaining('ECONNREFUSED') });
    expect(r['uplink.login']?.status).toBe('skip');
  });

  it('fails, within its bound, a listener that accepts TCP but never answers MQTT', async () => {
    const held: Socket[] = [];
    const mute: Server = createServer((sock) => {
      held.push(sock);
    });
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    try {
      const port = (mute.address() as { port: number }).port;
      const r = byId(
        await uplinkChecks(config({ url: `mqtt://127.0.0.1:${port}`, passwordFile: file('pw-k1') }), { root: '/', probeTimeoutMs: 500 }),
      );
      expect(r['uplink.tcp']?.status).toBe('pass');
      expect(r['uplink.login']).toMatchObject({ status: 'fail', title: 'No MQTT login within 500 ms' });
    } finally {
      for (const s of held) s.destroy();
      await new Promise<void>((r) => mute.close(() => r()));
    }
  });
});

describe.skipIf(!hasOpenssl())('uplinkChecks over TLS (skipped without the openssl CLI)', () => {
  let certs: TestCertificates;
  let broker: RunningBroker;
  beforeAll(async () => {
    certs = makeTestCertificates();
    broker = await startBroker({
      port: 0,
      identities: await identities(),
      limits: { authBackoffBaseMs: 0 },
      logger: silent,
      tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca, requireClientCert: true },
    });
  }, 30_000);
  afterAll(async () => {
    await broker?.close();
    certs?.remove();
  });
  const tlsConfig = (cert: { cert: string; key: string }, o: { keyMode?: number; kioskId?: string } = {}) =>
    config(
      {
        url: broker.url,
        passwordFile: file('pw-k1'),
        tls: {
          caFile: file(certs.ca, 0o644),
          certFile: file(cert.cert, 0o644),
          keyFile: file(cert.key, o.keyMode ?? 0o600),
          servername: 'localhost',
        },
      },
      o.kioskId,
    );

  it("passes the kiosk's own certificate (CN = kioskId) and logs in", async () => {
    const r = byId(await uplinkChecks(tlsConfig(certs.client('k1')), env));
    expect(r['uplink.tls.ca']?.status).toBe('pass');
    expect(r['uplink.tls.cert']).toMatchObject({ status: 'pass', title: expect.stringContaining('CN=k1') });
    expect(r['uplink.tls.key']?.status).toBe('pass');
    expect(r['uplink.login']?.status).toBe('pass');
  });

  it('fails a certificate made for another kiosk, and the broker refuses its login (CONNACK 4)', async () => {
    const r = byId(await uplinkChecks(tlsConfig(certs.client('k2')), env));
    expect(r['uplink.tls.cert']).toMatchObject({ status: 'fail', title: expect.stringContaining('CN is k2, not the kiosk id k1') });
    expect(r['uplink.login']).toMatchObject({ status: 'fail', title: expect.stringContaining('CONNACK 4') });
  });

  it('fails expired certificates (checked at a given time)', async () => {
    const later = makeUplinkChecks({ now: () => Date.now() + 10 * 24 * 3_600_000 });
    const r = byId(await later(tlsConfig(certs.client('k1')), env));
    expect(r['uplink.tls.cert']).toMatchObject({ status: 'fail', title: expect.stringContaining('expired') });
    expect(r['uplink.tls.ca']).toMatchObject({ status: 'fail', title: expect.stringContaining('expired') });
  });

  it('fails a key of another certificate, a key others can read, and files that are not PEM', async () => {
    const k1 = certs.client('k1');
    const other = certs.client('k2');
    expect(byId(await uplinkChecks(tlsConfig({ cert: k1.cert, key: other.key }), env))['uplink.tls.key']).toMatchObject({
      status: 'fail',
      title: expect.stringContaining('does not belong'),
    });
    expect(byId(await uplinkChecks(tlsConfig(k1, { keyMode: 0o644 }), env))['uplink.tls.key']).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('chmod 0600'),
    });
    const r = byId(await uplinkChecks(tlsConfig({ cert: 'not a certificate', key: 'not a key' }), env));
    expect(r['uplink.tls.cert']?.status).toBe('fail');
    expect(r['uplink.tls.key']?.status).toBe('fail');
  });
});
