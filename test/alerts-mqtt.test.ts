// SPDX-License-Identifier: Apache-2.0
// Issue 12, "alerts operators can act on", against the real broker and server (bin/system.ts, port
// 0): a wrong-password flood becomes exactly one login-flood alert in the server's list; a copied
// offline code's alerts (kiosk, wallet, amount) reach a technician's console over MQTT, live and in
// the retained list; a kiosk may neither read nor write the server's alerts.
import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { wrongPasswordFlood } from '../broker/testing/wrong-password-flood.ts';
import { MqttUplink } from '../device/uplink/mqtt-uplink.ts';
import { enrollWallet, issueCredential, topUp } from '../server/domain/wallets.ts';
import { serverAlertsMessage, type PublishedServerAlert } from '../shared/alert-messages.ts';
import { fromBase64url } from '../shared/bytes.ts';
import { makeOfflineCode } from '../shared/codes/offline-code.ts';
import { naclEd25519 } from '../shared/crypto/ed25519-nacl.ts';
import { money } from '../shared/money.ts';
import { topics } from '../shared/topics.ts';
import { startConsole } from './console-kit.ts';
import { connectAs, startTestSystem, type TestSystem } from './system-kit.ts';
import { eventually, WAIT_MS, within } from '../shared/testing/wait.ts';

/** Bound on every wait for something to arrive over the network (not a measured threshold). */

let system: TestSystem;
const uplinks: MqttUplink[] = [];
const sockets: Socket[] = [];

beforeEach(async () => {
  system = await startTestSystem('alerts', ['k1', 'k2']);
  for (const k of system.kiosks) uplinks.push(await MqttUplink.connect({ ...k, requestTimeoutMs: WAIT_MS }));
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(uplinks.splice(0).map((u) => u.close()));
  await system.close();
});

/** `kioskpay console ...argv` in-process as the technician. */
const runConsole = (argv: string[]) => startConsole(system.technicianLogin, argv);

