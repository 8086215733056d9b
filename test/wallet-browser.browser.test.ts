// SPDX-License-Identifier: Apache-2.0
// The wallet web app (issue 4) in Debian's headless Chromium against a whole local system (broker,
// server serving the built app at /wallet/) and the real kiosk program (device/kiosk) on simulated
// hardware, as `npm start` runs it. The kiosk is driven through its screen's HTTP controls like a
// shopper: scan a catalog product, press Pay, and hold the phone up: a PNG screenshot of the wallet's
// QR code goes to /sim/image, which the kiosk decodes (its camera) and scans. Approval is read from
// the kiosk's screen (GET /view). With KIOSKPAY_SCREENSHOTS=1 the wallet's screens are also saved to
// docs/images/wallet-*.png for docs/wallet.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import pino from 'pino';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimKiosks } from '../bin/sim-kiosks.ts';
import { startSystem, type RunningSystem } from '../bin/system.ts';
import type { RunningKiosk } from '../device/kiosk/run-kiosk.ts';
import type { CatalogItem } from '../shared/catalog/catalog.ts';
import { decodeCode } from '../shared/codes/decode.ts';
import { formatMoney, money, type Money } from '../shared/money.ts';
import { shopperAccountId } from '../server/domain/ids.ts';
import { operatorRefund } from '../server/domain/refunds.ts';
import { BROWSER_BUILD_OPTIONS, buildWallet } from '../wallet/web/build.ts';
import { eventually } from '../shared/testing/wait.ts';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SHOTS = process.env.KIOSKPAY_SCREENSHOTS === '1';
const ZBARIMG = '/usr/bin/zbarimg';
const HAVE_ZBAR = existsSync(ZBARIMG);
const repo = join(import.meta.dirname, '..');
/** Bounded waits for things the app does on real time (network round trips, a 1 s wait for a code). */
const UI_WAIT_MS = 15_000;
/** Bounded wait for the kiosk to forward what it stored while its uplink was cut. */
const FORWARD_WAIT_MS = 20_000;

/** What the kiosk's GET /view answers (device/display/display.ts DisplayView), the parts read here. */
interface KioskScreen {
  screen: { name: string; reason?: string; total?: Money };
  offline: boolean;
  storedCount: number;
}

if (!HAVE_CHROMIUM) console.warn(`skipping the wallet browser tests: ${CHROMIUM} is not installed (apt-get install chromium)`);

