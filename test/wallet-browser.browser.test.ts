// SPDX-License-Identifier: Apache-2.0
// The wallet web app (issue 4) in Debian's headless Chromium against a whole local system (broker,
// server serving the built app at /wallet/, a kiosk on MQTT). The kiosk is simulated with the kiosk's
// own uplink and online-payment flow; every code it presents is read from a screenshot of the page
// with jsQR, as a kiosk camera would. With KIOSKPAY_SCREENSHOTS=1 the screens are also saved to
// docs/images/wallet-*.png for docs/wallet.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import jsQRModule from 'jsqr';
import pino from 'pino';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type RunningSystem } from '../bin/system.ts';
import { payOnline, type OnlineOutcome } from '../device/domain/online-payment.ts';
import { MqttUplink } from '../device/uplink/mqtt-uplink.ts';
import { decodeCode } from '../shared/codes/decode.ts';
import { money } from '../shared/money.ts';
import { BROWSER_BUILD_OPTIONS, buildWallet } from '../wallet/web/build.ts';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SHOTS = process.env.KIOSKPAY_SCREENSHOTS === '1';
const ZBARIMG = '/usr/bin/zbarimg';
const HAVE_ZBAR = existsSync(ZBARIMG);
const repo = join(import.meta.dirname, '..');
/** Bounded waits for things the app does on real time (network round trips, a 1 s wait for a code). */
const UI_WAIT_MS = 15_000;
/** jsqr is CommonJS whose types declare an ES default export; at run time the default is the function. */
const jsQR = jsQRModule as unknown as (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;

if (!HAVE_CHROMIUM) console.warn(`skipping the wallet browser tests: ${CHROMIUM} is not installed (apt-get install chromium)`);

describe.skipIf(!HAVE_CHROMIUM)('wallet web app in headless Chromium', () => {
  let dir: string;
  let system: RunningSystem;
  let browser: Browser;
  let kiosk: MqttUplink;
  let walletUrl: string;
  let seq = 0;
  /** Uncaught errors in any page; every test ends with none. */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kp-wallet-web-'));
    const built = await buildWallet(join(dir, 'web'));
    system = await startSystem({
      dataDir: join(dir, 'server'), mqttPort: 0, httpPort: 0, kioskIds: ['kiosk-1'], log: pino({ level: 'silent' }),
      server: { walletDir: built.outDir },
    });
    walletUrl = `${system.server.httpUrl}/wallet/`;
    kiosk = await MqttUplink.connect({ ...system.kiosks[0]!, requestTimeoutMs: 10_000 });
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);

  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await kiosk?.close();
    await system?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A phone: its own storage, a phone-sized screen; optionally a wall clock that is off. */
  async function phone(o: { lang?: 'en' | 'ja'; clockShiftMs?: number } = {}): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, locale: o.lang === 'ja' ? 'ja-JP' : 'en-US', serviceWorkers: 'allow' });
    if (o.clockShiftMs !== undefined) {
      // The phone's own clock is wrong: every Date in the page reads shifted time.
      await context.addInitScript((shift: number) => {
        const RealDate = Date;
        class ShiftedDate extends RealDate {
          constructor(...args: unknown[]) {
            if (args.length === 0) super(RealDate.now() + shift);
            else super(...(args as [number]));
          }
          static override now(): number { return RealDate.now() + shift; }
        }
        globalThis.Date = ShiftedDate as DateConstructor;
      }, o.clockShiftMs);
    }
    const page = await context.newPage();
    page.on('pageerror', (e) => { pageErrors.push(e.message); });
    // Console errors too (a Content-Security-Policy violation is one), except failed requests while offline.
    page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource|net::ERR_/.test(m.text())) pageErrors.push(m.text()); });
    return { context, page };
  }

  const screenIs = (page: Page, name: string) => page.waitForSelector(`main[data-screen="${name}"]`, { timeout: UI_WAIT_MS });

  async function shot(page: Page, name: string): Promise<void> {
    if (SHOTS) await page.screenshot({ path: join(repo, 'docs', 'images', `wallet-${name}.png`) });
  }

  /** Opens the app, creates a wallet, tops it up, and waits until offline payment is ready. */
  async function enrolledPhone(o: Parameters<typeof phone>[0] = {}, shots = false) {
    const p = await phone(o);
    await p.page.goto(walletUrl);
    await screenIs(p.page, 'welcome');
    if (shots) await shot(p.page, 'welcome');
    await p.page.getByRole('button', { name: o.lang === 'ja' ? 'ウォレットを作成' : 'Create wallet' }).click();
    // The server caps offline limits at the balance, which is still zero: the app says so.
    await p.page.waitForSelector('[data-offline-status="reason_limits_empty"]', { timeout: UI_WAIT_MS });
    await p.page.getByRole('button', { name: o.lang === 'ja' ? '支払い方法' : 'Payment method' }).click();
    await screenIs(p.page, 'methods');
    await p.page.getByRole('button', { name: /demo|デモ/ }).click();
    await p.page.getByText(/Added|チャージしました/).waitFor({ timeout: UI_WAIT_MS });
    // The bigger balance makes the app fetch a new credential with room in its limits.
    await p.page.waitForSelector('[data-offline-status="ready"]', { timeout: UI_WAIT_MS });
    if (shots) await shot(p.page, 'methods');
    await p.page.getByRole('button', { name: /Back|戻る/ }).click();
    await screenIs(p.page, 'home');
    return p;
  }

  /** What a kiosk camera reads off the code on screen. */
  async function readQr(page: Page): Promise<string> {
    const png = PNG.sync.read(await page.locator('.qr').screenshot());
    const r = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height);
    if (!r) throw new Error('no QR code readable in the screenshot');
    return r.data;
  }

  function kioskPays(code: string, amount: number): Promise<OnlineOutcome> {
    return payOnline(kiosk, { txId: `tx-${Date.now()}-${++seq}`, code, amount: money(amount) }, { nextId: () => `id-${++seq}` });
  }

  it('passes the published test vectors with the browser build of shared/ and tweetnacl', async () => {
    const bundle = await build({ ...BROWSER_BUILD_OPTIONS, entryPoints: [join(repo, 'wallet', 'web', 'testing', 'vector-check.ts')], format: 'iife', write: false });
    const read = (name: string) => JSON.parse(readFileSync(join(repo, 'docs', 'vectors', name), 'utf8'));
    const files = { credentials: read('credentials.json'), offlineCodes: read('offline-codes.json'), numericCodes: read('numeric-codes.json'), onlineCodes: read('online-codes.json') };
    const { context, page } = await phone();
    try {
      await page.setContent('<!doctype html><title>vectors</title>');
      await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
      const report = await page.evaluate((f) => (globalThis as unknown as { kioskpayVectors: (x: unknown) => { checks: number; failures: string[] } }).kioskpayVectors(f), files);
      expect(report.failures).toEqual([]);
      expect(report.checks).toBeGreaterThan(50);
    } finally {
      await context.close();
    }
  });

  it('enrolls, pays online, opens offline from the service worker, pays with an offline code the kiosk approves, and shows it confirmed once online', async () => {
    const { context, page } = await enrolledPhone({}, true);
    try {
      await shot(page, 'home');
      // Online: the one-time code, scanned and charged; the app sees the payment and says so.
      await page.getByRole('button', { name: 'Pay', exact: true }).click();
      await screenIs(page, 'online-code');
      await shot(page, 'online-code');
      const online = await readQr(page);
      expect(online).toMatch(/^\d{20}$/);
      expect(await kioskPays(online, 1_200)).toMatchObject({ outcome: 'approved' });
      await screenIs(page, 'paid');
      await shot(page, 'paid');
      await page.getByRole('button', { name: 'Close' }).click();

      // Airplane mode: the app must come from the service worker's cache.
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
      await context.setOffline(true);
      const reload = await page.reload();
      expect(reload?.fromServiceWorker()).toBe(true);
      await screenIs(page, 'home');
      expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
      await page.getByRole('button', { name: 'Pay', exact: true }).click();
      await screenIs(page, 'half-sheet');
      await page.getByRole('button', { name: 'Use offline payment' }).click();
      await screenIs(page, 'offline-code');
      await page.waitForSelector('.qr svg', { timeout: UI_WAIT_MS });
      await shot(page, 'offline-code');
      const offline = await readQr(page);
      expect(offline.startsWith('KP1.')).toBe(true);
      // The kiosk is online here and asks the server, which checks the code as a kiosk would offline.
      expect(await kioskPays(offline, 800)).toMatchObject({ outcome: 'approved', result: { kind: 'offline-qr' } });

      await page.getByRole('button', { name: 'Barcode (number) instead' }).click();
      await page.waitForSelector('.barcode svg', { timeout: UI_WAIT_MS });
      const digits = (await page.locator('.digits').textContent())!.replace(/ /g, '');
      expect(digits).toMatch(/^32\d{18}$/);
      if (HAVE_ZBAR) {
        // What a 1-D scanner reads off the barcode on screen is the number printed under it.
        const file = join(dir, 'barcode.png');
        await page.locator('.barcode').screenshot({ path: file });
        expect(execFileSync(ZBARIMG, ['-q', '--raw', file], { encoding: 'utf8' }).trim()).toBe(digits);
      }
      await shot(page, 'offline-numeric');
      await page.getByRole('button', { name: 'Close' }).click();

      // Still offline: the payment can only be pending on the phone.
      await page.getByRole('button', { name: 'History' }).click();
      await screenIs(page, 'history');
      await page.waitForSelector('[data-pending]', { timeout: UI_WAIT_MS });
      expect(await page.locator('[data-kind="offline-qr"]').count()).toBe(0);
      await shot(page, 'history-pending');

      // Back online: the server's history confirms it, with what the kiosk charged.
      await context.setOffline(false);
      const confirmed = page.locator('[data-kind="offline-qr"][data-status="approved"]');
      await confirmed.waitFor({ timeout: UI_WAIT_MS });
      expect(await confirmed.textContent()).toContain('¥800');
      expect(await confirmed.textContent()).toContain('kiosk-1');
      expect(await page.locator('[data-pending]').count()).toBe(0);
      expect(await page.locator('[data-kind="online"][data-status="approved"]').textContent()).toContain('¥1,200');
      await shot(page, 'history');
    } finally {
      await context.setOffline(false);
      await context.close();
    }
  });

  it('offers offline mode on the half sheet when no one-time code arrives within the wait, and explains it', async () => {
    const { context, page } = await enrolledPhone({ lang: 'ja' });
    try {
      if (SHOTS) await shot(page, 'home-ja');
      // The server never answers for a code: after the wait, the half sheet. ?wait keeps the test short.
      const held: (() => void)[] = [];
      await context.route('**/v1/wallet/codes', (route) => new Promise<void>((release) => { held.push(() => void route.abort().then(release, release)); }));
      await page.goto(`${walletUrl}?wait=${SHOTS ? 3000 : 1000}`);
      await screenIs(page, 'home');
      await page.getByRole('button', { name: '支払う' }).click();
      await screenIs(page, 'waiting');
      await shot(page, 'waiting');
      await screenIs(page, 'half-sheet');
      await shot(page, 'half-sheet');
      await page.getByRole('button', { name: 'オフライン支払いとは？' }).click();
      await screenIs(page, 'offline-explain');
      await shot(page, 'offline-explain');
      await page.getByRole('button', { name: 'オフライン支払いを使う' }).click();
      await screenIs(page, 'offline-code');
      await page.waitForSelector('.qr svg', { timeout: UI_WAIT_MS });
      expect(await kioskPays(await readQr(page), 500)).toMatchObject({ outcome: 'approved' });
      for (const release of held) release();
    } finally {
      await context.close();
    }
  });

  it('pays offline with a phone clock 10 minutes fast: the server time sync corrects the code time', async () => {
    const { context, page } = await enrolledPhone({ clockShiftMs: 10 * 60_000 });
    try {
      await page.getByRole('button', { name: 'Payment method' }).click();
      const offset = Number(await page.locator('[data-clock-offset]').getAttribute('data-clock-offset'));
      expect(offset).toBeLessThan(-9 * 60_000);
      expect(offset).toBeGreaterThan(-11 * 60_000);
      await page.getByRole('button', { name: /Back/ }).click();
      await context.setOffline(true);
      await page.getByRole('button', { name: 'Offline mode' }).click();
      await page.waitForSelector('.qr svg', { timeout: UI_WAIT_MS });
      const code = await readQr(page);
      // The code carries server time, not the phone's: within a few seconds of the real time.
      const decoded = decodeCode(code);
      if (!decoded.ok || decoded.code.kind !== 'offline-qr') throw new Error('not an offline QR code');
      expect(Math.abs(decoded.code.timestampMs - Date.now())).toBeLessThan(30_000);
      expect(await kioskPays(code, 700)).toMatchObject({ outcome: 'approved', result: { kind: 'offline-qr' } });
    } finally {
      await context.setOffline(false);
      await context.close();
    }
  });
});
