// SPDX-License-Identifier: Apache-2.0
// Today's ledger for the operator, against a real SQLite store filled through the real payment
// domain (online codes, offline codes paid online, stored offline payments settled later, a void).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { operatorRefund } from '../domain/refunds.ts';
import { makeWorld, type World } from '../testing/world.ts';
import { TimeZone } from '../../shared/time-zone.ts';
import { ledgerSummary } from './sales-queries.ts';

const JST = TimeZone.parse('Asia/Tokyo');
const HOUR = 3_600_000;
let w: World;
beforeEach(async () => {
  w = await makeWorld();
});
afterEach(async () => {
  await w.close();
});

const summary = () => ledgerSummary(w.ctx.store, w.clock, JST);

/** T0 is 21:00 on 2026-11-28 in +09:00. */
async function aDayOfSales() {
  const a = await w.phone(20_000);
  await w.credential(a);
  const broke = await w.phone(0);
  expect((await w.pay('k1', await w.onlineCode(a), 1_000)).status).toBe('approved');
  expect((await w.pay('k2', await w.onlineCode(a), 500)).status).toBe('approved');
  expect((await w.pay('k1', w.offlineCode(a), 300)).status).toBe('approved');
  expect((await w.pay('k1', await w.onlineCode(broke), 100)).reason).toBe('INSUFFICIENT_FUNDS');
  // An offline code refused at the till is a decline, not a stored payment.
  expect((await w.pay('k1', w.offlineCode(a), 6_000)).reason).toBe('OFFLINE_LIMIT_PER_PAYMENT');
  w.clock.advance(HOUR); // 22:00
  expect((await w.pay('k1', await w.onlineCode(a), 200)).status).toBe('approved');
  expect((await w.pay('k1', await w.onlineCode(a), 400, 'tx-voided')).status).toBe('approved');
  expect((await w.send('k1', { v: 1, type: 'void', id: 'c-void', txId: 'tx-voided' })).type).toBe('pay.result');
  // k2 stores two offline payments while its uplink is down and forwards them ten minutes later.
  const capturedAt = w.clock.nowMs();
  const items = [
    { txId: 's-1', code: w.offlineCode(a), amount: { value: 700, currency: 'JPY' as const }, capturedAt },
    { txId: 's-2', code: w.offlineCode(a), amount: { value: 6_000, currency: 'JPY' as const }, capturedAt },
  ];
  w.clock.advance(10 * 60_000); // 22:10
  expect((await w.settle('k2', items)).items.map((i) => i.status)).toEqual(['settled', 'declined']);
  return { capturedAt };
}

