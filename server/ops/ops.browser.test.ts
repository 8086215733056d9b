// SPDX-License-Identifier: Apache-2.0
// The operator dashboard end to end in Debian's headless Chromium: the broker runs as its own
// process (`kioskpay broker`, port 0; server/ may not import broker/), the payment server in this
// process (HTTP on port 0, time zone Asia/Tokyo), and two kiosks are plain MQTT clients with their
// own identities, each with the offline status as its last will. The server's clock is injected: it
// runs from 2026-11-28 12:00 in Tokyo, so "today" and "yesterday" are fixed dates whatever the day.
// First test: the operator logs in, sees both kiosks online, a Help request arrives live, then one
// kiosk's socket is destroyed so the broker publishes its will, and the page must show it offline
// within a bounded wait; screenshots before and after are decoded and compared where the badge is.
// Then the operator marks the Help request handled, and a second dashboard shows it handled (who,
// when, how long ago) and its audit row, live. Second test: the operator filters sales by date and
// product, then by slot (which takes the self-checkout's scans of the slot's product too), exports
// the CSV (parsed here and compared with the table on screen), finds a sale, refunds part of it and
// sees the shopper's new balance and the audit row. With KIOSKPAY_SCREENSHOTS=1 the screenshots are also written to
// docs/images/ops-*.png for docs/ops.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { formatMoney, money } from '../../shared/money.ts';
import type { SaleLine } from '../../shared/kiosk-messages.ts';
import { topics } from '../../shared/topics.ts';
import { startServer, type RunningServer } from '../app.ts';
import { parseServerConfig } from '../config.ts';
import { handleKioskPayload } from '../domain/kiosk-api.ts';
import { shopperAccountId } from '../domain/ids.ts';
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
/** The server's clock starts here (noon in Tokyo) and runs at the real rate. */
const ANCHOR_MS = Date.parse('2026-11-28T12:00:00+09:00');
const TODAY = '2026-11-28',
  YESTERDAY = '2026-11-27';
const HOUR_MS = 3_600_000;
const TEA = '4901000000013';
const yen = (value: number) => ({ value, currency: 'JPY' as const });

if (!HAVE_CHROMIUM) console.warn(`skipping the operator dashboard browser test: ${CHROMIUM} is not installed (apt-get install chromium)`);

