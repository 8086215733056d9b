// SPDX-License-Identifier: Apache-2.0
// The operator dashboard end to end in Debian's headless Chromium: the broker runs as its own
// process (`kioskpay broker`, port 0; server/ may not import broker/), the payment server in this
// process (HTTP on port 0), and two kiosks are plain MQTT clients with their own identities, each
// with the offline status as its last will. The operator logs in, sees both kiosks online, then one
// kiosk's socket is destroyed so the broker publishes its will, and the page must show it offline
// within a bounded wait. Screenshots before and after are decoded and compared where the badge is.
// With KIOSKPAY_SCREENSHOTS=1 they are also written to docs/images/ops-*.png for docs/ops.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64url } from '../../shared/bytes.ts';
import { makeOfflineCode } from '../../shared/codes/offline-code.ts';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import { offsetClock, systemClock } from '../../shared/clock.ts';
import { DEFAULT_KIOSK_POLICY } from '../../shared/kiosk-policy.ts';
import { lastWill, type OnlineStatus } from '../../shared/kiosk-telemetry.ts';
import { money } from '../../shared/money.ts';
import { topics } from '../../shared/topics.ts';
import { startServer, type RunningServer } from '../app.ts';
import { parseServerConfig } from '../config.ts';
import { handleKioskPayload } from '../domain/kiosk-api.ts';
import { enrollWallet, issueCredential, issueOnlineCode, topUp } from '../domain/wallets.ts';
import { hashOperatorPassword } from './operator-auth.ts';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SHOTS = process.env.KIOSKPAY_SCREENSHOTS === '1';
const repo = join(import.meta.dirname, '..', '..');
/** Bounded waits on real time: process start, MQTT round trips, the page's live stream. */
const START_WAIT_MS = 20_000;
const UI_WAIT_MS = 10_000;
const VIEWPORT = { width: 1280, height: 1000 };
const KIOSKS = ['k-alpha', 'k-beta'] as const;
const CHEAP = { N: 1024, r: 8, p: 1 };
const secret = () => Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString('base64url');

if (!HAVE_CHROMIUM) console.warn(`skipping the operator dashboard browser test: ${CHROMIUM} is not installed (apt-get install chromium)`);

