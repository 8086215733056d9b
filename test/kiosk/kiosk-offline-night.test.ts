// SPDX-License-Identifier: Apache-2.0
// A vending machine that loses its uplink in the evening must still sell by morning, within bounded
// risk: after a power cut without uplink (a new boot id), with a battery-backed RTC and without one;
// powered but offline for 12 hours; and it must never take a code older than its persisted bound.
// The real Kiosk against the real server domain, on a manual clock (no real sleeps).
import { afterEach, describe, expect, it } from 'vitest';
import { screenWords } from '../../device/display/words.ts';
import { makeWorld, type World } from '../../server/testing/world.ts';
import { shopperAccountId } from '../../server/domain/ids.ts';
import { DEFAULT_KIOSK_POLICY, type KioskPolicy } from '../../shared/kiosk-policy.ts';
import { startHarness, TEA, type Harness, type HarnessOptions } from './kiosk-harness.ts';

const MIN_MS = 60_000;
const HOUR_MS = 3_600_000;

let open: Harness[] = [];
const worlds: World[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
  for (const w of worlds.splice(0)) await w.close();
});

async function start(o: HarnessOptions): Promise<Harness> {
  const h = await startHarness(o);
  open.push(h);
  return h;
}

/** A world whose credentials allow many offline payments a day, so settlement declines nothing here. */
async function world(): Promise<World> {
  const w = await makeWorld({ limits: { daily: { amount: 100_000, count: 100 }, monthly: { amount: 500_000, count: 200 } } });
  worlds.push(w);
  return w;
}

/** Scans a product, presses pay, scans the code; returns the screen that follows. */
async function sell(h: Harness, code: string) {
  await h.scan(TEA);
  h.kiosk.press('pay');
  await h.flush();
  expect(h.kiosk.checkoutState).toBe('awaitingCode');
  await h.scan(code);
  await h.until(() => h.kiosk.checkoutState === 'approved' || h.kiosk.checkoutState === 'declined', 'a verdict');
  const screen = h.display.last.screen;
  h.kiosk.press('cancel');
  await h.flush();
  return screen;
}

const policy = (change: Partial<KioskPolicy>): KioskPolicy => ({ ...DEFAULT_KIOSK_POLICY, ...change });

/**
 * The evening: the kiosk is online (synced, list and catalog received), the uplink drops, 10 minutes
 * pass, then the power is cut and stays off `offMs`. Returns the phone and what the reboot needs.
 */
async function eveningThenPowerCut(w: World, config: HarnessOptions['config'], offMs: number) {
  const first = await start({ world: w, ...(config ? { config } : {}) });
  const phone = await w.phone(20_000);
  await w.credential(phone);
  expect(first.kiosk.status().clock.trusted).toBe(true);
  await first.cut();
  await first.advance(10 * MIN_MS, 1_000);
  const boundMs = (first.state.state.clock as { lowerBoundMs: number }).lowerBoundMs;
  await first.stop();
  open = open.filter((x) => x !== first);
  w.clock.advance(offMs);
  return { phone, dir: first.dir, boundMs };
}

