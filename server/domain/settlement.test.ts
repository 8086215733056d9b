// SPDX-License-Identifier: Apache-2.0
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MONEY_MAX } from '../../shared/money.ts';
import { makeWorld, settleItem, type World } from '../testing/world.ts';
import { merchantAccountId, shopperAccountId } from './ids.ts';
import { walletInfo, issueCredential } from './wallets.ts';
import { tamperCode } from '../../shared/codes/test-fixtures.ts';

let w: World;
beforeEach(async () => {
  w = await makeWorld();
});
afterEach(async () => {
  await w.close();
});

describe('settling payments a kiosk stored while its uplink was down', () => {
  it('declines only the item whose credit would pass the balance bound; the rest of the batch settles', async () => {
    const p = await w.phoneWithCredential(20_000);
    // The merchant's balance is 1,500 short of 10^12 (filled straight in the store: setup only).
    await w.credit(merchantAccountId('shop'), MONEY_MAX - 1_500);
    const at = w.clock.nowMs();
    const items = [
      settleItem('o-1', w.offlineCode(p), 1_000, at),
      settleItem('o-2', w.offlineCode(p), 1_000, at),
      settleItem('o-3', w.offlineCode(p), 300, at),
    ];
    // Before: the whole batch was an error reply, and the same batch failed on every retry.
    const first = await w.settle('k1', items);
    expect(first.items.map((i) => [i.txId, i.status, i.reason])).toEqual([
      ['o-1', 'settled', undefined],
      ['o-2', 'declined', 'BALANCE_LIMIT'],
      ['o-3', 'settled', undefined],
    ]);
    expect(await w.balance(merchantAccountId('shop'))).toBe(MONEY_MAX - 200);
    expect(await w.balance(shopperAccountId(p.walletId))).toBe(20_000 - 1_300);
    // The decline is the stored decision: the same batch again gets the same answers, books nothing.
    expect((await w.settle('k1', items)).items).toEqual(first.items);
    expect(await w.balance(merchantAccountId('shop'))).toBe(MONEY_MAX - 200);
  });

  it('settles each item once, even when the batch is sent again', async () => {
    const p = await w.phoneWithCredential(20_000);
    const at = w.clock.nowMs();
    const items = [settleItem('o-1', w.offlineCode(p), 1_000, at), settleItem('o-2', w.offlineCode(p), 2_000, at)];
    w.clock.advance(3 * 3_600_000); // the uplink came back three hours later
    const first = await w.settle('k1', items);
    expect(first.items.map((i) => i.status)).toEqual(['settled', 'settled']);
    const again = await w.settle('k1', items);
    expect(again.items).toEqual(first.items);
    expect(await w.balance(shopperAccountId(p.walletId))).toBe(17_000);
    expect(await w.balance(merchantAccountId('shop'))).toBe(3_000);
  });

  it('judges the time window against the capture time, not the settlement time', async () => {
    const p = await w.phoneWithCredential(20_000);
    const at = w.clock.nowMs();
    const code = w.offlineCode(p);
    w.clock.advance(20 * 3_600_000);
    expect((await w.settle('k1', [settleItem('o-1', code, 1_000, at)])).items[0]).toMatchObject({ status: 'settled' });
    const late = w.offlineCode(p, { timestampMs: at });
    expect((await w.settle('k1', [settleItem('o-2', late, 1_000, at + w.config.offlineWindowMs + 1)])).items[0]).toMatchObject({
      status: 'declined',
      reason: 'TIME_OUT_OF_WINDOW',
    });
  });

  it('refuses capture times in the future', async () => {
    const p = await w.phoneWithCredential(20_000);
    const future = w.clock.nowMs() + w.config.offlineWindowMs + 60_000;
    const code = w.offlineCode(p, { timestampMs: future });
    expect((await w.settle('k1', [settleItem('o-1', code, 1_000, future)])).items[0]).toMatchObject({ reason: 'TIME_OUT_OF_WINDOW' });
  });

  it('declines online and numeric codes: they cannot be accepted offline', async () => {
    const p = await w.phoneWithCredential(20_000);
    const r = await w.settle('k1', [
      settleItem('o-1', await w.onlineCode(p), 100, w.clock.nowMs()),
      settleItem('o-2', w.numericCode(p), 100, w.clock.nowMs()),
    ]);
    expect(r.items.map((i) => i.reason)).toEqual(['OFFLINE_FORM_REQUIRED', 'OFFLINE_FORM_REQUIRED']);
  });

  it('declines what the kiosk should have refused: over the per-payment limit, bad signature', async () => {
    const p = await w.phoneWithCredential(20_000);
    const code = w.offlineCode(p);
    const tampered = tamperCode(code, 5);
    const r = await w.settle('k1', [
      settleItem('o-1', w.offlineCode(p), 5_001, w.clock.nowMs()),
      settleItem('o-2', tampered, 100, w.clock.nowMs()),
    ]);
    expect(r.items.map((x) => x.reason)).toEqual(['OFFLINE_LIMIT_PER_PAYMENT', 'SIGNATURE_INVALID']);
  });

  it('detects a code used at two kiosks, revokes the credential, and charges the shopper once', async () => {
    const p = await w.phoneWithCredential(20_000);
    const at = w.clock.nowMs();
    const code = w.offlineCode(p);
    const a = await w.settle('k1', [settleItem('a-1', code, 1_000, at)]);
    const b = await w.settle('k3', [settleItem('b-1', code, 1_000, at + 1_000)]);
    expect(a.items[0]!.status).toBe('settled');
    expect(b.items[0]).toMatchObject({ status: 'declined', reason: 'COUNTER_REUSED' });
    expect(w.revocations).toBe(1);
    const cred = await w.ctx.store.unit((tx) => tx.getCredential(p.credential!.credentialId));
    expect(cred?.revokeReason).toBe('double-spend');
    const c = await w.settle('k2', [settleItem('c-1', code, 1_000, at + 2_000)]);
    expect(c.items[0]).toMatchObject({ status: 'declined', reason: 'COUNTER_REUSED' });
    expect(w.revocations).toBe(1);
    expect(await w.balance(shopperAccountId(p.walletId))).toBe(19_000);
    const alerts = w.ctx.alerts.since(0);
    expect(alerts.map((x) => [x.kind, x.kioskId, x.walletId, x.amount?.value])).toEqual([
      ['offline-copy', 'k3', p.walletId, 1_000],
      ['credential-revoked', 'k3', p.walletId, 1_000],
      ['offline-copy', 'k2', p.walletId, 1_000],
    ]);
  });

  it('charges below zero and then refuses new offline credentials until settled', async () => {
    const p = await w.phoneWithCredential(5_000);
    const at = w.clock.nowMs();
    const code = w.offlineCode(p);
    await w.pay('k1', await w.onlineCode(p), 4_000); // spent online meanwhile
    expect((await w.settle('k1', [settleItem('o-1', code, 3_000, at)])).items[0]!.status).toBe('settled');
    expect(await w.balance(shopperAccountId(p.walletId))).toBe(-2_000);
    const info = await walletInfo(w.ctx, p.walletId);
    expect(info.offlineEligible).toBe(false);
    await expect(issueCredential(w.ctx, p.walletId, new Uint8Array(32))).rejects.toMatchObject({ code: 'OFFLINE_NOT_ELIGIBLE' });
    const totals = await w.totals();
    expect(totals.get('JPY')).toBe(0);
  });

  it('honours a revocation the kiosk could know about, not one it could not', async () => {
    const p = await w.phoneWithCredential(20_000);
    const revokedAt = w.clock.nowMs();
    await w.ctx.store.unit((tx) => tx.revokeCredential(p.credential!.credentialId, revokedAt, 'lost phone'));
    const soon = revokedAt + 60_000;
    const code1 = w.offlineCode(p, { timestampMs: soon });
    expect((await w.settle('k1', [settleItem('o-1', code1, 100, soon)])).items[0]!.status).toBe('settled');
    const later = revokedAt + w.config.revocationMaxAgeMs + 60_000;
    w.clock.advance(w.config.revocationMaxAgeMs + 120_000);
    const code2 = w.offlineCode(p, { timestampMs: later });
    expect((await w.settle('k1', [settleItem('o-2', code2, 100, later)])).items[0]).toMatchObject({
      status: 'declined',
      reason: 'CREDENTIAL_REVOKED',
    });
  });

  it('reports a txId reused with other content as a conflict', async () => {
    const p = await w.phoneWithCredential(20_000);
    const at = w.clock.nowMs();
    await w.settle('k1', [settleItem('o-1', w.offlineCode(p), 100, at)]);
    expect((await w.settle('k1', [settleItem('o-1', w.offlineCode(p), 100, at)])).items[0]).toMatchObject({ reason: 'TX_CONFLICT' });
  });
});