describe.skipIf(!HAVE_CHROMIUM)('operator dashboard in headless Chromium', () => {
  let dir: string;
  let brokerProcess: ChildProcess | undefined;
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  const kiosks = new Map<string, MqttClient>();
  const operatorPassword = secret();
  const pageErrors: string[] = [];
  /** The server's clock runs behind real time while the sales are made, then catches up. */
  const shift = { ms: -10 * 60_000 };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kp-ops-web-'));
    const passwords = { server: secret(), 'k-alpha': secret(), 'k-beta': secret() };
    writeFileSync(join(dir, 'identities.json'), JSON.stringify([
      { username: 'server', passwordHash: await hashOperatorPassword(passwords.server, CHEAP), role: 'server' },
      ...await Promise.all(KIOSKS.map(async (id) => ({ username: id, passwordHash: await hashOperatorPassword(passwords[id], CHEAP), role: 'kiosk', kioskId: id }))),
    ]));
    const started = await startBrokerProcess(join(dir, 'identities.json'));
    brokerProcess = started.child;
    server = await startServer(parseServerConfig({
      dataDir: join(dir, 'server'), httpPort: 0, mqttUrl: started.url, mqttUsername: 'server', mqttPassword: passwords.server,
      logLevel: 'silent', topupEnabled: true, kiosks: KIOSKS.map((id) => ({ id, merchant: 'station-shop' })),
      operators: [{ username: 'operator', passwordHash: await hashOperatorPassword(operatorPassword, CHEAP) }],
      ops: { offlineAlertMs: 0 },
    }), { log: pino({ level: 'silent' }), clock: offsetClock(systemClock, () => shift.ms) });
    await makeSales(server, shift);
    for (const id of KIOSKS) kiosks.set(id, await connectKiosk(started.url, id, passwords[id]));
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      // launch() gives every run a fresh temporary profile of its own.
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const k of kiosks.values()) await k.endAsync(true).catch(() => undefined);
    await server?.close();
    if (brokerProcess && brokerProcess.exitCode === null) {
      const exited = new Promise((r) => brokerProcess!.once('exit', r));
      brokerProcess.kill('SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the live fleet and marks a kiosk offline when its connection dies', async () => {
    const context = await browser!.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, locale: 'en-US' });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });

    await page.goto(`${server!.httpUrl}/ops`);
    expect(new URL(page.url()).pathname).toBe('/ops/login');
    await page.fill('#username', 'operator');
    await page.fill('#password', 'not the password');
    await page.click('button[type=submit]');
    await page.getByText('Wrong username or password.').waitFor({ timeout: UI_WAIT_MS });
    // The refused login is a 401 document, which Chromium reports on its console: expected here.
    expect(pageErrors.splice(0)).toEqual(['Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
    await page.fill('#password', operatorPassword);
    await page.click('button[type=submit]');
    await page.waitForURL(`${server!.httpUrl}/ops`, { timeout: UI_WAIT_MS });

    for (const id of KIOSKS) await page.locator(`.kiosk[data-kiosk-id="${id}"][data-link="online"]`).waitFor({ timeout: UI_WAIT_MS });
    await page.locator('body[data-live="on"]').waitFor({ timeout: UI_WAIT_MS });
    await expect.poll(() => page.locator('#totals').textContent(), { timeout: UI_WAIT_MS }).toContain('¥2,300');
    expect(await page.locator('#chart-kiosk svg rect.bar').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#stored tr[data-tx-id="stored-1"]').textContent()).toContain('settled');
    expect(await page.locator('#exposure').textContent()).toContain('¥1,200');
    expect(await page.locator('#stored tr[data-tx-id="stored-2"]').textContent()).toContain('declined: OFFLINE_LIMIT_PER_PAYMENT');
    await page.locator('#alerts li[data-kind="queue-near-cap"][data-kiosk-id="k-alpha"]').waitFor({ timeout: UI_WAIT_MS });
    // A decline decided on the kiosk reaches the page through the events topic.
    await kiosks.get('k-alpha')!.publishAsync(topics.kioskEvents('k-alpha'), JSON.stringify({
      v: 1, type: 'event', at: Date.now(), kind: 'payment', txId: 'local-1', amount: { value: 120, currency: 'JPY' }, outcome: 'declined', offline: true, reason: 'KIOSK_OFFLINE_UNAVAILABLE',
    }), { qos: 1 });
    await page.locator('#declines tr[data-reason="KIOSK_OFFLINE_UNAVAILABLE"]').waitFor({ timeout: UI_WAIT_MS });

    const badge = page.locator('[data-testid="badge-k-beta"]');
    const box = (await badge.boundingBox())!;
    const before = PNG.sync.read(await page.screenshot());
    if (SHOTS) writeFileSync(join(repo, 'docs', 'images', 'ops-fleet.png'), PNG.sync.write(before));

    // The kiosk vanishes without DISCONNECT: the broker publishes its last will (offline, lost).
    (kiosks.get('k-beta')!.stream as Socket).destroy();
    await page.locator('.kiosk[data-kiosk-id="k-beta"][data-link="offline"]').waitFor({ timeout: UI_WAIT_MS });
    await page.locator('#alerts li[data-kind="offline"][data-kiosk-id="k-beta"]').waitFor({ timeout: UI_WAIT_MS });
    expect(await page.locator('.kiosk[data-kiosk-id="k-alpha"]').getAttribute('data-link')).toBe('online');
    expect(await badge.textContent()).toBe('OFFLINE');
    expect(await badge.boundingBox()).toEqual(box);
    const after = PNG.sync.read(await page.screenshot());
    if (SHOTS) {
      writeFileSync(join(repo, 'docs', 'images', 'ops-kiosk-offline.png'), PNG.sync.write(after));
      writeFileSync(join(repo, 'docs', 'images', 'ops-dashboard.png'), await page.screenshot({ fullPage: true }));
    }

    for (const png of [before, after]) expect([png.width, png.height]).toEqual([VIEWPORT.width, VIEWPORT.height]);
    const was = meanColour(before, box);
    const now = meanColour(after, box);
    expect(was.g).toBeGreaterThan(was.r); // green badge
    expect(now.r).toBeGreaterThan(now.g + 60); // red badge
    expect(Math.abs(was.r - now.r) + Math.abs(was.g - now.g) + Math.abs(was.b - now.b)).toBeGreaterThan(100);
    const alpha = (await page.locator('[data-testid="badge-k-alpha"]').boundingBox())!;
    expect(meanColour(after, alpha)).toEqual(meanColour(before, alpha));

    expect(pageErrors).toEqual([]);
    await context.close();
  }, 60_000);
});

/** Starts `kioskpay broker --port 0` and reads its URL from its first log lines. */
async function startBrokerProcess(identities: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(repo, 'bin', 'kioskpay.js'), 'broker', '--port', '0', '--identities', identities, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('broker did not start in time')), START_WAIT_MS);
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'broker listening' && entry.url) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch { /* not a log line */ }
    });
  });
  lines.on('line', () => {}); // keep draining stdout
  return { child, url };
}

