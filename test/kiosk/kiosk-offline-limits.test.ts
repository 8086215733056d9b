// SPDX-License-Identifier: Apache-2.0
// The kiosk's per-credential rolling counters (device/domain/offline/credential-spend.ts), on the
// running kiosk against the real server domain: with its uplink cut it says "approved" only for what
// will settle within the credential's signed limits, and it remembers what it took after forwarding
// and across a restart.
import { afterEach, describe, expect, it } from 'vitest';
import { shopperAccountId } from '../../server/domain/ids.ts';
import { startHarness, TEA, type Harness } from './kiosk-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function basket(k: Harness) {
  await k.scan(TEA);
  k.kiosk.press('pay');
  await k.flush();
  expect(k.kiosk.checkoutState).toBe('awaitingCode');
}

/** Shows one offline code of `phone` at the kiosk; returns the screen it ended on. */
async function offlineSale(k: Harness, code: string): Promise<{ name: string; reason?: string }> {
  await basket(k);
  await k.scan(code);
  await k.until(() => k.kiosk.checkoutState === 'approved' || k.display.last.screen.name === 'declined', 'an answer');
  const screen = k.display.last.screen as { name: string; reason?: string };
  k.kiosk.press('cancel');
  await k.flush();
  return screen;
}

describe('kiosk: per-credential offline limits', () => {
  it('with its uplink cut, approves only the codes that fit the signed daily count; all of those settle', async () => {
    h = await startHarness();
    const phone = await h.world.phone(5_000);
    await h.world.credential(phone); // the server's default limits: 2 offline payments a day
    await h.cut();
    const screens = [];
    for (let i = 0; i < 4; i++) screens.push(await offlineSale(h, h.world.offlineCode(phone)));
    expect(screens.map((s) => s.name)).toEqual(['approved', 'approved', 'declined', 'declined']);
    expect(screens.slice(2).map((s) => s.reason)).toEqual(['OFFLINE_LIMIT_DAILY', 'OFFLINE_LIMIT_DAILY']);
    expect(h.outbox.stats().count).toBe(2);
    await h.restore();
    await h.until(() => h!.outbox.stats().count === 0, 'outbox drained');
    expect(h.state.state.declined).toEqual([]);
    expect(await h.world.balance(shopperAccountId(phone.walletId))).toBe(5_000 - 2 * 150);
  });

  it('refuses to claim more than the amount the shopper signed into the code', async () => {
    h = await startHarness();
    const phone = await h.world.phone(5_000);
    await h.world.credential(phone);
    await h.cut();
    expect(await offlineSale(h, h.world.offlineCode(phone, { amountCap: 100 }))).toMatchObject({
      name: 'declined',
      reason: 'OFFLINE_LIMIT_PER_PAYMENT',
    });
    expect((await offlineSale(h, h.world.offlineCode(phone, { amountCap: 150 }))).name).toBe('approved');
  });

  it('counts what it already forwarded, also after a restart', async () => {
    h = await startHarness();
    const phone = await h.world.phone(5_000);
    await h.world.credential(phone);
    await h.cut();
    expect((await offlineSale(h, h.world.offlineCode(phone))).name).toBe('approved');
    expect((await offlineSale(h, h.world.offlineCode(phone))).name).toBe('approved');
    await h.restore();
    await h.until(() => h!.outbox.stats().count === 0, 'outbox drained');
    const { dir, world } = h;
    await h.stop();
    h = undefined;
    const again = await startHarness({ world, dir, epoch: 'second-boot' });
    try {
      await again.until(() => again.kiosk.status().clock.trusted, 'clock synced');
      await again.cut();
      // The outbox is empty now: only the kept record knows the two earlier sales.
      expect(await offlineSale(again, again.world.offlineCode(phone))).toMatchObject({ name: 'declined', reason: 'OFFLINE_LIMIT_DAILY' });
      expect(again.outbox.stats().count).toBe(0);
    } finally {
      await again.close();
      await world.close();
    }
  });
});