describe('an offline code settles at most once (dishonest kiosks, copied codes)', () => {
  it('charges once when a kiosk puts the same code twice in one batch', async () => {
    const p = await w.phoneWithCredential(20_000);
    const at = w.clock.nowMs();
    const code = w.offlineCode(p);
    const r = await w.settle('k1', [settleItem('o-1', code, 1_000, at), settleItem('o-2', code, 1_000, at + 10)]);
    expect(r.items.map((i) => [i.status, i.reason])).toEqual([
      ['settled', undefined],
      ['declined', 'COUNTER_REUSED'],
    ]);
    expect(await w.balance(shopperAccountId(p.walletId))).toBe(19_000);
    expect(w.revocations).toBe(0); // the shopper showed it once: a kiosk's duplicate is no reason to revoke
    expect((await w.totals()).get('JPY')).toBe(0);
  });

  it('charges a copy to the kiosk that took it later, not to the shopper or their limits', async () => {
    const p = await w.phoneWithCredential(20_000);
    const at = w.clock.nowMs();
    const code = w.offlineCode(p);
    const next = w.offlineCode(p, { timestampMs: at + 60_000 });
    expect((await w.settle('k1', [settleItem('a-1', code, 1_000, at)])).items[0]!.status).toBe('settled');
    expect((await w.settle('k3', [settleItem('b-1', code, 1_000, at + 30_000)])).items[0]).toMatchObject({
      status: 'declined',
      reason: 'COUNTER_REUSED',
    });
    expect(w.revocations).toBe(1);
    // The shopper's next honest code (daily count 2) still settles: the copy used none of it.
    expect((await w.settle('k2', [settleItem('a-2', next, 1_000, at + 60_000)])).items[0]!.status).toBe('settled');
    expect(await w.balance(shopperAccountId(p.walletId))).toBe(18_000);
    expect(await w.balance(merchantAccountId('other'))).toBe(0);
  });

  it('judges by capture time: the original arriving after its copy settles, and the copy is reversed', async () => {
    const p = await w.phoneWithCredential(20_000);
    const at = w.clock.nowMs();
    const code = w.offlineCode(p);
    // The copy (taken later at k3) reaches the server first.
    const copy = await w.settle('k3', [settleItem('b-1', code, 1_500, at + 30_000)]);
    expect(copy.items[0]!.status).toBe('settled');
    const orig = await w.settle('k1', [settleItem('a-1', code, 1_000, at)]);
    expect(orig.items[0]!.status).toBe('settled');
    expect(await w.balance(shopperAccountId(p.walletId))).toBe(19_000);
    expect(await w.balance(merchantAccountId('other'))).toBe(0);
    expect(await w.balance(merchantAccountId('shop'))).toBe(1_000);
    // The copy's record now says what became of it; a resent batch reads the same.
    expect((await w.settle('k3', [settleItem('b-1', code, 1_500, at + 30_000)])).items[0]).toMatchObject({
      status: 'declined',
      reason: 'COUNTER_REUSED',
    });
    expect((await w.totals()).get('JPY')).toBe(0);
  });

  it('caps what a kiosk may claim at the amount the shopper signed into the code', async () => {
    const p = await w.phoneWithCredential(20_000);
    const at = w.clock.nowMs();
    const capped = w.offlineCode(p, { amountCap: 300 });
    expect(capped).toMatch(/^33[0-9]{507}$/); // version 3, what wallets make
    const r = await w.settle('k1', [
      settleItem('o-1', capped, 4_800, at),
      settleItem('o-2', w.offlineCode(p, { amountCap: 300 }), 300, at),
    ]);
    expect(r.items.map((x) => [x.status, x.reason])).toEqual([
      ['declined', 'OFFLINE_LIMIT_PER_PAYMENT'],
      ['settled', undefined],
    ]);
    // Online the cap holds too, and in a version-2 code ("KP2.", older wallets) as well.
    expect((await w.pay('k2', w.offlineCode(p, { amountCap: 300 }), 301)).reason).toBe('OFFLINE_LIMIT_PER_PAYMENT');
    const older = w.offlineCode(p, { amountCap: 300, version: 2 });
    expect(older.startsWith('KP2.')).toBe(true);
    expect((await w.pay('k2', older, 301)).reason).toBe('OFFLINE_LIMIT_PER_PAYMENT');
    expect(await w.balance(shopperAccountId(p.walletId))).toBe(19_700);
  });

  it('leaves a settled copy alone when the earlier capture is itself invalid', async () => {
    const p = await w.phoneWithCredential(20_000);
    const at = w.clock.nowMs();
    const code = w.offlineCode(p);
    expect((await w.settle('k3', [settleItem('b-1', code, 1_000, at + 30_000)])).items[0]!.status).toBe('settled');
    // An "earlier" claim over the per-payment limit is declined for that and does not displace the copy.
    expect((await w.settle('k1', [settleItem('a-1', code, 5_001, at)])).items[0]).toMatchObject({
      status: 'declined',
      reason: 'OFFLINE_LIMIT_PER_PAYMENT',
    });
    expect(await w.balance(merchantAccountId('other'))).toBe(1_000);
    expect(await w.balance(shopperAccountId(p.walletId))).toBe(19_000);
  });
});