describe.skipIf(!HAVE_CHROMIUM)('operator dashboard in headless Chromium', () => {
  let dir: string;
  let brokerProcess: ChildProcess | undefined;
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  const kiosks = new Map<string, MqttClient>();
  const operatorPassword = secret();
  const pageErrors: string[] = [];
  /** The server's clock runs behind while the sales are made, then catches up. */
  const shift = { ms: 0 };
  const realStart = Date.now();
  const clock = offsetClock(systemClock, () => ANCHOR_MS - realStart + shift.ms);
  let sales: Sales;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kp-ops-web-'));
    const passwords = { server: secret(), 'k-alpha': secret(), 'k-beta': secret() };
    writeFileSync(
      join(dir, 'identities.json'),
      JSON.stringify([
        { username: 'server', passwordHash: await hashOperatorPassword(passwords.server, CHEAP), role: 'server' },
        ...(await Promise.all(
          KIOSKS.map(async (id) => ({
            username: id,
            passwordHash: await hashOperatorPassword(passwords[id], CHEAP),
            role: 'kiosk',
            kioskId: id,
          })),
        )),
      ]),
    );
    const started = await startBrokerProcess(join(dir, 'identities.json'));
    brokerProcess = started.child;
    server = await startServer(
      parseServerConfig({
        dataDir: join(dir, 'server'),
        httpPort: 0,
        mqttUrl: started.url,
        mqttUsername: 'server',
        mqttPassword: passwords.server,
        logLevel: 'silent',
        topupEnabled: true,
        kiosks: KIOSKS.map((id) => ({ id, merchant: 'station-shop' })),
        operators: [{ username: 'operator', passwordHash: await hashOperatorPassword(operatorPassword, CHEAP) }],
        ops: { offlineAlertMs: 0 },
        timeZone: 'Asia/Tokyo',
      }),
      { log: pino({ level: 'silent' }), clock },
    );
    sales = await makeSales(server, shift);
    for (const id of KIOSKS) kiosks.set(id, await connectKiosk(started.url, id, passwords[id], () => clock.nowMs()));
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

  async function openPage(): Promise<{ page: Page; close: () => Promise<void> }> {
    const context = await browser!.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, locale: 'en-US', acceptDownloads: true });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    return { page, close: () => context.close() };
  }

  async function logIn(page: Page): Promise<void> {
    await page.goto(`${server!.httpUrl}/ops`);
    await page.fill('#username', 'operator');
    await page.fill('#password', operatorPassword);
    await page.click('button[type=submit]');
    await page.waitForURL(`${server!.httpUrl}/ops`, { timeout: UI_WAIT_MS });
    await page.locator('body[data-live="on"]').waitFor({ timeout: UI_WAIT_MS });
  }

  it('shows the live fleet and a Help request, marks a kiosk offline when its connection dies, and the request handled on every dashboard', async () => {
    const { page, close } = await openPage();

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
    expect(await page.locator('#tz').textContent()).toBe('Times in Asia/Tokyo (UTC+09:00)');
    // Today's sales, by default: the five approved payments of 2026-11-28, by hour and by kiosk.
    await expect.poll(() => page.locator('#sales-totals').textContent(), { timeout: UI_WAIT_MS }).toContain('¥2,450');
    expect(await page.locator('#sales-range').textContent()).toContain(`${TODAY} · Asia/Tokyo (UTC+09:00)`);
    expect(await page.locator('#sales-time-title').textContent()).toBe('Per hour');
    expect(await page.locator('#chart-kiosk svg rect.bar').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#stored tr[data-tx-id="stored-1"]').textContent()).toContain('settled');
    expect(await page.locator('#exposure').textContent()).toContain('¥1,200');
    // A decline reads as a sentence, with its code beside it.
    expect(await page.locator('#stored tr[data-tx-id="stored-2"]').textContent()).toContain(
      'declined: The amount exceeds the offline per-payment limit. (OFFLINE_LIMIT_PER_PAYMENT)',
    );
    expect(await page.locator('#declines tr[data-reason="INSUFFICIENT_FUNDS"] td.sentence').textContent()).toBe(
      'The shopper balance does not cover the amount.',
    );
    await page.locator('#alerts li[data-kind="queue-near-cap"][data-kiosk-id="k-alpha"]').waitFor({ timeout: UI_WAIT_MS });
    // A decline decided on the kiosk reaches the page through the events topic.
    await kiosks.get('k-alpha')!.publishAsync(
      topics.kioskEvents('k-alpha'),
      JSON.stringify({
        v: 1,
        type: 'event',
        at: clock.nowMs(),
        kind: 'payment',
        txId: 'local-1',
        amount: { value: 120, currency: 'JPY' },
        outcome: 'declined',
        offline: true,
        reason: 'KIOSK_OFFLINE_UNAVAILABLE',
      }),
      { qos: 1 },
    );
    await page.locator('#declines tr[data-reason="KIOSK_OFFLINE_UNAVAILABLE"]').waitFor({ timeout: UI_WAIT_MS });
    // A shopper presses Help at k-beta: the request reaches the page over the live stream, with its age.
    expect(await page.locator('#help li.empty').textContent()).toBe('No open Help requests.');
    const pressed = Date.now();
    await kiosks
      .get('k-beta')!
      .publishAsync(
        topics.kioskEvents('k-beta'),
        JSON.stringify({ v: 1, type: 'event', at: clock.nowMs(), kind: 'fault', fault: 'help-requested', raised: true }),
        { qos: 1 },
      );
    const help = page.locator('#help li[data-kiosk-id="k-beta"]');
    await help.waitFor({ timeout: UI_WAIT_MS });
    helpLatencyMs = Date.now() - pressed;
    expect(await help.textContent()).toMatch(/^k-beta: a shopper pressed Help at 12:\d\d:\d\d \+09:00, \d+ s agoMark handled$/);
    expect(await page.locator('#help-count').textContent()).toBe('1 open');

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

    // The operator goes to k-beta and marks the request handled; a second dashboard sees it live.
    const other = await openPage();
    await logIn(other.page);
    const otherHelp = other.page.locator('#help li[data-kiosk-id="k-beta"]');
    await otherHelp.locator('button[data-help-handled="k-beta"]').waitFor({ timeout: UI_WAIT_MS });
    await help.locator('button[data-help-handled="k-beta"]').click();
    await page.locator('#help li[data-kiosk-id="k-beta"][data-handled-by="operator"]').waitFor({ timeout: UI_WAIT_MS });
    await other.page.locator('#help li[data-kiosk-id="k-beta"][data-handled-by="operator"]').waitFor({ timeout: UI_WAIT_MS });
    for (const p of [page, other.page]) {
      expect(await p.locator('#help li[data-kiosk-id="k-beta"]').textContent()).toMatch(
        /^k-beta: a shopper pressed Help at 12:\d\d:\d\d \+09:00, \d+ s ago; handled by operator at 12:\d\d:\d\d \+09:00, \d+ s ago$/,
      );
      expect(await p.locator('#help-count').textContent()).toBe('1 handled');
      expect(await p.locator('#help button').count()).toBe(0);
      // The audit log names who handled it and when, on both dashboards.
      const row = p.locator('#audit tr[data-action="help-handled"][data-kiosk-id="k-beta"]');
      await row.waitFor({ timeout: UI_WAIT_MS });
      const cells = await row.locator('td').evaluateAll((tds) => tds.map((td) => td.textContent));
      expect(cells[0]).toMatch(new RegExp(`^${TODAY} 12:\\d\\d:\\d\\d \\+09:00$`));
      expect(cells.slice(1, 5)).toEqual(['operator', 'Help handled', 'k-beta', '\u2014']);
      expect(cells[5]).toMatch(/^a shopper pressed Help, the last at 12:\d\d:\d\d \+09:00$/);
    }
    const handled = await server!.ctx.store.unit((tx) => tx.listHelpHandled({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }, 10));
    expect(handled.map((h) => [h.operator, h.kioskId, h.presses])).toEqual([['operator', 'k-beta', 1]]);
    if (SHOTS) writeFileSync(join(repo, 'docs', 'images', 'ops-help-handled.png'), await other.page.locator('#help-section').screenshot());
    await other.close();

    expect(pageErrors).toEqual([]);
    await close();
  }, 60_000);

  it('filters sales by date, product and slot, exports the CSV, and refunds a sale with the new balance and the audit row on screen', async () => {
    const { page, close } = await openPage();
    await logIn(page);
    await expect.poll(() => page.locator('#sales-totals').textContent(), { timeout: UI_WAIT_MS }).toContain('¥2,450');

    // Green tea over yesterday and today: 2 bottles yesterday at k-alpha, 3 today, and 1 scanned at k-beta.
    await page.fill('#sales-from', YESTERDAY);
    await page.fill('#sales-to', TODAY);
    await page.selectOption('#sales-product', `gtin:${TEA}`);
    await page.click('#sales-form button[type=submit]');
    await expect.poll(() => page.locator('#sales-range').textContent(), { timeout: UI_WAIT_MS }).toContain(`Green tea 500ml (${TEA})`);
    expect(await page.locator('#sales-range').textContent()).toContain(`${YESTERDAY} to ${TODAY}`);
    expect(await page.locator('#sales-totals').textContent()).toContain('¥900');
    expect(await page.locator('#sales-time-title').textContent()).toBe('Per day');
    expect(await page.locator('#chart-time svg rect.bar').evaluateAll((bars) => bars.map((b) => b.getAttribute('data-label')))).toEqual([
      YESTERDAY,
      TODAY,
    ]);
    expect(await page.locator('#sales-products-table tr[data-product]').count()).toBe(1);

    const byDay = parseCsv(await downloadCsv(page, 'sales-byDay', `sales-${YESTERDAY}-to-${TODAY}-gtin_${TEA}-by-day.csv`));
    expect(byDay).toEqual([
      ['date', 'starts_at', 'currency', 'payments', 'units', 'amount_minor_units', 'refunded_minor_units', 'net_minor_units'],
      [YESTERDAY, `${YESTERDAY}T00:00:00+09:00`, 'JPY', '1', '2', '300', '', ''],
      [TODAY, `${TODAY}T00:00:00+09:00`, 'JPY', '2', '4', '600', '', ''],
    ]);
    // The kiosk export holds exactly the rows of the kiosk table on screen.
    const byKiosk = parseCsv(await downloadCsv(page, 'sales-byKiosk', `sales-${YESTERDAY}-to-${TODAY}-gtin_${TEA}-by-kiosk.csv`));
    const shown = await page
      .locator('#sales-kiosks tr[data-kiosk-id]')
      .evaluateAll((rows) => rows.map((r) => Array.from(r.querySelectorAll('td'), (td) => td.textContent)));
    expect(byKiosk.slice(1).map((r) => [r[0], r[4], r[5], r[6]])).toEqual(
      shown.map((r) => [r[0], r[1], r[2], String(Number(r[3]!.replace(/[¥,]/g, '')))]),
    );
    expect(byKiosk.slice(1).map((r) => [r[0], r[6]])).toEqual([
      ['k-alpha', '750'],
      ['k-beta', '150'],
    ]);

    // Slot 1, the tea's vending slot, takes the same sales: k-alpha's from the slot and k-beta's scan.
    await page.selectOption('#sales-product', 'slot:1');
    await page.selectOption('#sales-group', 'slot');
    await page.click('#sales-form button[type=submit]');
    await expect.poll(() => page.locator('#sales-range').textContent(), { timeout: UI_WAIT_MS }).toContain('Slot 1: Green tea 500ml');
    expect(await page.locator('#sales-totals').textContent()).toContain('¥900');
    expect(await page.locator('#sales-kiosks tr[data-kiosk-id="k-beta"]').textContent()).toContain('¥150');
    expect(
      await page.locator('#sales-products-table tr[data-product]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-product'))),
    ).toEqual(['slot:1']);
    if (SHOTS) writeFileSync(join(repo, 'docs', 'images', 'ops-sales.png'), await page.locator('#sales-section').screenshot());

    // Find today's green tea sale and give back 100 of its 450.
    await page.fill('#tx-q', 'tea-today');
    await page.click('#tx-form button[type=submit]');
    const row = page.locator(`#tx-table tr[data-tx-id="tea-today"]`);
    // The unfiltered table may already hold that row: wait for the search's answer to replace it.
    await expect.poll(() => page.locator('#tx-table tr[data-payment-id]').count(), { timeout: UI_WAIT_MS }).toBe(1);
    await row.waitFor({ timeout: UI_WAIT_MS });
    expect(await row.textContent()).toContain('3 × Green tea 500ml (slot 1)');
    expect(await row.textContent()).toContain(`${TODAY} 11:50:`);
    const txCsv = parseCsv(await downloadCsv(page, 'tx', `transactions-2026-11-22-to-${TODAY}.csv`));
    expect(txCsv.slice(1).map((r) => [r[2], r[5], r[9], r[12]])).toEqual([
      ['tea-today', 'approved', '450', '3 × Green tea 500ml (slot 1)'],
    ]);
    expect(txCsv[1]![0]).toMatch(new RegExp(`^${TODAY}T11:50:\\d\\d\\+09:00$`));

    const before = await balance(server!, sales.shopperWalletId);
    await row.locator('button[data-action="refund"]').click();
    await page.locator('#refund-form').waitFor({ state: 'visible', timeout: UI_WAIT_MS });
    expect(await page.locator('#refund-amount').inputValue()).toBe('450');
    await page.fill('#refund-amount', '100');
    await page.fill('#refund-reason', 'one bottle leaked');
    await page.click('#refund-submit');
    const result = page.locator('#refund-result.ok');
    await result.waitFor({ timeout: UI_WAIT_MS });
    const after = await balance(server!, sales.shopperWalletId);
    expect(after).toBe(before + 100);
    expect(await result.textContent()).toBe(
      `Refunded ¥100 of ${sales.teaTodayPaymentId} (k-alpha, tea-today), recorded under operator. So far ¥100 of ¥450 refunded; the shopper’s balance is now ${formatMoney(money(after, 'JPY'))}.`,
    );
    expect(await page.locator('#refund-form').isHidden()).toBe(true);
    expect(await result.getAttribute('data-balance')).toBe(String(after));
    const audit = page.locator(`#audit tr[data-payment-id="${sales.teaTodayPaymentId}"]`);
    await audit.waitFor({ timeout: UI_WAIT_MS });
    expect(await audit.locator('td').evaluateAll((tds) => tds.slice(1).map((td) => td.textContent))).toEqual([
      'operator',
      'refund',
      sales.teaTodayPaymentId,
      '¥100',
      'one bottle leaked',
    ]);
    await expect.poll(() => row.textContent(), { timeout: UI_WAIT_MS }).toContain('¥100');
    expect(await server!.ctx.store.unit((tx) => tx.refundedAmount(sales.teaTodayPaymentId))).toBe(100);
    if (SHOTS) writeFileSync(join(repo, 'docs', 'images', 'ops-refund.png'), await page.locator('#tx-section').screenshot());

    expect(pageErrors).toEqual([]);
    await close();
  }, 60_000);
});