describe.skipIf(!HAVE_CHROMIUM)('wallet web app in headless Chromium', () => {
  let dir: string;
  let system: RunningSystem;
  let browser: Browser;
  let kiosk: RunningKiosk;
  /** The kiosk's web screen and its simulation controls. */
  let kioskUrl: string;
  let walletUrl: string;
  /** Uncaught errors in any page; every test ends with none. */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kp-wallet-web-'));
    const built = await buildWallet(join(dir, 'web'));
    system = await startSystem({
      dataDir: join(dir, 'server'),
      mqttPort: 0,
      httpPort: 0,
      kioskIds: ['kiosk-1'],
      log: pino({ level: 'silent' }),
      server: { walletDir: built.outDir },
    });
    walletUrl = `${system.server.httpUrl}/wallet/`;
    [kiosk] = (await startSimKiosks(system, { dataDir: join(dir, 'kiosks'), screenPort: 0, count: 1, log: pino({ level: 'silent' }) })) as [
      RunningKiosk,
    ];
    if (!kiosk.webUrl) throw new Error('the simulated kiosk has no web screen');
    kioskUrl = kiosk.webUrl;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    // Ready to sell: idle, uplink up, and the server's catalog received.
    await eventually(
      async () => {
        const v = await kioskView();
        return v.screen.name === 'idle' && !v.offline && (kiosk.kiosk.catalog?.items().length ?? 0) >= 4;
      },
      { what: 'the kiosk to be ready', timeoutMs: UI_WAIT_MS },
    );
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
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      locale: o.lang === 'ja' ? 'ja-JP' : 'en-US',
      serviceWorkers: 'allow',
    });
    if (o.clockShiftMs !== undefined) {
      // The phone's own clock is wrong: every Date in the page reads shifted time.
      await context.addInitScript((shift: number) => {
        const RealDate = Date;
        class ShiftedDate extends RealDate {
          constructor(...args: unknown[]) {
            if (args.length === 0) super(RealDate.now() + shift);
            else super(...(args as [number]));
          }
          static override now(): number {
            return RealDate.now() + shift;
          }
        }
        globalThis.Date = ShiftedDate as DateConstructor;
      }, o.clockShiftMs);
    }
    const page = await context.newPage();
    page.on('pageerror', (e) => {
      pageErrors.push(e.message);
    });
    // Console errors too (a Content-Security-Policy violation is one), except failed requests while offline.
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource|net::ERR_/.test(m.text())) pageErrors.push(m.text());
    });
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

  async function kioskView(): Promise<KioskScreen> {
    const r = await fetch(`${kioskUrl}/view`, { signal: AbortSignal.timeout(5_000) });
    if (!r.ok) throw new Error(`GET /view: HTTP ${r.status}`);
    return (await r.json()) as KioskScreen;
  }

  /** One of the kiosk screen's controls; a refusal fails the test with the kiosk's error. */
  async function kioskPost(path: string, body: unknown): Promise<Record<string, unknown>> {
    const png = body instanceof Buffer;
    const r = await fetch(`${kioskUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': png ? 'image/png' : 'application/json' },
      body: png ? new Uint8Array(body) : JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });
    const answer = (await r.json()) as Record<string, unknown>;
    if (!r.ok || answer.ok !== true) throw new Error(`POST ${path}: HTTP ${r.status} ${JSON.stringify(answer)}`);
    return answer;
  }

  const untilKioskScreen = (name: string) =>
    eventually(async () => (await kioskView()).screen.name === name, { what: `the kiosk screen '${name}'`, timeoutMs: UI_WAIT_MS });

  /** The kiosk's demo catalog (from the server): the online and the offline purchase differ in price. */
  function product(i: number): CatalogItem {
    const item = kiosk.kiosk.catalog!.items()[i]!;
    expect(Number.isSafeInteger(item.price.value) && item.price.value > 0).toBe(true);
    return item;
  }

  /**
   * A shopper at the kiosk: scans `item`, presses Pay, and holds the phone's QR code to the camera (a
   * PNG screenshot of the wallet's code, decoded by the kiosk). Returns the text the kiosk read.
   */
  async function kioskScansPhone(page: Page, item: CatalogItem): Promise<string> {
    if ((await kioskView()).screen.name !== 'idle') await kioskPost('/sim/button', { button: 'cancel' });
    await untilKioskScreen('idle');
    await kioskPost('/sim/scan', { text: item.gtin });
    await untilKioskScreen('basket');
    await kioskPost('/sim/button', { button: 'pay' });
    await untilKioskScreen('awaitingCode');
    const answer = await kioskPost('/sim/image', await page.locator('.qr').screenshot({ type: 'png' }));
    expect(typeof answer.text).toBe('string');
    return answer.text as string;
  }

  /** The kiosk's screen after a scanned code: 'approved' (for `item`'s price), or the test fails with its reason. */
  async function kioskApproved(item: CatalogItem): Promise<KioskScreen> {
    let v: KioskScreen | undefined;
    await eventually(
      async () => {
        v = await kioskView();
        return v.screen.name === 'approved' || v.screen.name === 'declined';
      },
      { what: 'the kiosk to approve or decline', timeoutMs: UI_WAIT_MS },
    );
    if (v!.screen.name !== 'approved') throw new Error(`the kiosk declined: ${v!.screen.reason}`);
    expect(v!.screen.total).toEqual(item.price);
    return v!;
  }

  async function setKioskUplink(up: boolean): Promise<void> {
    expect(await kioskPost('/sim/uplink', { up })).toMatchObject({ uplinkUp: up });
  }

  it('passes the published test vectors with the browser build of shared/ and tweetnacl', async () => {
    const bundle = await build({
      ...BROWSER_BUILD_OPTIONS,
      entryPoints: [join(repo, 'wallet', 'web', 'testing', 'vector-check.ts')],
      format: 'iife',
      write: false,
    });
    const read = (name: string) => JSON.parse(readFileSync(join(repo, 'docs', 'vectors', name), 'utf8'));
    const files = {
      credentials: read('credentials.json'),
      offlineCodes: read('offline-codes.json'),
      offlineCodesV3: read('offline-codes-v3.json'),
      numericCodes: read('numeric-codes.json'),
      onlineCodes: read('online-codes.json'),
    };
    const { context, page } = await phone();
    try {
      await page.setContent('<!doctype html><title>vectors</title>');
      await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
      const report = await page.evaluate(
        (f) => (globalThis as unknown as { kioskpayVectors: (x: unknown) => { checks: number; failures: string[] } }).kioskpayVectors(f),
        files,
      );
      expect(report.failures).toEqual([]);
      expect(report.checks).toBeGreaterThan(50);
    } finally {
      await context.close();
    }
  });

  it('enrolls, pays online, opens offline from the service worker, pays with an offline code the kiosk approves, shows it confirmed once online, and a partial refund with the balance holding it', async () => {
    const { context, page } = await enrolledPhone({}, true);
    try {
      await shot(page, 'home');
      // Online: the one-time code, scanned and charged; the app sees the payment and says so.
      await page.getByRole('button', { name: 'Pay', exact: true }).click();
      await screenIs(page, 'online-code');
      await shot(page, 'online-code');
      const tea = product(0);
      const online = await kioskScansPhone(page, tea);
      expect(online).toMatch(/^\d{20}$/);
      await kioskApproved(tea);
      await screenIs(page, 'paid');
      expect(await page.locator('[data-paid]').textContent()).toContain(formatMoney(tea.price));
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
      // The kiosk loses its uplink too: it checks the offline code itself and stores the payment.
      await setKioskUplink(false);
      await eventually(async () => (await kioskView()).offline, { what: 'the kiosk to show it is offline', timeoutMs: UI_WAIT_MS });
      const water = product(1);
      expect(water.price.value).not.toBe(tea.price.value);
      const offline = await kioskScansPhone(page, water);
      expect(offline).toMatch(/^33[0-9]{507}$/); // version 3: QR version 10
      expect((await kioskApproved(water)).storedCount).toBe(1);

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

      // The kiosk's uplink returns: it forwards the stored payment and the server settles it.
      await setKioskUplink(true);
      await eventually(
        async () => {
          const v = await kioskView();
          return !v.offline && v.storedCount === 0;
        },
        { what: 'the kiosk to forward its stored payment', timeoutMs: FORWARD_WAIT_MS },
      );

      // Back online: the server's history confirms it (settled: stored by the kiosk, charged when
      // forwarded), shown as paid with what the kiosk charged.
      await context.setOffline(false);
      const confirmed = page.locator('[data-kind="offline-qr"][data-status="settled"]');
      await confirmed.waitFor({ timeout: UI_WAIT_MS });
      expect(await confirmed.locator('.tag.paid').count()).toBe(1);
      expect(await confirmed.textContent()).toContain(formatMoney(water.price));
      expect(await confirmed.textContent()).toContain(system.kiosks[0]!.kioskId);
      expect(await page.locator('[data-pending]').count()).toBe(0);
      const teaRow = page.locator('[data-kind="online"][data-status="approved"]');
      expect(await teaRow.textContent()).toContain(formatMoney(tea.price));

      // An operator gives back part of the online payment (docs/ops.md): history lists it at what it
      // still charges, with the refund, and the balance on the top screen holds the refund.
      const ctx = system.server.ctx;
      const teaPaymentId = (await teaRow.getAttribute('data-payment'))!;
      const account = async () => {
        const wallet = (await ctx.store.unit((tx) => tx.getPayment(teaPaymentId)))!.walletId!;
        return ctx.store.unit(async (tx) => (await tx.getAccount(shopperAccountId(wallet)))!.balance);
      };
      const before = await account();
      const back = money(Math.ceil(tea.price.value / 3), tea.price.currency);
      const refunded = await operatorRefund(ctx, {
        paymentId: teaPaymentId,
        action: 'refund',
        amount: back.value,
        reason: 'one bottle leaked',
        operator: 'operator',
        requestKey: 'wallet-browser-refund-1',
      });
      expect(refunded.shopperBalance.value).toBe(before + back.value);
      await page.getByRole('button', { name: 'Back' }).click();
      await screenIs(page, 'home');
      await page.getByRole('button', { name: 'History' }).click();
      await screenIs(page, 'history');
      const partly = page.locator(`[data-payment="${teaPaymentId}"][data-refunded="${back.value}"]`);
      await partly.waitFor({ timeout: UI_WAIT_MS });
      expect(await partly.locator('.refund').textContent()).toBe(`Refunded ${formatMoney(back)} of ${formatMoney(tea.price)}`);
      expect(await partly.locator('.amount').textContent()).toBe(formatMoney(money(tea.price.value - back.value, tea.price.currency)));
      expect(await partly.locator('.tag.paid').count()).toBe(1);
      await shot(page, 'history');
      await page.getByRole('button', { name: 'Back' }).click();
      await screenIs(page, 'home');
      expect(await page.locator('[data-balance]').textContent()).toBe(formatMoney(money(await account(), tea.price.currency)));
    } finally {
      await context.setOffline(false);
      await context.close();
      // Whatever happened above, the next test finds the kiosk connected.
      await kioskPost('/sim/uplink', { up: true }).catch(() => undefined);
    }
  });

  it('offers offline mode on the half sheet when no one-time code arrives within the wait, and explains it', async () => {
    const { context, page } = await enrolledPhone({ lang: 'ja' });
    try {
      if (SHOTS) await shot(page, 'home-ja');
      // The server never answers for a code: after the wait, the half sheet. ?wait keeps the test short.
      const held: (() => void)[] = [];
      await context.route(
        '**/v1/wallet/codes',
        (route) =>
          new Promise<void>((release) => {
            held.push(() => void route.abort().then(release, release));
          }),
      );
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
      // The kiosk is online: it asks the server, which checks the offline code as a kiosk would offline.
      const item = product(2);
      expect(await kioskScansPhone(page, item)).toMatch(/^33[0-9]{507}$/);
      await kioskApproved(item);
      for (const release of held) release();
    } finally {
      await context.close();
    }
  });

  /**
   * Clicks the code screen's copy button and returns [the text the button copies, the clipboard, the
   * status line]. The offline screen makes a new code every few seconds: a copy that straddles one
   * is tried again.
   */
  async function copyCode(page: Page): Promise<[string, string, string]> {
    for (let attempt = 1; ; attempt++) {
      const button = page.getByRole('button', { name: 'Copy the code' });
      const shown = (await button.getAttribute('data-copy'))!;
      await page.evaluate(() => navigator.clipboard.writeText(''));
      await button.click();
      await page.waitForSelector('.copy-status[data-copied]', { timeout: UI_WAIT_MS });
      const clipboard = await page.evaluate(() => navigator.clipboard.readText());
      const status = (await page.locator('.copy-status').textContent()) ?? '';
      if (clipboard === shown || attempt === 3) return [shown, clipboard, status];
    }
  }

  it('shows the offline code as text with a copy button, copies the numeric code, and the kiosk takes it pasted as shown (with spaces)', async () => {
    const { context, page } = await enrolledPhone();
    try {
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(walletUrl).origin });
      await page.getByRole('button', { name: 'Offline mode' }).click();
      await page.waitForSelector('.qr svg', { timeout: UI_WAIT_MS });
      // The offline code's text is on the screen, and the button copies exactly that text.
      const [shown, copied, status] = await copyCode(page);
      expect(shown).toMatch(/^33[0-9]{507}$/);
      expect(copied).toBe(shown);
      expect(status).toBe('Copied. Paste it where the kiosk asks for a code.');
      expect(await page.locator('[data-code-text]').isVisible()).toBe(true);
      const decoded = decodeCode(copied);
      expect(decoded.ok && decoded.code.kind === 'offline-qr' && decoded.code.version).toBe(3);

      // The numeric form: shown in groups of four, copied without the spaces.
      await page.getByRole('button', { name: 'Barcode (number) instead' }).click();
      await page.waitForSelector('.barcode svg', { timeout: UI_WAIT_MS });
      const grouped = (await page.locator('.digits').textContent())!;
      expect(grouped).toMatch(/^32\d{2}( \d{4}){4}$/);
      const [numeric, numericCopied] = await copyCode(page);
      expect(numeric).toBe(grouped.replaceAll(' ', ''));
      expect(numericCopied).toBe(numeric);

      // At the kiosk (online: a numeric code needs the server), typed into its code field as the
      // wallet shows it, spaces and all.
      const item = product(2);
      if ((await kioskView()).screen.name !== 'idle') await kioskPost('/sim/button', { button: 'cancel' });
      await untilKioskScreen('idle');
      await kioskPost('/sim/scan', { text: item.gtin });
      await untilKioskScreen('basket');
      await kioskPost('/sim/button', { button: 'pay' });
      await untilKioskScreen('awaitingCode');
      const desk = await browser.newContext();
      try {
        const kioskPage = await desk.newPage();
        kioskPage.on('pageerror', (e) => {
          pageErrors.push(e.message);
        });
        await kioskPage.goto(kioskUrl);
        await kioskPage.locator('#sim-code').fill(grouped);
        await kioskPage.locator('#sim-scan').click();
        await kioskApproved(item);
      } finally {
        await desk.close();
      }
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
      const item = product(3);
      const code = await kioskScansPhone(page, item);
      // The code carries server time, not the phone's: within a few seconds of the real time.
      const decoded = decodeCode(code);
      if (!decoded.ok || decoded.code.kind !== 'offline-qr') throw new Error('not an offline QR code');
      expect(Math.abs(decoded.code.timestampMs - Date.now())).toBeLessThan(30_000);
      await kioskApproved(item);
    } finally {
      await context.setOffline(false);
      await context.close();
    }
  });
});
