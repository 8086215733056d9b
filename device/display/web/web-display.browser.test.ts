// SPDX-License-Identifier: Apache-2.0
// The kiosk's web screen in Debian's headless Chromium: rendered views change the page's text
// (basket total, approved, decline reason, offline indicator, technician message, a vending sale's
// "Approved" then "Thank you!"), the simulated kiosk's panel drives a fake SimControls and shows its
// LEDs, buzzer and relay, and the page reconnects by itself to a restarted kiosk.
// With KIOSKPAY_SCREENSHOTS=1 the screens are saved to docs/images/kiosk-*.png.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../../shared/codes/test-fixtures.ts';
import { money } from '../../../shared/money.ts';
import { createWebDisplay, type WebDisplay } from './web-display.ts';
import { basketOf, basketView, FakeSimControls, idleView } from './web-test-kit.ts';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SHOTS = process.env.KIOSKPAY_SCREENSHOTS === '1';
const IMAGES = join(import.meta.dirname, '..', '..', '..', 'docs', 'images');
/** Bounded waits for the page to react (a push over loopback, a reconnect with backoff). */
const UI_WAIT_MS = 10_000;

if (!HAVE_CHROMIUM) console.warn(`skipping the kiosk screen browser tests: ${CHROMIUM} is not installed (apt-get install chromium)`);

const BASKET = basketOf(
  { name: 'Green tea 500 ml', price: money(150, 'JPY') },
  { name: 'Rice ball (salmon)', price: money(180, 'JPY'), gtin: '4006381333931' },
  { name: 'Chocolate bar', price: money(120, 'JPY'), gtin: '5901234123457' },
);