let helpLatencyMs = 0;
afterAll(() => {
  if (helpLatencyMs > 0) console.info(`Help request reached the page ${helpLatencyMs} ms after the kiosk published it`);
});

/** Clicks an Export CSV button and returns the file's text (without its byte order mark). */
async function downloadCsv(page: Page, which: string, filename: string): Promise<string> {
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: UI_WAIT_MS }),
    page.click(`button[data-export="${which}"]`),
  ]);
  expect(download.suggestedFilename()).toBe(filename);
  const bytes = readFileSync((await download.path())!);
  expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  return bytes.subarray(3).toString('utf8');
}

/** An RFC 4180 reader: quoted fields with doubled quotes, records ended by CRLF. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [],
    field = '',
    quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  expect(field === '' && row.length === 0, 'the last record ends with CRLF').toBe(true);
  return rows;
}

const balance = (s: RunningServer, walletId: string) =>
  s.ctx.store.unit(async (tx) => (await tx.getAccount(shopperAccountId(walletId)))!.balance);

/** Starts `kioskpay broker --port 0` and reads its URL from its first log lines. */
async function startBrokerProcess(identities: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [join(repo, 'bin', 'kioskpay.js'), 'broker', '--port', '0', '--identities', identities, '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
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
      } catch {
        /* not a log line */
      }
    });
  });
  lines.on('line', () => {}); // keep draining stdout
  return { child, url };
}

