// SPDX-License-Identifier: Apache-2.0
// The wallet's own limit count (wallet/core/offline-limits.ts) against the server's settlement
// (server/domain/settlement.ts): every offline code the wallet lets its shopper show settles, even
// when a copy of an earlier code reaches the server first at the most it may claim, and when the
// kiosks' capture times lie up to the offline window from the codes' own times (docs/protocol.md
// 3.6). The server's domain through its Store port, on a manual clock.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { merchantAccountId, shopperAccountId } from '../../server/domain/ids.ts';
import { makeWorld, settleItem, type World } from '../../server/testing/world.ts';
import { CAPTURE_SLACK_MS, offlineLimitsLeft } from '../../wallet/core/offline-limits.ts';
import type { ShownCode } from '../../wallet/core/wallet-state.ts';

let w: World;
beforeEach(async () => {
  w = await makeWorld();
});
afterEach(async () => {
  await w.close();
});

/** A world with other server config, closing the default one. */
async function remakeWorld(overrides: Record<string, unknown>): Promise<World> {
  await w.close();
  return makeWorld(overrides);
}

describe('codes the wallet lets its shopper show settle within the limits', () => {
  it('lets a copy that arrives first, claiming all the code allows, push no code the wallet allowed past the limits', async () => {
    // Three codes a day, ¥10,000. The wallet counts each code it shows at its signed cap until
    // history says what it cost (wallet/core/offline-limits.ts), so it shows A, B and C only because
    // their caps fit together. A copy of A claims A's whole cap and reaches the server first.
    w = await remakeWorld({ limits: { perPayment: 5_000, daily: { amount: 10_000, count: 3 }, monthly: { amount: 50_000, count: 10 } } });
    const p = await w.phoneWithCredential(20_000);
    const at = w.clock.nowMs();
    const limits = p.credential!.limits;
    const shown: ShownCode[] = [];
    const show = (counter: number, amountCap: number, t: number) => {
      expect(offlineLimitsLeft(limits, [], t, shown, amountCap).ok, `the wallet shows code ${counter}`).toBe(true);
      shown.push({ form: 'qr', credentialId: p.credential!.credentialId, counter, shownAtMs: t, amountCap });
      return w.offlineCode(p, { timestampMs: t, counter, amountCap });
    };
    const a = show(1, 2_000, at);
    const b = show(2, 4_000, at + 60_000);
    const c = show(3, 4_000, at + 120_000);
    expect(offlineLimitsLeft(limits, [], at + 120_000, shown, 1).ok).toBe(false); // a fourth would not fit
    expect((await w.settle('k3', [settleItem('copy-a', a, 2_000, at + 30_000)])).items[0]!.status).toBe('settled');
    const honest = await w.settle('k1', [settleItem('b', b, 4_000, at + 60_000), settleItem('c', c, 4_000, at + 120_000)]);
    expect(honest.items.map((i) => i.status)).toEqual(['settled', 'settled']);
    // The original (¥100, captured first) arrives last and displaces the copy.
    expect((await w.settle('k2', [settleItem('a', a, 100, at)])).items[0]!.status).toBe('settled');
    expect(await w.balance(shopperAccountId(p.walletId))).toBe(20_000 - 100 - 8_000);
    expect(await w.balance(merchantAccountId('other'))).toBe(0);
  });

  it('never declines for the limits a code the wallet let its shopper show a day after an earlier one', async () => {
    // The phone has been offline all day (no history). Code X was taken 4 minutes after it was
    // shown (within the window), Y an hour later; Z is shown just over 24 h after X. The server
    // judges Z at its capture time and counts X at its capture time, so X is still in Z's day.
    const p = await w.phoneWithCredential(20_000);
    const t = w.clock.nowMs();
    const limits = p.credential!.limits; // 2 a day
    const shown: ShownCode[] = [];
    const show = (counter: number, at: number) => {
      if (!offlineLimitsLeft(limits, [], at, shown, limits.perPayment).ok) return undefined;
      shown.push({ form: 'qr', credentialId: p.credential!.credentialId, counter, shownAtMs: at });
      return w.offlineCode(p, { timestampMs: at, counter });
    };
    const x = show(1, t)!;
    const y = show(2, t + 3_600_000)!;
    const z = show(3, t + 86_400_000 + 60_000);
    w.clock.advance(86_400_000 + 2 * CAPTURE_SLACK_MS); // the kiosks forward the next day
    const r = await w.settle('k1', [settleItem('x', x, 500, t + 4 * 60_000), settleItem('y', y, 500, t + 3_600_000)]);
    expect(r.items.map((i) => i.status)).toEqual(['settled', 'settled']);
    // Before the wallet kept X in its count for the window's slack, it showed Z, and Z was
    // declined OFFLINE_LIMIT_DAILY at settlement: the merchant's loss. Now it waits.
    if (z !== undefined)
      expect((await w.settle('k2', [settleItem('z', z, 500, t + 86_400_000 + 60_000)])).items[0]!.status).toBe('settled');
    expect(z).toBeUndefined();
    const later = show(3, t + 86_400_000 + 4 * 60_000 + CAPTURE_SLACK_MS + 1)!;
    expect((await w.settle('k2', [settleItem('z', later, 500, t + 86_400_000 + 4 * 60_000 + CAPTURE_SLACK_MS + 1)])).items[0]!.status).toBe(
      'settled',
    );
  });
});