describe.skipIf(!HAVE_CHROMIUM)('the kiosk web screen in headless Chromium', () => {
  let browser: Browser;
  const displays: WebDisplay[] = [];

  beforeAll(async () => {
    // launch() gives the browser a fresh, temporary user-data directory of its own.
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
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const d of displays) await d.close();
  });

  async function display(sim?: FakeSimControls, port = 0): Promise<WebDisplay> {
    const d = await createWebDisplay({ port, ...(sim ? { sim } : {}) });
    displays.push(d);
    return d;
  }

  async function openPage(d: WebDisplay, width: number, height: number): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().includes('/events')) errors.push(m.text());
    });
    await page.goto(d.url + '/');
    pageErrors.set(page, errors);
    return page;
  }

  const pageErrors = new Map<Page, string[]>();
  /** Ends a test's page: it must have raised no script error and logged no console error. */
  async function done(page: Page, expected?: RegExp): Promise<void> {
    await page.close();
    expect(pageErrors.get(page)!.filter((e) => !expected?.test(e))).toEqual([]);
  }

  // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText is the text as rendered, which is what the test reads
  const text = (page: Page, selector: string) => page.locator(selector).innerText({ timeout: UI_WAIT_MS });

  /** Checks the screenshot is a PNG of the viewport's size, then saves it when asked to. */
  async function shot(page: Page, name: string, width: number, height: number): Promise<void> {
    const png = await page.screenshot({ type: 'png' });
    const decoded = PNG.sync.read(png);
    expect([decoded.width, decoded.height]).toEqual([width, height]);
    if (SHOTS) {
      mkdirSync(IMAGES, { recursive: true });
      writeFileSync(join(IMAGES, `kiosk-${name}.png`), png);
    }
  }

  it('draws each view: basket total, approved, decline reason, offline indicator, technician message', async () => {
    const d = await display();
    const page = await openPage(d, 1280, 800);
    d.render(idleView({ storedCount: 0 }));
    await expect.poll(() => text(page, '#title'), { timeout: UI_WAIT_MS }).toBe('Welcome');
    expect(await text(page, '#lines')).toBe('Scan your first product to start.');
    expect(await page.locator('#offline').isVisible()).toBe(false);
    expect(await page.locator('#sim').count()).toBe(0);
    await shot(page, 'idle', 1280, 800);

    d.render(basketView(BASKET));
    await expect.poll(() => text(page, '#total'), { timeout: UI_WAIT_MS }).toBe('¥450');
    expect(await text(page, '#title')).toBe('Total ¥450');
    expect(await page.locator('#items li').allInnerTexts()).toEqual([
      'Green tea 500 ml\n¥150',
      'Rice ball (salmon)\n¥180',
      'Chocolate bar\n¥120',
    ]);
    await shot(page, 'basket', 1280, 800);

    d.render(idleView({ screen: { name: 'approved', total: money(450, 'JPY') } }));
    await expect.poll(() => text(page, '#title'), { timeout: UI_WAIT_MS }).toBe('Approved');
    expect(await text(page, '#lines')).toBe('¥450 paid. Thank you!');
    expect(await page.locator('#screen').getAttribute('class')).toBe('tone-good');
    expect(await page.locator('#basket').isVisible()).toBe(false);

    d.render(
      idleView({
        screen: { name: 'declined', reason: 'INSUFFICIENT_FUNDS', text: '' },
        offline: true,
        storedCount: 2,
        forwarding: { done: 1, total: 2 },
      }),
    );
    await expect.poll(() => text(page, '#title'), { timeout: UI_WAIT_MS }).toBe('Not paid');
    expect(await text(page, '#lines')).toBe('Your balance is not enough.');
    expect(await page.locator('#screen').getAttribute('class')).toBe('tone-bad');
    expect(await page.locator('#offline').isVisible()).toBe(true);
    expect(await text(page, '#staff')).toBe('kiosk-7 · policy prefer-online · stored 2 · forwarding 1/2');
    await shot(page, 'declined', 1280, 800);

    d.render(idleView({ offline: false, message: 'Restocking: back in 5 minutes', faults: ['scanner unavailable'] }));
    await expect.poll(() => page.locator('#message').isVisible(), { timeout: UI_WAIT_MS }).toBe(true);
    expect(await text(page, '#message-text')).toBe('Restocking: back in 5 minutes');
    expect(await page.locator('#offline').isVisible()).toBe(false);
    expect(await text(page, '#faults')).toBe('faults: scanner unavailable');
    await done(page);
  });

  it('fits a full basket on a 1920x1080 panel without scrolling', async () => {
    const d = await display();
    const page = await openPage(d, 1920, 1080);
    const many = basketOf(
      ...Array.from({ length: 30 }, (_, i) => ({ name: `Product number ${i + 1} with a rather long name`, price: money(100 + i, 'JPY') })),
    );
    d.render(basketView(many));
    await expect.poll(() => text(page, '#total'), { timeout: UI_WAIT_MS }).toBe('¥3,435');
    const overflow = await page.evaluate(() => [
      document.documentElement.scrollWidth > innerWidth,
      document.documentElement.scrollHeight > innerHeight,
    ]);
    expect(overflow).toEqual([false, false]);
    const total = await page.locator('.total-row').boundingBox();
    expect(total!.y + total!.height).toBeLessThanOrEqual(1080);
    // The latest item is on screen; the earliest ones are summed up in one line.
    await expect.poll(() => page.locator('#items li').last().isVisible(), { timeout: UI_WAIT_MS }).toBe(true);
    const last = await page.locator('#items li').last().boundingBox();
    expect(last!.y + last!.height).toBeLessThanOrEqual(total!.y + 1);
    expect(await text(page, '#more')).toMatch(/^\+ \d+ earlier item\(s\)$/);
    await done(page);
  });

  it('drives the simulated kiosk from its panel: product, pay, pasted code, uplink switch', async () => {
    const sim = new FakeSimControls();
    const d = await display(sim);
    const page = await openPage(d, 1280, 800);
    d.render(basketView(basketOf({ name: 'Green tea 500 ml', price: money(150, 'JPY') })));
    await expect.poll(() => text(page, '#total'), { timeout: UI_WAIT_MS }).toBe('¥150');
    expect(await text(page, '#sim h2')).toBe('Simulated kiosk');

    await page.getByRole('button', { name: /Chocolate bar/ }).click();
    await expect.poll(() => sim.calls, { timeout: UI_WAIT_MS }).toEqual([{ scan: '5901234123457' }]);
    await page.locator('#sim-pay').click();
    await expect.poll(() => sim.calls.at(-1), { timeout: UI_WAIT_MS }).toEqual({ press: 'pay' });

    const code = fixture().offlineCode;
    await page.locator('#sim-code').fill(code + '\n');
    await page.locator('#sim-scan').click();
    await expect.poll(() => sim.calls.at(-1), { timeout: UI_WAIT_MS }).toEqual({ scan: code });
    await expect.poll(() => page.locator('#sim-code').inputValue(), { timeout: UI_WAIT_MS }).toBe('');

    await page.locator('#sim-uplink').uncheck();
    await expect.poll(() => sim.calls.at(-1), { timeout: UI_WAIT_MS }).toEqual({ setUplink: false });
    await expect.poll(() => text(page, '#sim-uplink-label'), { timeout: UI_WAIT_MS }).toBe('Kiosk uplink: cut');
    d.render(basketView(BASKET, { offline: true }));
    await expect.poll(() => page.locator('#offline').isVisible(), { timeout: UI_WAIT_MS }).toBe(true);
    await shot(page, 'sim', 1280, 800);

    // A vending kiosk's panel presses slots instead of scanning.
    d.render(idleView({ mode: 'vending', screen: { name: 'idle', mode: 'vending' } }));
    await expect.poll(() => page.locator('.sim-product').count(), { timeout: UI_WAIT_MS }).toBe(2);
    await page.getByRole('button', { name: /Rice ball/ }).click();
    await expect.poll(() => sim.calls.at(-1), { timeout: UI_WAIT_MS }).toEqual({ press: { slot: 2 } });
    await done(page);
  });

  it('shows the simulated LEDs, buzzer and relay as the GPIO drives them', async () => {
    const sim = new FakeSimControls();
    const d = await display(sim);
    const page = await openPage(d, 1280, 800);
    d.render(idleView({ mode: 'vending', screen: { name: 'idle', mode: 'vending' } }));
    await expect.poll(() => text(page, '#title'), { timeout: UI_WAIT_MS }).toBe('Welcome');
    const out = async (id: string) => ({
      on: ((await page.locator(`#${id}`).getAttribute('class')) ?? '').split(' ').includes('on'),
      state: await text(page, `#${id} .state`),
    });
    for (const id of ['sim-led-ready', 'sim-led-offline', 'sim-led-fault', 'sim-relay'])
      expect(await out(id), id).toEqual({ on: false, state: 'off' });
    expect(await out('sim-buzzer')).toEqual({ on: false, state: 'silent' });
    expect(sim.listeners).toBe(1);

    // The kiosk is ready; then `kioskpay console test KIOSK led` lights all three for a second.
    sim.setOutputs({ leds: { ready: true, offline: false, fault: false } });
    await expect.poll(() => out('sim-led-ready'), { timeout: UI_WAIT_MS }).toEqual({ on: true, state: 'on' });
    expect(await out('sim-led-fault')).toEqual({ on: false, state: 'off' });
    sim.setOutputs({ leds: { ready: true, offline: true, fault: true } });
    await expect.poll(() => out('sim-led-fault'), { timeout: UI_WAIT_MS }).toEqual({ on: true, state: 'on' });
    expect(await out('sim-led-offline')).toEqual({ on: true, state: 'on' });
    const lamp = await page.locator('#sim-led-fault .lamp').evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(lamp).toBe('rgb(239, 68, 68)');

    // A beep and a relay pulse: while on, and counted once off.
    sim.setOutputs({ buzzer: true, beeps: 1, relay: true, pulses: 1 });
    await expect.poll(() => out('sim-buzzer'), { timeout: UI_WAIT_MS }).toEqual({ on: true, state: 'sounding' });
    expect(await out('sim-relay')).toEqual({ on: true, state: 'on' });
    expect(await text(page, '#sim-buzzer .count')).toBe('1 beep');
    expect(await text(page, '#sim-relay .count')).toBe('1 pulse');
    await shot(page, 'sim-outputs', 1280, 800);
    sim.setOutputs({ buzzer: false, beeps: 3, relay: false, pulses: 1 });
    await expect.poll(() => text(page, '#sim-buzzer .count'), { timeout: UI_WAIT_MS }).toBe('3 beeps');
    expect(await out('sim-buzzer')).toEqual({ on: false, state: 'silent' });
    expect(await out('sim-relay')).toEqual({ on: false, state: 'off' });

    // A kiosk without GPIO says so instead.
    sim.out = undefined;
    d.render(idleView({ mode: 'vending', screen: { name: 'idle', mode: 'vending' }, storedCount: 1 }));
    await expect.poll(() => page.locator('#sim-outputs-none').isVisible(), { timeout: UI_WAIT_MS }).toBe(true);
    expect(await page.locator('#sim-outputs').isVisible()).toBe(false);
    await done(page);
    await d.close();
    expect(sim.listeners).toBe(0);
  });

  it('a vending sale reads "Approved" while dispensing, then "Thank you!"', async () => {
    const d = await display(new FakeSimControls());
    const page = await openPage(d, 1280, 800);
    const vending = { mode: 'vending' as const };
    d.render(idleView({ ...vending, screen: { name: 'authorising', total: money(150, 'JPY'), offline: false } }));
    await expect.poll(() => text(page, '#title'), { timeout: UI_WAIT_MS }).toBe('Paying ¥150');
    d.render(idleView({ ...vending, screen: { name: 'dispensing', slot: 1 } }));
    await expect.poll(() => text(page, '#title'), { timeout: UI_WAIT_MS }).toBe('Approved');
    expect(await text(page, '#lines')).toBe('Your product is on its way.');
    expect(await page.locator('#screen').getAttribute('class')).toBe('tone-good');
    d.render(idleView({ ...vending, screen: { name: 'approved', total: money(150, 'JPY') } }));
    await expect.poll(() => text(page, '#title'), { timeout: UI_WAIT_MS }).toBe('Thank you!');
    expect(await text(page, '#lines')).toBe('¥150 paid. Please take your product.');
    await done(page);
  });

  it('covers a stale screen while the kiosk is away and reconnects by itself', async () => {
    const first = await display();
    const port = Number(new URL(first.url).port);
    const page = await openPage(first, 1280, 800);
    first.render(idleView({ screen: { name: 'approved', total: money(150, 'JPY') } }));
    await expect.poll(() => text(page, '#title'), { timeout: UI_WAIT_MS }).toBe('Approved');
    await first.close();
    await expect.poll(() => page.locator('#disconnected').isVisible(), { timeout: UI_WAIT_MS }).toBe(true);
    // The kiosk comes back on the same port (given to the first one by the OS).
    const second = await display(undefined, port);
    second.render(idleView());
    await expect.poll(() => text(page, '#title'), { timeout: UI_WAIT_MS }).toBe('Welcome');
    expect(await page.locator('#disconnected').isVisible()).toBe(false);
    await done(page, /ERR_CONNECTION_REFUSED/);
  });
});
