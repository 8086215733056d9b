// SPDX-License-Identifier: Apache-2.0
// The kiosk uplink and the payment server, unchanged, against a real Mosquitto 2 configured with
// the files `kioskpay broker mosquitto-config` generates: payments, retained broadcasts, the ACL
// (as Mosquitto enforces it: denied publishes are acknowledged and dropped, subscriptions are
// granted but deliveries filtered) and refused logins, and issue 5's ACL matrix (the same tests run
// against the embedded broker in broker/acl-matrix.test.ts). Needs /usr/sbin/mosquitto (CI installs it).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoConfigCommand } from '../broker/mosquitto-config.ts';
import type { IdentityWithPassword } from '../broker/identities.ts';
import { aclMatrixTests } from '../broker/testing/acl-matrix.ts';
import { MqttUplink } from '../device/uplink/mqtt-uplink.ts';
import { UplinkConnectError } from '../device/uplink/uplink.ts';
import { parseServerConfig } from '../server/config.ts';
import { startServer, type RunningServer } from '../server/app.ts';
import { enrollWallet, issueOnlineCode, topUp } from '../server/domain/wallets.ts';
import { issuerKeysMessage, kioskReply } from '../shared/kiosk-messages.ts';
import { money } from '../shared/money.ts';
import { topics } from '../shared/topics.ts';
import { eventually, WAIT_MS, within } from '../shared/testing/wait.ts';
import { freePort } from './free-port.ts';

const MOSQUITTO = '/usr/sbin/mosquitto';
const HAVE_MOSQUITTO = existsSync(MOSQUITTO);

const secret = () => randomBytes(12).toString('base64url');
const IDS = {
  server: { username: 'server', password: secret(), role: 'server' },
  k1: { username: 'k1', password: secret(), role: 'kiosk', kioskId: 'k1' },
  k2: { username: 'k2', password: secret(), role: 'kiosk', kioskId: 'k2' },
  tech: { username: 'tech', password: secret(), role: 'technician' },
  ops: { username: 'ops', password: secret(), role: 'operator' },
} as const satisfies Record<string, IdentityWithPassword>;

let dir: string;
let broker: ChildProcess | undefined;
let brokerLog = '';
/** The kiosks' listener. */
let url: string;
/** The staff listener: server, technician, operator. */
let staffUrl: string;
let server: RunningServer | undefined;
const uplinks: MqttUplink[] = [];
const clients: MqttClient[] = [];