describe('kiosk: a night without uplink', () => {
  it('after a power cut with a battery-backed RTC it trusts its clock and sells offline within its caps', async () => {
    const w = await world();
    const config = { policy: policy({ caps: { storedCountMax: 3, storedAmountMax: 200_000, offlineDurationMaxMs: 24 * HOUR_MS } }) };
    const { phone, dir } = await eveningThenPowerCut(w, config, 2 * HOUR_MS);
    // A new boot id, no uplink, the RTC set the wall clock (true time, 0.3 s off).
    const h = await start({ world: w, dir, config, epoch: 'night-boot', rtc: true, offline: true, broadcasts: false, wallOffsetMs: -300 });
    expect(h.kiosk.status().clock).toMatchObject({ trusted: true });
    expect(screenWords(h.display.last).lines.join(' ')).not.toMatch(/cannot take payments/);
    for (let i = 0; i < 3; i++) expect(await sell(h, w.offlineCode(phone)), `sale ${i}`).toMatchObject({ name: 'approved' });
    // The fourth is past the kiosk's cap of three stored payments.
    expect(await sell(h, w.offlineCode(phone))).toMatchObject({ name: 'declined', reason: 'KIOSK_OFFLINE_UNAVAILABLE' });
    // Captured at the RTC's time, so the server settles every one when the uplink returns.
    for (const e of h.outbox.list()) expect(Math.abs(e.capturedAt - w.clock.nowMs())).toBeLessThan(10 * MIN_MS);
    await h.restore();
    await h.until(() => h.outbox.stats().count === 0, 'outbox drained');
    expect(h.state.state.declined).toEqual([]);
    expect(await w.balance(shopperAccountId(phone.walletId))).toBe(20_000 - 3 * 150);
  });

  it("after a power cut without an RTC it sells in the untrusted-clock mode, within the server policy's tighter caps", async () => {
    const w = await world();
    const config = { policy: policy({ untrustedClock: { storedCountMax: 2, storedAmountMax: 20_000, durationMaxMs: 12 * HOUR_MS } }) };
    const { phone, dir } = await eveningThenPowerCut(w, config, 2 * HOUR_MS);
    // fake-hwclock: the wall clock comes back at the time it was saved, 2 hours behind.
    const h = await start({
      world: w,
      dir,
      config,
      epoch: 'night-boot',
      rtc: false,
      offline: true,
      broadcasts: false,
      wallOffsetMs: -2 * HOUR_MS,
    });
    expect(h.kiosk.status().clock).toMatchObject({ trusted: false, uncertaintyMs: null });
    expect(screenWords(h.display.last).lines.join(' ')).not.toMatch(/cannot take payments/);
    expect(await sell(h, w.offlineCode(phone))).toMatchObject({ name: 'approved' });
    expect(await sell(h, w.offlineCode(phone))).toMatchObject({ name: 'approved' });
    expect(await sell(h, w.offlineCode(phone))).toMatchObject({ name: 'declined', reason: 'KIOSK_OFFLINE_UNAVAILABLE' });
    // The caps are reached: the screen now says so before the next shopper scans anything.
    expect(screenWords(h.display.last)).toMatchObject({
      lines: ['This kiosk cannot take payments right now.', 'Please try again later.'],
      tone: 'bad',
    });
    // Captured at the codes' own timestamps (never before the persisted bound): the server settles them.
    await h.restore();
    await h.until(() => h.outbox.stats().count === 0, 'outbox drained');
    expect(h.state.state.declined).toEqual([]);
    expect(await w.balance(shopperAccountId(phone.walletId))).toBe(20_000 - 2 * 150);
  });

  it('stops the untrusted-clock mode after its duration, and says so on the screen', async () => {
    const w = await world();
    const { phone, dir } = await eveningThenPowerCut(w, undefined, HOUR_MS);
    const h = await start({ world: w, dir, epoch: 'night-boot', offline: true, broadcasts: false, wallOffsetMs: -HOUR_MS });
    expect(await sell(h, w.offlineCode(phone))).toMatchObject({ name: 'approved' });
    // 12 hours of running untrusted (the default policy): offline acceptance ends.
    await h.advance(12 * HOUR_MS + MIN_MS, MIN_MS);
    expect(screenWords(h.display.last).lines).toContain('This kiosk cannot take payments right now.');
    expect(await sell(h, w.offlineCode(phone))).toMatchObject({ name: 'declined', reason: 'KIOSK_OFFLINE_UNAVAILABLE' });
  });

  it('declines a code older than the persisted bound after a reboot without an RTC', async () => {
    const w = await world();
    const first = await start({ world: w });
    const phone = await w.phone(20_000);
    await w.credential(phone);
    // A code shown (or photographed) at 20:00, then the kiosk runs 30 more minutes and saves its bound.
    const old = w.offlineCode(phone);
    await first.advance(30 * MIN_MS, 1_000);
    await first.cut();
    const { dir } = first;
    await first.stop();
    open = [];
    w.clock.advance(HOUR_MS);
    const h = await start({ world: w, dir, epoch: 'night-boot', offline: true, broadcasts: false, wallOffsetMs: -HOUR_MS });
    expect(await sell(h, old)).toMatchObject({ name: 'declined', reason: 'TIME_OUT_OF_WINDOW' });
    expect(await sell(h, w.offlineCode(phone))).toMatchObject({ name: 'approved' });
    expect(h.outbox.stats().count).toBe(1);
  });

  it('a kiosk that never reached the server cannot take offline codes, and its screen says so before any scan', async () => {
    const w = await world();
    const h = await start({ world: w, offline: true, epoch: 'first-boot' });
    expect(h.display.last.offlineUnavailable).toBe(true);
    expect(screenWords(h.display.last)).toMatchObject({
      title: 'Sorry',
      lines: ['This kiosk cannot take payments right now.', 'Please try again later.'],
    });
  });

  it('powered but offline for 12 hours it still sells, within the stale-list caps', async () => {
    const w = await world();
    const config = { policy: policy({ staleRevocations: { storedCountMax: 2, storedAmountMax: 50_000, maxAgeMs: 72 * HOUR_MS } }) };
    const h = await start({ world: w, config });
    const phone = await w.phone(20_000);
    await w.credential(phone);
    await h.cut();
    expect(await sell(h, w.offlineCode(phone))).toMatchObject({ name: 'approved' });
    await h.advance(12 * HOUR_MS, MIN_MS);
    // The list is 12 hours old: past the fresh 6 hours, so the stale caps (2 stored payments) apply.
    expect(screenWords(h.display.last).lines.join(' ')).not.toMatch(/cannot take payments/);
    expect(await sell(h, w.offlineCode(phone))).toMatchObject({ name: 'approved' });
    expect(await sell(h, w.offlineCode(phone))).toMatchObject({ name: 'declined', reason: 'KIOSK_OFFLINE_UNAVAILABLE' });
    await h.restore();
    await h.until(() => h.outbox.stats().count === 0, 'outbox drained');
    expect(h.state.state.declined).toEqual([]);
    expect(await w.balance(shopperAccountId(phone.walletId))).toBe(20_000 - 2 * 150);
  });
});