/** A kiosk as the fleet sees it: its identity, the offline status as last will, a retained online status. */
async function connectKiosk(url: string, kioskId: string, password: string, now: () => number): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    clientId: kioskId,
    username: kioskId,
    password,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: START_WAIT_MS,
    will: { topic: topics.kioskStatus(kioskId), payload: Buffer.from(JSON.stringify(lastWill('kp-1.4.0'))), qos: 1, retain: true },
  });
  const queued = kioskId === 'k-alpha' ? { count: 170, value: 1_200 } : { count: 0, value: 0 };
  const status: OnlineStatus = {
    v: 1,
    type: 'status',
    state: 'online',
    at: now(),
    seq: 1,
    firmware: 'kp-1.4.0',
    mode: kioskId === 'k-alpha' ? 'vending' : 'self-checkout',
    checkout: 'idle',
    policy: DEFAULT_KIOSK_POLICY,
    currency: 'JPY',
    queue: {
      count: queued.count,
      amount: { value: queued.value, currency: 'JPY' },
      oldestCapturedAt: queued.count ? now() - 600_000 : null,
      declined: 0,
      forwarding: null,
    },
    clock: { trusted: true, offsetMs: 4, uncertaintyMs: 25, lastSyncAt: now() },
    health: { scanner: 'ok', gpio: 'ok', display: 'ok' },
    faults: [],
    catalogVersion: 3,
    heartbeatMs: 30_000,
  };
  await client.publishAsync(topics.kioskStatus(kioskId), JSON.stringify(status), { qos: 1, retain: true });
  return client;
}