describe("today's ledger for the operator", () => {
  it('sums approved sales per kiosk (online and offline) and per local hour, leaving out declines and voids', async () => {
    await aDayOfSales();
    const s = await summary();
    expect(s.day).toBe('2026-11-28');
    expect([s.from, s.to, s.timeZone]).toEqual(['2026-11-28T00:00:00+09:00', '2026-11-29T00:00:00+09:00', 'Asia/Tokyo (UTC+09:00)']);
    expect(s.totals).toEqual([{ currency: 'JPY', count: 5, amount: { value: 2_700, currency: 'JPY', text: '¥2,700' } }]);
    expect(s.perKiosk.map((k) => [k.kioskId, k.count, k.amount.value, k.offlineCount, k.offlineAmount.value])).toEqual([
      ['k1', 3, 1_500, 1, 300],
      ['k2', 2, 1_200, 1, 700],
    ]);
    const jpy = s.perHour.find((h) => h.currency === 'JPY')!;
    expect(jpy.hours).toHaveLength(24);
    expect(jpy.hours.filter((h) => h.count > 0).map((h) => [h.hour, h.count, h.amount.value])).toEqual([
      [21, 3, 1_800],
      [22, 2, 900],
    ]);
  });

  it('counts declines by reason, at the till and at settlement', async () => {
    await aDayOfSales();
    expect((await summary()).declines).toEqual([
      { reason: 'OFFLINE_LIMIT_PER_PAYMENT', count: 2 },
      { reason: 'INSUFFICIENT_FUNDS', count: 1 },
    ]);
  });

  it('lists the stored offline payments received today with their settlement state', async () => {
    const { capturedAt } = await aDayOfSales();
    const stored = (await summary()).stored;
    expect(stored.settled).toEqual([{ currency: 'JPY', count: 1, amount: { value: 700, currency: 'JPY', text: '¥700' } }]);
    expect(stored.declined).toEqual([{ reason: 'OFFLINE_LIMIT_PER_PAYMENT', count: 1 }]);
    expect(stored.items.map((i) => [i.txId, i.kioskId, i.state, i.reason, i.amount.value, i.capturedAt, i.receivedAt]).sort()).toEqual([
      ['s-1', 'k2', 'settled', null, 700, JST.iso(capturedAt), '2026-11-28T22:10:00+09:00'],
      ['s-2', 'k2', 'declined', 'OFFLINE_LIMIT_PER_PAYMENT', 6_000, JST.iso(capturedAt), '2026-11-28T22:10:00+09:00'],
    ]);
    expect(stored.truncated).toBe(false);
  });

  it("totals today's operator refunds and voids", async () => {
    const a = await w.phone(5_000);
    const p1 = await w.pay('k1', await w.onlineCode(a), 1_000);
    const p2 = await w.pay('k2', await w.onlineCode(a), 500);
    await operatorRefund(w.ctx, {
      paymentId: p1.paymentId!,
      action: 'refund',
      amount: 300,
      reason: 'one can was dented',
      operator: 'alice',
      requestKey: 'refund-key-000001',
    });
    await operatorRefund(w.ctx, {
      paymentId: p2.paymentId!,
      action: 'void',
      amount: null,
      reason: 'nothing dispensed',
      operator: 'alice',
      requestKey: 'refund-key-000002',
    });
    const s = await summary();
    expect(s.refunds).toEqual([{ currency: 'JPY', count: 2, amount: { value: 800, currency: 'JPY', text: '¥800' } }]);
    expect(s.totals).toEqual([{ currency: 'JPY', count: 1, amount: { value: 1_000, currency: 'JPY', text: '¥1,000' } }]);
  });

  it('has 23 or 25 hours on the days daylight saving starts or ends', async () => {
    const ny = TimeZone.parse('America/New_York');
    const to = (ms: number) => w.clock.advance(ms - w.clock.nowMs());
    const a = await w.phone(5_000);
    to(Date.UTC(2027, 2, 14, 16)); // noon on 2027-03-14 in New York, a 23-hour day
    expect((await ledgerSummary(w.ctx.store, w.clock, ny)).perHour).toEqual([]);
    await w.pay('k1', await w.onlineCode(a), 300);
    expect((await ledgerSummary(w.ctx.store, w.clock, ny)).perHour[0]!.hours.map((h) => h.hour)).toEqual([
      0,
      1,
      ...Array.from({ length: 21 }, (_, i) => i + 3),
    ]);
    to(ny.startOfDay('2027-11-07') + 90 * 60_000); // the first 01:30 of a 25-hour day
    await w.pay('k1', await w.onlineCode(a), 100);
    w.clock.advance(3_600_000); // the second 01:30
    await w.pay('k1', await w.onlineCode(a), 200);
    const s = await ledgerSummary(w.ctx.store, w.clock, ny);
    const hours = s.perHour[0]!.hours;
    expect(hours.map((h) => h.hour).slice(0, 4)).toEqual([0, 1, 1, 2]);
    expect(hours).toHaveLength(25);
    expect(hours.filter((h) => h.count > 0).map((h) => [h.hour, h.amount.value])).toEqual([
      [1, 100],
      [1, 200],
    ]);
    expect(s.from).toBe('2027-11-07T00:00:00-04:00');
    expect(s.to).toBe('2027-11-08T00:00:00-05:00');
  });

  it('starts a new day at local midnight', async () => {
    await aDayOfSales();
    w.clock.advance(2 * HOUR); // 00:10 on 2026-11-29
    const s = await summary();
    expect(s.day).toBe('2026-11-29');
    expect(s.totals).toEqual([]);
    expect(s.perKiosk).toEqual([]);
    expect(s.perHour).toEqual([]);
    expect(s.declines).toEqual([]);
    expect(s.stored.items).toEqual([]);
  });

  it('counts a stored payment captured before midnight on its capture day, and lists it on the day it arrived', async () => {
    const a = await w.phone(20_000);
    await w.credential(a);
    w.clock.advance(2 * HOUR + 50 * 60_000); // 23:50
    const capturedAt = w.clock.nowMs();
    const item = { txId: 'late-1', code: w.offlineCode(a), amount: { value: 900, currency: 'JPY' as const }, capturedAt };
    w.clock.advance(20 * 60_000); // 00:10 next day
    expect((await w.settle('k1', [item])).items[0]?.status).toBe('settled');
    const today = await summary();
    expect(today.totals).toEqual([]);
    expect(today.stored.items.map((i) => i.txId)).toEqual(['late-1']);
  });
});
