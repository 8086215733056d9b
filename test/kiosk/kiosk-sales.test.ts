// SPDX-License-Identifier: Apache-2.0
// The running kiosk against the real server domain: online sales, selling through its own uplink
// loss with offline codes, forwarding exactly once when the uplink returns, declines at settlement
// kept and reported, and the clock rule.
import { afterEach, describe, expect, it } from 'vitest';
import { shopperAccountId } from '../../server/domain/ids.ts';
import { eventually } from '../../shared/testing/wait.ts';
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

describe('kiosk: selling', () => {
  it('sells online: the server charges the shopper and the screen says approved', async () => {
    h = await startHarness();
    const phone = await h.world.phone(1_000);
    await basket(h);
    await h.scan(await h.world.onlineCode(phone));
    await h.until(() => h!.kiosk.checkoutState === 'approved', 'approved');
    expect(h.display.last.screen).toMatchObject({ name: 'approved', total: { value: 150 } });
    expect(await h.world.balance(shopperAccountId(phone.walletId))).toBe(850);
    const payments = h.uplink.messages('events').filter((e) => e['kind'] === 'payment');
    expect(payments).toEqual([expect.objectContaining({ outcome: 'approved', offline: false, amount: { value: 150, currency: 'JPY' } })]);
    expect(h.outbox.stats().count).toBe(0);
  });

  it('declines an online code with "please show your offline code" while its uplink is down', async () => {
    h = await startHarness();
    const phone = await h.world.phone(1_000);
    const code = await h.world.onlineCode(phone);
    await h.cut();
    await basket(h);
    await h.scan(code);
    expect(h.display.last.screen).toMatchObject({ name: 'declined', reason: 'OFFLINE_FORM_REQUIRED' });
    expect(h.display.last.offline).toBe(true);
  });

  it('keeps selling with offline codes after the uplink is cut, then forwards everything exactly once', async () => {
    h = await startHarness();
    const phone = await h.world.phone(5_000);
    await h.world.credential(phone);
    await h.cut();
    const txIds: string[] = [];
    // PayPay's launch limits, the server's default: 2 offline payments a day.
    for (let i = 0; i < 2; i++) {
      await basket(h);
      await h.scan(h.world.offlineCode(phone));
      await h.until(() => h!.kiosk.checkoutState === 'approved', `offline approval ${i}`);
      txIds.push(h.outbox.list()[i]!.txId);
      h.kiosk.press('cancel');
      await h.flush();
    }
    expect(h.outbox.stats().count).toBe(2);
    expect(await h.world.balance(shopperAccountId(phone.walletId))).toBe(5_000);

    await h.restore();
    await h.until(() => h!.outbox.stats().count === 0, 'outbox drained');
    expect(await h.world.balance(shopperAccountId(phone.walletId))).toBe(5_000 - 2 * 150);
    const forward = h.uplink.messages('events').filter((e) => e['kind'] === 'forward' && e['finished'] === true);
    expect(forward.at(-1)).toMatchObject({ settled: 2, declined: 0, end: 'drained' });

    // Forwarding again (a technician's "forward now", a retry after a crash) charges nothing more.
    const again = await h.world.settle(
      'k1',
      txIds.map((txId) => ({ txId, code: 'x'.repeat(10), amount: { value: 150, currency: 'JPY' }, capturedAt: h!.world.clock.nowMs() })),
    );
    expect(again.items.every((i) => i.status === 'settled' || i.status === 'declined')).toBe(true);
    expect(await h.world.balance(shopperAccountId(phone.walletId))).toBe(5_000 - 2 * 150);
  });

  it('keeps and reports a stored payment the server declines at settlement (over the daily offline limit)', async () => {
    h = await startHarness();
    const phone = await h.world.phone(5_000);
    await h.world.credential(phone);
    // Today's two offline payments were taken at another kiosk: this one cannot know, so it stores a third.
    const at = h.world.clock.nowMs();
    const elsewhere = await h.world.settle(
      'k2',
      [1, 2].map((i) => ({
        txId: `k2-${i}`,
        code: h!.world.offlineCode(phone),
        amount: { value: 150, currency: 'JPY' as const },
        capturedAt: at,
      })),
    );
    expect(elsewhere.items.map((i) => i.status)).toEqual(['settled', 'settled']);
    await h.cut();
    await basket(h);
    await h.scan(h.world.offlineCode(phone));
    await h.until(() => h!.kiosk.checkoutState === 'approved', 'offline approval');
    h.kiosk.press('cancel');
    await h.flush();
    const third = h.outbox.list()[0]!.txId;
    await h.restore();
    await h.until(() => h!.outbox.stats().count === 0, 'outbox drained');
    expect(h.state.state.declined).toEqual([
      expect.objectContaining({ txId: third, reason: 'OFFLINE_LIMIT_DAILY', amount: { value: 150, currency: 'JPY' } }),
    ]);
    expect(h.uplink.messages('events')).toContainEqual(
      expect.objectContaining({ kind: 'settle-declined', txId: third, reason: 'OFFLINE_LIMIT_DAILY' }),
    );
    expect(h.kiosk.status().queue).toMatchObject({ count: 0, declined: 1 });
    expect(await h.world.balance(shopperAccountId(phone.walletId))).toBe(5_000 - 2 * 150);
  });

  it('after a reboot without uplink or RTC its clock is untrusted: it sells only in the untrusted-clock mode until a sync', async () => {
    h = await startHarness();
    const phone = await h.world.phone(5_000);
    await h.world.credential(phone);
    expect(h.kiosk.status().clock.trusted).toBe(true);
    const { dir, world } = h;
    await h.stop();
    h = undefined;
    // A reboot: a new boot id, so the saved sync no longer counts; the uplink is down from the start.
    const rebooted = await startHarness({ world, dir, epoch: 'second-boot', broadcasts: false, offline: true });
    try {
      await rebooted.deliverBroadcasts();
      expect(rebooted.kiosk.status().clock).toMatchObject({ trusted: false, uncertaintyMs: null });
      await basket(rebooted);
      await rebooted.scan(rebooted.world.offlineCode(phone));
      // Taken under the policy's untrusted-clock caps (test/kiosk/kiosk-offline-night.test.ts covers them).
      await rebooted.until(() => rebooted.kiosk.checkoutState === 'approved', 'approved on an untrusted clock');
      // The uplink returns: one sync and the clock is trusted again.
      await rebooted.restore();
      await rebooted.until(() => rebooted.kiosk.status().clock.trusted, 'clock synced');
    } finally {
      await rebooted.close();
      await world.close();
    }
  });

  it('declines an offline code with KIOSK_OFFLINE_UNAVAILABLE after its clock uncertainty grows past the limit', async () => {
    h = await startHarness({ config: { offline: { windowMs: 300_000, clockUncertaintyMaxMs: 1_000, revocationMaxAgeMs: 6 * 3_600_000 } } });
    const phone = await h.world.phone(5_000);
    await h.world.credential(phone);
    await h.cut();
    // 100 ppm of drift allowance: 1 s of uncertainty after about 2.8 hours without a sync.
    await h.advance(3 * 3_600_000);
    await basket(h);
    await h.scan(h.world.offlineCode(phone));
    expect(h.display.last.screen).toMatchObject({ name: 'declined', reason: 'KIOSK_OFFLINE_UNAVAILABLE' });
    expect(h.outbox.stats().count).toBe(0);
  });
});