/** A kiosk as the fleet sees it: its identity, the offline status as last will, a retained online status. */
async function connectKiosk(url: string, kioskId: string, password: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4, clientId: kioskId, username: kioskId, password, clean: true, reconnectPeriod: 0, connectTimeout: START_WAIT_MS,
    will: { topic: topics.kioskStatus(kioskId), payload: Buffer.from(JSON.stringify(lastWill('kp-1.4.0'))), qos: 1, retain: true },
  });
  const queued = kioskId === 'k-alpha' ? { count: 170, value: 1_200 } : { count: 0, value: 0 };
  const status: OnlineStatus = {
    v: 1, type: 'status', state: 'online', at: Date.now(), seq: 1, firmware: 'kp-1.4.0', mode: kioskId === 'k-alpha' ? 'vending' : 'self-checkout',
    checkout: 'idle', policy: DEFAULT_KIOSK_POLICY, currency: 'JPY',
    queue: { count: queued.count, amount: { value: queued.value, currency: 'JPY' }, oldestCapturedAt: queued.count ? Date.now() - 600_000 : null, declined: 0, forwarding: null },
    clock: { trusted: true, offsetMs: 4, uncertaintyMs: 25, lastSyncAt: Date.now() },
    health: { scanner: 'ok', gpio: 'ok', display: 'ok' }, faults: [], catalogVersion: 3, heartbeatMs: 30_000,
  };
  await client.publishAsync(topics.kioskStatus(kioskId), JSON.stringify(status), { qos: 1, retain: true });
  return client;
}

/** Today's ledger through the real domain: online payments at both kiosks, a decline, and a stored payment settled later. */
async function makeSales(s: RunningServer, shift: { ms: number }): Promise<void> {
  const ctx = s.ctx;
  const shopper = await enrollWallet(ctx, 'JPY');
  await topUp(ctx, shopper.walletId, money(20_000, 'JPY'));
  const broke = await enrollWallet(ctx, 'JPY');
  let n = 0;
  const send = async (kioskId: string, msg: Record<string, unknown>) => {
    const reply = await handleKioskPayload(ctx, kioskId, new TextEncoder().encode(JSON.stringify({ v: 1, id: `c-${++n}`, ...msg })));
    expect(reply.type).not.toBe('error');
    return reply;
  };
  const pay = async (kioskId: string, walletId: string, value: number) =>
    send(kioskId, { type: 'pay', txId: `tx-${++n}`, code: (await issueOnlineCode(ctx, walletId)).code, amount: { value, currency: 'JPY' } });
  await pay('k-alpha', shopper.walletId, 1_000);
  await pay('k-alpha', shopper.walletId, 450);
  await pay('k-beta', shopper.walletId, 300);
  await pay('k-beta', broke.walletId, 700); // INSUFFICIENT_FUNDS
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const cred = await issueCredential(ctx, shopper.walletId, naclEd25519.keyPairFromSeed(seed).publicKey);
  const capturedAt = ctx.clock.nowMs();
  const code = (counter: number) => makeOfflineCode({ credential: fromBase64url(cred.credential)!, timestampMs: capturedAt, counter, phoneSecretKey: naclEd25519.keyPairFromSeed(seed).secretKey }, naclEd25519);
  shift.ms = 0; // the kiosk's uplink came back ten minutes later
  const settled = await send('k-beta', { type: 'settle', items: [
    { txId: 'stored-1', code: code(1), amount: { value: 550, currency: 'JPY' }, capturedAt },
    { txId: 'stored-2', code: code(2), amount: { value: 6_000, currency: 'JPY' }, capturedAt }, // over the offline per-payment limit
  ] });
  expect(settled).toMatchObject({ type: 'settle.result', items: [{ txId: 'stored-1', status: 'settled' }, { txId: 'stored-2', status: 'declined', reason: 'OFFLINE_LIMIT_PER_PAYMENT' }] });
}

/** Mean colour of the middle half of a box (avoids anti-aliased edges). */
function meanColour(png: PNG, box: { x: number; y: number; width: number; height: number }): { r: number; g: number; b: number } {
  const x0 = Math.round(box.x + box.width / 4), x1 = Math.round(box.x + (3 * box.width) / 4);
  const y0 = Math.round(box.y + box.height / 4), y1 = Math.round(box.y + (3 * box.height) / 4);
  let r = 0, g = 0, b = 0, count = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * png.width + x) * 4;
      r += png.data[i]!; g += png.data[i + 1]!; b += png.data[i + 2]!; count += 1;
    }
  }
  return { r: Math.round(r / count), g: Math.round(g / count), b: Math.round(b / count) };
}