/** Whether the port accepts a TCP connection now. */
function accepts(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Resolves once the port accepts a TCP connection; rejects (with Mosquitto's log) after the bound or when Mosquitto exits. */
async function waitForPort(port: number): Promise<void> {
  await eventually(async () => broker?.exitCode !== null || (await accepts(port)), { what: `mosquitto to listen on ${port}` }).catch(
    (e: Error) => {
      throw new Error(`${e.message}:\n${brokerLog}`);
    },
  );
  if (broker?.exitCode !== null) throw new Error(`mosquitto exited (${broker?.exitCode}):\n${brokerLog}`);
}

/** A raw MQTT 3.1.1 client logged in as one of IDS, collecting what arrives. */
async function client(id: IdentityWithPassword, clientId = `t-${id.username}-${secret()}`) {
  const c = await mqtt.connectAsync(id.role === 'kiosk' ? url : staffUrl, {
    protocolVersion: 4,
    username: id.username,
    password: id.password,
    clientId,
    reconnectPeriod: 0,
    connectTimeout: WAIT_MS,
  });
  clients.push(c);
  const seen: { topic: string; payload: Buffer; retain: boolean }[] = [];
  c.on('message', (topic, payload, packet) => seen.push({ topic, payload, retain: packet.retain }));
  /** Resolves once `pred` holds; fails naming `what` after the bound. */
  const waitFor = (pred: () => boolean, what: string) => eventually(pred, { what });
  return { c, seen, waitFor };
}

const timeRequest = (id: string) => JSON.stringify({ v: 1, type: 'time', id, t0: Date.now() });
const repliesTo = (seen: { payload: Buffer }[], id: string) =>
  seen.filter((m) => kioskReply.safeParse(JSON.parse(m.payload.toString())).data?.re === id);

describe.skipIf(!HAVE_MOSQUITTO)(`kioskpay against Mosquitto 2 (skipped when ${MOSQUITTO} is absent: apt-get install mosquitto)`, () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kp-mosq-'));
    const port = await freePort();
    url = `mqtt://127.0.0.1:${port}`;
    const staffPort = await freePort();
    staffUrl = `mqtt://127.0.0.1:${staffPort}`;
    const idsFile = join(dir, 'identities-with-passwords.json');
    writeFileSync(idsFile, JSON.stringify(Object.values(IDS)), { mode: 0o600 });
    const out = join(dir, 'mosquitto');
    const stderr: string[] = [];
    // Started as root, Mosquitto switches to user `mosquitto` before reading its files: keep ours.
    const asRoot = process.getuid?.() === 0 ? ['--user', userInfo().username] : [];
    const code = await mosquittoConfigCommand(
      ['--identities-with-passwords', idsFile, '--out', out, '--port', String(port), '--staff-port', String(staffPort), ...asRoot],
      {
        stdout: new Writable({
          write(_c, _e, done) {
            done();
          },
        }),
        stderr: new Writable({
          write(c, _e, done) {
            stderr.push(String(c));
            done();
          },
        }),
      },
    );
    expect(code, stderr.join('')).toBe(0);

    broker = spawn(MOSQUITTO, ['-c', join(out, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    broker.stdout!.on('data', (d: Buffer) => {
      brokerLog += d.toString();
    });
    broker.stderr!.on('data', (d: Buffer) => {
      brokerLog += d.toString();
    });
    await waitForPort(port);
    await waitForPort(staffPort);

    server = await startServer(
      parseServerConfig({
        dataDir: join(dir, 'server'),
        httpPort: 0,
        mqttUrl: staffUrl,
        mqttUsername: IDS.server.username,
        mqttPassword: IDS.server.password,
        // Replicas' shared subscription: Mosquitto honours it (aedes 1.2 would deliver nothing).
        mqttShareGroup: 'replicas',
        topupEnabled: true,
        logLevel: 'silent',
        kiosks: [
          { id: 'k1', merchant: 'shop' },
          { id: 'k2', merchant: 'shop' },
        ],
      }),
    );
    // The server publishes its keys after subscribing to kiosk requests: once a technician sees
    // them, requests reach it.
    const tech = await client(IDS.tech);
    await tech.c.subscribeAsync(topics.issuerKeys, { qos: 1 });
    await tech
      .waitFor(() => tech.seen.length > 0, 'the retained issuer keys')
      .catch((e: Error) => {
        throw new Error(`${e.message}; broker log:\n${brokerLog}`);
      });
    await tech.c.endAsync();

    for (const k of [IDS.k1, IDS.k2])
      uplinks.push(
        await MqttUplink.connect({
          url,
          kioskId: k.kioskId,
          username: k.username,
          password: k.password,
          requestTimeoutMs: WAIT_MS,
          connectTimeoutMs: WAIT_MS,
        }),
      );
  }, 20_000);

  afterAll(async () => {
    await Promise.all(uplinks.splice(0).map((u) => u.close()));
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
    await server?.close();
    if (broker && broker.exitCode === null) {
      const exited = new Promise<void>((resolve) => broker!.once('exit', () => resolve()));
      broker.kill('SIGTERM');
      await within(exited, { what: 'mosquitto to stop on SIGTERM', timeoutMs: 3_000 }).catch(() => {
        broker!.kill('SIGKILL');
        return within(exited, { what: 'mosquitto to die on SIGKILL', timeoutMs: 3_000 });
      });
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 10_000);

  it('approves an online payment end to end through Mosquitto', async () => {
    const ctx = server!.ctx;
    const w = await enrollWallet(ctx);
    await topUp(ctx, w.walletId, money(5_000));
    const { code } = await issueOnlineCode(ctx, w.walletId);
    const r = await uplinks[0]!.request({ v: 1, type: 'pay', id: 'm1', txId: 'mt1', code, amount: money(1_200) });
    expect(r).toMatchObject({ type: 'pay.result', re: 'm1', status: 'approved' });
    // The second kiosk is served as well, and a replay of the same txId gets the same answer.
    const again = await uplinks[0]!.request({ v: 1, type: 'pay', id: 'm2', txId: 'mt1', code, amount: money(1_200) });
    expect(again).toMatchObject({ status: 'approved', paymentId: (r as { paymentId: string }).paymentId });
    expect(await uplinks[1]!.request({ v: 1, type: 'time', id: 'm3', t0: Date.now() })).toMatchObject({ type: 'time.result', re: 'm3' });
    // A kiosk has one connection on Mosquitto (its client id is its kiosk id): the tests below log
    // in as k1 and k2 themselves.
    await Promise.all(uplinks.splice(0).map((u) => u.close()));
  });

  it("binds client ids to identities: a kiosk cannot squat the server's id, nor log in on the staff listener (issue 12, finding 3)", async () => {
    // On one shared listener (the old config) k1 connected as `kioskpay-server` and, Mosquitto
    // letting the newest connection take an id over, kicked the server off at each reconnect.
    const k1 = await client(IDS.k1, 'kioskpay-server');
    const server = await client(IDS.server, 'kioskpay-server-probe');
    await server.c.subscribeAsync(topics.kioskStatus('k1'), { qos: 1 });
    // k1's id was replaced by its username: it cannot take the server's id. Barrier: the real
    // server (client id kioskpay-server) answers a request k1 sends after connecting, so k1's
    // login did not kick it off, and k1 is still connected to read the answer.
    await k1.c.subscribeAsync(topics.kioskReplies('k1'), { qos: 1 });
    await k1.c.publishAsync(topics.kioskRequests('k1'), timeRequest('squat-1'), { qos: 1 });
    await k1.waitFor(() => repliesTo(k1.seen, 'squat-1').length === 1, 'the reply to k1 after its login');
    expect(k1.c.connected && server.c.connected).toBe(true);
    const onStaff = mqtt.connectAsync(staffUrl, {
      protocolVersion: 4,
      username: IDS.k1.username,
      password: IDS.k1.password,
      clientId: 'kioskpay-server',
      reconnectPeriod: 0,
      connectTimeout: WAIT_MS,
    });
    await expect(onStaff).rejects.toMatchObject({ code: 5 });
    // The server's own client still answers: a kiosk request is served.
    await k1.c.publishAsync(topics.kioskRequests('k1'), timeRequest('after-squat'), { qos: 1 });
    await k1.waitFor(() => repliesTo(k1.seen, 'after-squat').length === 1, 'the reply after the refused staff login');
  });

  it('delivers the retained issuer keys to a kiosk, and nobody else can overwrite them', async () => {
    // Denied publishes: Mosquitto acknowledges them (PUBACK) and drops them.
    const k1 = await client(IDS.k1);
    const tech = await client(IDS.tech);
    const forged = JSON.stringify({ forged: true });
    await k1.c.publishAsync(topics.issuerKeys, forged, { qos: 1, retain: true });
    await tech.c.publishAsync(topics.issuerKeys, forged, { qos: 1, retain: true });
    expect(k1.c.connected && tech.c.connected).toBe(true);

    const kiosk = await client(IDS.k2);
    await kiosk.c.subscribeAsync(topics.issuerKeys, { qos: 1 });
    await kiosk.waitFor(() => kiosk.seen.length > 0, 'the retained issuer keys');
    const [msg] = kiosk.seen;
    expect(msg!.retain).toBe(true);
    const keys = issuerKeysMessage.parse(JSON.parse(msg!.payload.toString()));
    const expected = server!.ctx.issuer.keysMessage(Date.now());
    expect(keys.keys.map((k) => k.publicKey)).toEqual(expected.keys.map((k) => k.publicKey));
  });

  it("drops a kiosk's publish to another kiosk's request topic: the server never answers it", async () => {
    const spy = await client(IDS.server); // server role, plain subscription: sees every delivered request
    await spy.c.subscribeAsync(topics.allKioskRequests, { qos: 1 });
    const k2 = await client(IDS.k2);
    await k2.c.subscribeAsync(topics.kioskReplies('k2'), { qos: 1 });
    const k1 = await client(IDS.k1);

    // MQTT 3.1.1 has no way to refuse a PUBLISH: Mosquitto sends PUBACK and drops it.
    await k1.c.publishAsync(topics.kioskRequests('k2'), timeRequest('forged-1'), { qos: 1 });
    expect(k1.c.connected).toBe(true);
    // Control: k2's own request on the same topic is delivered and answered.
    await k2.c.publishAsync(topics.kioskRequests('k2'), timeRequest('own-1'), { qos: 1 });
    await k2.waitFor(() => repliesTo(k2.seen, 'own-1').length === 1, 'the reply to its own request');
    // Barrier: the spy, as the server reads, got k2's own request, which Mosquitto took in after
    // acknowledging the forged one; the forged one was never delivered, so never answered.
    await spy.waitFor(() => spy.seen.length > 0, "k2's own request at the spy");
    expect(spy.seen.map((m) => JSON.parse(m.payload.toString()).id)).toEqual(['own-1']);
    expect(repliesTo(k2.seen, 'forged-1')).toEqual([]);
  });

  it('does not replay a request a kiosk published as retained to a restarted server', async () => {
    const k1 = await client(IDS.k1);
    await k1.c.subscribeAsync(topics.kioskReplies('k1'), { qos: 1 });
    // Mosquitto's ACL cannot forbid the retain flag: the live request is answered once...
    await k1.c.publishAsync(topics.kioskRequests('k1'), timeRequest('retained-1'), { qos: 1, retain: true });
    await k1.waitFor(() => repliesTo(k1.seen, 'retained-1').length === 1, 'the reply to the live request');
    // ...and a new server subscription receives it again with retain=1: the server must ignore it.
    const config = server!.ctx.config;
    await server!.close();
    server = await startServer(config);
    await k1.c.publishAsync(topics.kioskRequests('k1'), timeRequest('live-2'), { qos: 1 });
    await k1.waitFor(() => repliesTo(k1.seen, 'live-2').length === 1, 'the restarted server to answer a live request');
    expect(repliesTo(k1.seen, 'retained-1')).toHaveLength(1);
    await k1.c.publishAsync(topics.kioskRequests('k1'), '', { qos: 1, retain: true });
  });

  it("never delivers another kiosk's replies to a kiosk, whatever it subscribes to", async () => {
    const k1 = await client(IDS.k1);
    const granted = await k1.c.subscribeAsync([topics.kioskReplies('k2'), 'kp/v1/kiosk/+/res', '#'], { qos: 1 });
    // Mosquitto 2's acl_file does not refuse subscriptions (SUBACK grants QoS 1, observed on
    // 2.0.11); it filters every delivery by the reader's `read` grants. A refusal (128) is fine too.
    for (const g of granted) expect([1, 128]).toContain(g.qos);
    const k2 = await client(IDS.k2);
    await k2.c.subscribeAsync(topics.kioskReplies('k2'), { qos: 1 });
    await k2.c.publishAsync(topics.kioskRequests('k2'), timeRequest('own-2'), { qos: 1 });
    await k2.waitFor(() => repliesTo(k2.seen, 'own-2').length === 1, 'the reply to its own request');
    // Barrier: k1's own reply, sent by the server after k2's, reaches k1 after any copy of k2's.
    await k1.c.publishAsync(topics.kioskRequests('k1'), timeRequest('own-k1'), { qos: 1 });
    await k1.waitFor(() => repliesTo(k1.seen, 'own-k1').length > 0, 'the reply to its own request');
    // k1 may receive the broadcasts its '#' covers (keys, revocations, catalog), nothing else.
    const broadcasts: string[] = [topics.issuerKeys, topics.revocations, topics.catalog];
    expect(k1.seen.map((m) => m.topic).filter((t) => !broadcasts.includes(t) && t !== topics.kioskReplies('k1'))).toEqual([]);
    expect(repliesTo(k1.seen, 'own-2')).toEqual([]);
  });

  describe('the ACL matrix of issue 5, with the generated acl file', () => {
    // Mosquitto acknowledges and drops refused publishes, and filters deliveries by `read` grants.
    aclMatrixTests(() => ({ url, staffUrl, logins: IDS, denial: 'drop' }));
  });

  it('refuses anonymous and wrong-password logins (CONNACK 5, not authorised)', async () => {
    const anonymous = mqtt.connectAsync(url, {
      protocolVersion: 4,
      clientId: `anon-${secret()}`,
      reconnectPeriod: 0,
      connectTimeout: WAIT_MS,
    });
    await expect(anonymous).rejects.toMatchObject({ code: 5 });
    const wrong = MqttUplink.connect({ url, kioskId: 'k1', username: 'k1', password: 'not-the-password', connectTimeoutMs: WAIT_MS });
    await expect(wrong).rejects.toBeInstanceOf(UplinkConnectError);
    await expect(wrong).rejects.toMatchObject({ returnCode: 5 });
  });
});