describe('kiosk: payments interrupted by a power loss', () => {
  it('voids an online payment that was in flight when the kiosk lost power, once the uplink allows', async () => {
    const k = await startHarness();
    const phone = await k.world.phone(1_000);
    await basket(k);
    k.uplink.loseReplies = true;
    await k.scan(await k.world.onlineCode(phone));
    const charged = await eventually(
      async () => {
        await k.flush();
        const balance = await k.world.balance(shopperAccountId(phone.walletId));
        return balance !== 1_000 && balance;
      },
      { what: 'the server to charge the wallet' },
    );
    // The server charged it, but the answer never came back; the screen still says "paying".
    expect(charged).toBe(850);
    expect(k.kiosk.checkoutState).toBe('authorising');
    expect(k.state.state.inflight).toHaveLength(1);
    const txId = k.state.state.inflight[0]!;
    const { dir, world } = k;
    await k.stop(); // power loss: the process is gone, its state file stays
    // It boots with the uplink down: the interrupted payment waits to be voided, and says so.
    const again = await startHarness({ world, dir, offline: true });
    const voidsPending = () => again.uplink.messages('status').map((m) => (m['queue'] as { voidsPending?: number }).voidsPending);
    try {
      expect(again.state.state.voidLater).toEqual([txId]);
      await again.restore();
      // The status the kiosk publishes as the uplink returns, before it sends the void.
      expect(voidsPending()[0]).toBe(1);
      await again.until(() => again.state.state.voidLater.length === 0 && again.state.state.inflight.length === 0, 'void sent');
      // Then a status with nothing left to void (published within the status interval).
      await again.advance(1_000);
      expect(voidsPending().at(-1)).toBe(0);
      const status = await world.send('k1', { v: 1, type: 'status', id: 'st-1', txId });
      expect(status).toMatchObject({ type: 'pay.result', status: 'voided' });
      expect(await world.balance(shopperAccountId(phone.walletId))).toBe(1_000);
    } finally {
      await again.close();
      await world.close();
    }
  });

  it('an approved online payment is off the in-flight list before the screen says approved', async () => {
    h = await startHarness();
    const phone = await h.world.phone(1_000);
    await basket(h);
    await h.scan(await h.world.onlineCode(phone));
    await h.until(() => h!.kiosk.checkoutState === 'approved', 'approved');
    expect(h.state.state.inflight).toEqual([]);
    expect(h.state.state.voidLater).toEqual([]);
  });

  it('refuses offline an offline code it already sent to the server online', async () => {
    h = await startHarness();
    const phone = await h.world.phone(5_000);
    await h.world.credential(phone);
    const code = h.world.offlineCode(phone);
    await basket(h);
    await h.scan(code);
    await h.until(() => h!.kiosk.checkoutState === 'approved', 'approved online');
    h.kiosk.press('cancel');
    await h.cut();
    await basket(h);
    await h.scan(code);
    expect(h.display.last.screen).toMatchObject({ name: 'declined', reason: 'COUNTER_REUSED' });
    expect(h.outbox.stats().count).toBe(0);
  });
});