interface Sales {
  shopperWalletId: string;
  teaTodayPaymentId: string;
}

/**
 * Two days of sales through the real domain, the kiosks listing what they sold. Yesterday: green
 * tea and a coffee. Today, ten minutes before the clock's start: green tea from its slot, green tea
 * scanned at the self-checkout, an unlisted sale, juice and coffee, a decline, and a stored payment
 * settled when the uplink came back.
 */
async function makeSales(s: RunningServer, shift: { ms: number }): Promise<Sales> {
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
  const pay = async (kioskId: string, walletId: string, value: number, lines?: SaleLine[], txId = `tx-${++n}`) =>
    send(kioskId, {
      type: 'pay',
      txId,
      code: (await issueOnlineCode(ctx, walletId)).code,
      amount: yen(value),
      ...(lines ? { lines } : {}),
    });
  shift.ms = -24 * HOUR_MS;
  await pay('k-alpha', shopper.walletId, 300, [{ gtin: TEA, slot: 1, qty: 2, unitPrice: yen(150) }], 'tea-yesterday');
  await pay('k-beta', shopper.walletId, 130, [{ slot: 3, qty: 1, unitPrice: yen(130) }]);
  shift.ms = -10 * 60_000;
  const tea = await pay('k-alpha', shopper.walletId, 450, [{ gtin: TEA, slot: 1, qty: 3, unitPrice: yen(150) }], 'tea-today');
  await pay('k-beta', shopper.walletId, 150, [{ gtin: TEA, qty: 1, unitPrice: yen(150) }], 'tea-scanned'); // the self-checkout: no slot
  await pay('k-alpha', shopper.walletId, 1_000);
  await pay('k-beta', shopper.walletId, 300, [
    { slot: 6, qty: 1, unitPrice: yen(170) },
    { slot: 3, qty: 1, unitPrice: yen(130) },
  ]);
  await pay('k-beta', broke.walletId, 700); // INSUFFICIENT_FUNDS
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const cred = await issueCredential(ctx, shopper.walletId, naclEd25519.keyPairFromSeed(seed).publicKey);
  const capturedAt = ctx.clock.nowMs();
  const code = (counter: number) =>
    makeOfflineCode(
      {
        credential: fromBase64url(cred.credential)!,
        timestampMs: capturedAt,
        counter,
        phoneSecretKey: naclEd25519.keyPairFromSeed(seed).secretKey,
      },
      naclEd25519,
    );
  shift.ms = 0; // the kiosk's uplink came back ten minutes later
  const settled = await send('k-beta', {
    type: 'settle',
    items: [
      { txId: 'stored-1', code: code(1), amount: yen(550), capturedAt },
      { txId: 'stored-2', code: code(2), amount: yen(6_000), capturedAt }, // over the offline per-payment limit
    ],
  });
  expect(settled).toMatchObject({
    type: 'settle.result',
    items: [
      { txId: 'stored-1', status: 'settled' },
      { txId: 'stored-2', status: 'declined', reason: 'OFFLINE_LIMIT_PER_PAYMENT' },
    ],
  });
  if (tea.type !== 'pay.result' || tea.status !== 'approved') throw new Error(`tea-today: ${JSON.stringify(tea)}`);
  return { shopperWalletId: shopper.walletId, teaTodayPaymentId: tea.paymentId! };
}

/** Mean colour of the middle half of a box (avoids anti-aliased edges). */
function meanColour(png: PNG, box: { x: number; y: number; width: number; height: number }): { r: number; g: number; b: number } {
  const x0 = Math.round(box.x + box.width / 4),
    x1 = Math.round(box.x + (3 * box.width) / 4);
  const y0 = Math.round(box.y + box.height / 4),
    y1 = Math.round(box.y + (3 * box.height) / 4);
  let r = 0,
    g = 0,
    b = 0,
    count = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * png.width + x) * 4;
      r += png.data[i]!;
      g += png.data[i + 1]!;
      b += png.data[i + 2]!;
      count += 1;
    }
  }
  return { r: Math.round(r / count), g: Math.round(g / count), b: Math.round(b / count) };
}