describe('alerts operators can act on (issue 12)', () => {
  it("turns a wrong-password flood into exactly one login-flood alert in the server's list", async () => {
    const ctx = system.server.ctx;
    // Before: no flood alert. (The technician's login is then known-good: a first login from the
    // flooding address, 127.0.0.1 here, would wait out the address's backoff like the flood.)
    const before = runConsole(['alerts', '--json']);
    expect(await before.done).toBe(0);
    expect(JSON.parse(before.stdout.text)).toMatchObject({ alerts: [] });
    // 64 wrong-password logins as k2, waited for until each got its CONNACK or was closed.
    await wrongPasswordFlood(system.broker.port, 64, 'k2', 'answered', sockets);
    const flood = await eventually(() => ctx.alerts.since(0).find((a) => a.kind === 'login-flood'), { what: 'login-flood alert' });
    // Barrier: a kiosk request after the flood; the broker relayed its alert before it.
    expect(await uplinks[0]!.request({ v: 1, type: 'time', id: 't1', t0: Date.now() })).toMatchObject({ type: 'time.result' });
    expect(ctx.alerts.since(0).filter((a) => a.kind === 'login-flood')).toHaveLength(1);
    expect(flood).toMatchObject({ severity: 'critical', kioskId: 'k2', walletId: null, amount: null });
    expect(flood.message).toMatch(
      /^login flood \(by (address|username)\) from [0-9a-f.:]*127\.0\.0\.1, username "k2" \(kiosk k2\): \d+ wrong passwords and \d+ deferred logins/,
    );
    // /ops shows it with the fleet's alerts.
    const login = await fetch(`${system.server.httpUrl}/ops/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: system.operatorLogin.username, password: system.operatorLogin.password }).toString(),
    });
    expect(login.status).toBe(303);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const snapshot = (await (await fetch(`${system.server.httpUrl}/ops/api/snapshot`, { headers: { cookie } })).json()) as {
      fleet: { alerts: Array<Record<string, unknown>> };
    };
    expect(snapshot.fleet.alerts.filter((a) => a['kind'] === 'login-flood')).toEqual([
      expect.objectContaining({ kioskId: 'k2', severity: 'critical', message: flood.message }),
    ]);
    // The console shows it from the retained list.
    const c = runConsole(['alerts', '--json']);
    expect(await c.done).toBe(0);
    const list = JSON.parse(c.stdout.text) as { alerts: PublishedServerAlert[] };
    expect(list.alerts.filter((a) => a.kind === 'login-flood')).toEqual([
      expect.objectContaining({ kioskId: 'k2', severity: 'critical', seq: flood.seq }),
    ]);
  }, 30_000);

  it("sends a copied offline code's alerts to a console, live and in the retained list, with kiosk, wallet and amount", async () => {
    const follow = runConsole(['alerts', '--follow', '--count', '2', '--json']);
    expect(JSON.parse((await follow.stdout.lines(1))[0]!)).toMatchObject({ alerts: [] }); // the list before the copy
    // The same offline code stored by both kiosks: k2's is the copy (docs/protocol.md 3.6).
    const ctx = system.server.ctx;
    const w = await enrollWallet(ctx);
    await topUp(ctx, w.walletId, money(5_000));
    const phone = naclEd25519.keyPairFromSeed(new Uint8Array(32).fill(7));
    const cred = await issueCredential(ctx, w.walletId, phone.publicKey);
    const now = Date.now();
    const code = makeOfflineCode(
      { credential: fromBase64url(cred.credential)!, timestampMs: now, counter: 1, phoneSecretKey: phone.secretKey },
      naclEd25519,
    );
    for (const [i, u] of uplinks.entries())
      await u.request({ v: 1, type: 'settle', id: `s${i}`, items: [{ txId: `o${i}`, code, amount: money(1_100), capturedAt: now + i }] });

    expect(await follow.done).toBe(0);
    const live = follow.stdout.text
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => (JSON.parse(l) as { alert: PublishedServerAlert }).alert);
    expect(live.map((a) => [a.kind, a.severity, a.kioskId, a.walletId, a.amount])).toEqual([
      ['offline-copy', 'critical', 'k2', w.walletId, { value: 1_100, currency: 'JPY' }],
      ['credential-revoked', 'critical', 'k2', w.walletId, { value: 1_100, currency: 'JPY' }],
    ]);

    // The one-shot list, as people read it.
    const text = runConsole(['alerts']);
    expect(await text.done).toBe(0);
    const [header, ...rows] = text.stdout.text.trim().split('\n');
    expect(header).toMatch(/^TIME\s+SEVERITY\s+KIND\s+KIOSK\s+WALLET\s+AMOUNT\s+MESSAGE$/);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(
      new RegExp(`^\\d\\d:\\d\\d [+-]\\d\\d:\\d\\d\\s+critical\\s+offline-copy\\s+k2\\s+${w.walletId}\\s+¥1,100\\s+k2 took ¥1,100`),
    );
    expect(rows[1]).toMatch(
      new RegExp(
        `^\\d\\d:\\d\\d [+-]\\d\\d:\\d\\d\\s+critical\\s+credential-revoked\\s+k2\\s+${w.walletId}\\s+¥1,100\\s+credential ${cred.credentialId} of wallet`,
      ),
    );
  }, 30_000);

  it("refuses a kiosk the server's alerts: SUBACK 0x80, and a publish there closes its connection", async () => {
    // A retained list exists (the server published it on connect).
    const tech = await connectAs(system.technicianLogin, 'probe');
    const retained = new Promise<Buffer>((resolve) =>
      tech.on('message', (topic, p) => {
        if (topic === topics.serverAlerts) resolve(p);
      }),
    );
    await tech.subscribeAsync(topics.serverAlerts, { qos: 1 });
    const before = (await retained).toString();
    expect(serverAlertsMessage.parse(JSON.parse(before)).type).toBe('server-alerts');

    const kiosk = await connectAs(system.kiosks[0]!, 'probe');
    const seen: string[] = [];
    kiosk.on('message', (topic) => seen.push(topic));
    const granted = await kiosk
      .subscribeAsync([topics.serverAlerts, topics.revocations], { qos: 1 })
      .catch((e: { packet?: { granted?: number[] } }) => e.packet?.granted?.map((qos) => ({ qos })));
    expect(granted?.map((g) => g.qos)).toEqual([128, 1]);
    const closed = new Promise<void>((resolve) => kiosk.once('close', () => resolve()));
    kiosk.publish(
      topics.serverAlerts,
      JSON.stringify({ v: 1, type: 'server-alerts', instance: '0'.repeat(16), at: Date.now(), alerts: [] }),
      { qos: 1, retain: true },
      () => {},
    );
    await within(closed, { what: 'the broker to disconnect the kiosk' });
    kiosk.end(true);
    expect(seen.filter((topic) => topic === topics.serverAlerts)).toEqual([]);

    // The retained list is still the server's.
    const again = await connectAs(system.technicianLogin, 'probe2');
    const after = new Promise<Buffer>((resolve) =>
      again.on('message', (topic, p) => {
        if (topic === topics.serverAlerts) resolve(p);
      }),
    );
    await again.subscribeAsync(topics.serverAlerts, { qos: 1 });
    expect((await after).toString()).toBe(before);
    await again.endAsync(true);
    await tech.endAsync(true);
  }, 30_000);
});
