// SPDX-License-Identifier: Apache-2.0
// What sold, where and when: the sales report, transaction search and audit log against the real
// payment domain (SQLite, or PostgreSQL with KP_WORLD_DATABASE_URL), with sale lines sent by kiosks,
// product names from the demo catalog, refunds and a void, local days in Asia/Tokyo, and the CSV
// of each view read back.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SaleLine } from '../../shared/kiosk-messages.ts';
import { DEMO_CATALOG } from '../catalog/demo-catalog.ts';
import { operatorRefund } from '../domain/refunds.ts';
import { makeWorld, type TestPhone, type World } from '../testing/world.ts';
import { TimeZone } from '../../shared/time-zone.ts';
import {
  auditLog,
  parseMajor,
  parseSalesQuery,
  parseTransactionQuery,
  salesReport,
  searchTransactions,
  type ReportContext,
} from './reports.ts';

const HOUR = 3_600_000;
const TEA = '4901000000013',
  WATER = '4901000000020',
  COFFEE = '4901000000037',
  CHIPS = '4901000000112';
const yen = (value: number) => ({ value, currency: 'JPY' as const });

let w: World;
let rc: ReportContext;
let n = 0;
beforeEach(async () => {
  n = 0;
  w = await makeWorld();
  rc = {
    store: w.ctx.store,
    tz: TimeZone.parse('Asia/Tokyo'),
    clock: w.clock,
    currency: 'JPY',
    catalog: () => DEMO_CATALOG,
    kioskIds: ['k1', 'k2', 'k3'],
  };
});
afterEach(async () => {
  await w.close();
});

async function sell(kioskId: string, phone: TestPhone, value: number, lines?: SaleLine[]) {
  const r = await w.send(kioskId, {
    v: 1,
    type: 'pay',
    id: `c-${++n}`,
    txId: `sale-${n}`,
    code: await w.onlineCode(phone),
    amount: yen(value),
    ...(lines ? { lines } : {}),
  });
  if (r.type !== 'pay.result') throw new Error(JSON.stringify(r));
  w.clock.advance(60_000);
  return r;
}
const sales = (q: Record<string, string>) => salesReport(rc, parseSalesQuery(new URLSearchParams(q), rc));
const search = (q: Record<string, string>) => searchTransactions(rc, parseTransactionQuery(new URLSearchParams(q), rc));

/** Two days of sales from 2026-11-28 21:00 (Tokyo), a minute apart, a refund and a void. */
async function twoDays() {
  const a = await w.phone(20_000);
  await w.credential(a);
  const tea = await sell('k1', a, 300, [{ gtin: TEA, slot: 1, qty: 2, unitPrice: yen(150) }]);
  await sell('k2', a, 130, [{ slot: 3, qty: 1, unitPrice: yen(130) }]);
  const plain = await sell('k1', a, 500);
  // Lines that do not add up: the payment is recorded, the lines are not.
  const odd = await sell('k1', a, 999, [{ gtin: TEA, qty: 1, unitPrice: yen(150) }]);
  expect(odd.status).toBe('approved');
  const broke = await w.phone(0);
  expect((await sell('k1', broke, 150, [{ gtin: TEA, qty: 1, unitPrice: yen(150) }])).reason).toBe('INSUFFICIENT_FUNDS');
  w.clock.advance(24 * HOUR); // 2026-11-29 21:05
  await sell('k2', a, 320, [
    { gtin: CHIPS, qty: 1, unitPrice: yen(210) },
    { slot: 2, qty: 1, unitPrice: yen(110) },
  ]);
  w.clock.advance(2 * HOUR + 50 * 60_000); // 23:56: k1 stores an offline payment, forwarded at 00:16 next day
  const capturedAt = w.clock.nowMs();
  const item = {
    txId: 'stored-1',
    code: w.offlineCode(a),
    amount: yen(150),
    capturedAt,
    lines: [{ gtin: TEA, slot: 1, qty: 1, unitPrice: yen(150) }],
  };
  w.clock.advance(20 * 60_000);
  expect((await w.settle('k1', [item])).items[0]?.status).toBe('settled');
  await operatorRefund(w.ctx, {
    paymentId: tea.paymentId!,
    action: 'refund',
    amount: 100,
    reason: 'one bottle leaked',
    operator: 'alice',
    requestKey: 'report-refund-0001',
  });
  await operatorRefund(w.ctx, {
    paymentId: plain.paymentId!,
    action: 'void',
    amount: null,
    reason: 'charged twice',
    operator: 'bob',
    requestKey: 'report-void-000001',
  });
  return { a, tea, plain, odd };
}

describe('the sales report', () => {
  it('sums a range of local days: per day, per kiosk (every configured kiosk) and per product named from the catalog', async () => {
    await twoDays();
    const r = await sales({ from: '2026-11-28', to: '2026-11-30' });
    expect([r.timeZone, r.timeZoneLabel, r.startsAt, r.endsAt]).toEqual([
      'Asia/Tokyo',
      'Asia/Tokyo (UTC+09:00)',
      '2026-11-28T00:00:00+09:00',
      '2026-12-01T00:00:00+09:00',
    ]);
    expect(r.totals).toEqual([
      {
        currency: 'JPY',
        payments: 5,
        units: 6,
        amount: { ...yen(1_899), text: '¥1,899' },
        refunded: { ...yen(100), text: '¥100' },
        net: { ...yen(1_799), text: '¥1,799' },
      },
    ]);
    expect(r.byDay.map((d) => [d.date, d.startsAt, d.payments, d.amount.value, d.refunded?.value])).toEqual([
      ['2026-11-28', '2026-11-28T00:00:00+09:00', 3, 1_429, 100],
      ['2026-11-29', '2026-11-29T00:00:00+09:00', 2, 470, 0],
      ['2026-11-30', '2026-11-30T00:00:00+09:00', 0, 0, 0],
    ]);
    expect(r.byHour).toEqual([]);
    expect(r.byKiosk.map((k) => [k.kioskId, k.payments, k.units, k.amount.value, k.refunded?.value, k.net?.value])).toEqual([
      ['k1', 3, 3, 1_449, 100, 1_349],
      ['k2', 2, 3, 450, 0, 450],
      ['k3', 0, 0, 0, 0, 0],
    ]);
    expect(r.byProduct.map((p) => [p.key, p.label, p.payments, p.units, p.amount.value])).toEqual([
      ['none', 'Not itemised (the kiosk sent no lines)', 1, 0, 999],
      [`gtin:${TEA}`, `Green tea 500ml (${TEA})`, 2, 3, 450],
      [`gtin:${CHIPS}`, `Potato chips (${CHIPS})`, 1, 1, 210],
      [`gtin:${COFFEE}`, `Canned coffee 185g (${COFFEE})`, 1, 1, 130],
      [`gtin:${WATER}`, `Mineral water 500ml (${WATER})`, 1, 1, 110],
    ]);
  });

  it('groups the product table by vending slot on request', async () => {
    await twoDays();
    const r = await sales({ from: '2026-11-28', to: '2026-11-30', group: 'slot' });
    expect(r.byProduct.map((p) => [p.key, p.label, p.amount.value])).toEqual([
      ['none', 'Not itemised (the kiosk sent no lines)', 999],
      ['slot:1', 'Slot 1: Green tea 500ml', 450],
      [`gtin:${CHIPS}`, `Potato chips (${CHIPS})`, 210],
      ['slot:3', 'Slot 3: Canned coffee 185g', 130],
      ['slot:2', 'Slot 2: Mineral water 500ml', 110],
    ]);
  });

  it('narrows to one product, one slot or one kiosk; with a product, refunds are not apportioned', async () => {
    await twoDays();
    const tea = await sales({ from: '2026-11-28', to: '2026-11-30', product: `gtin:${TEA}` });
    expect(tea.product).toEqual({ value: `gtin:${TEA}`, label: `Green tea 500ml (${TEA})` });
    expect(tea.totals).toEqual([
      { currency: 'JPY', payments: 2, units: 3, amount: { ...yen(450), text: '¥450' }, refunded: null, net: null },
    ]);
    expect(tea.byDay.map((d) => d.amount.value)).toEqual([300, 150, 0]);
    expect(tea.byKiosk.map((k) => [k.kioskId, k.amount.value])).toEqual([
      ['k1', 450],
      ['k2', 0],
      ['k3', 0],
    ]);
    const slot3 = await sales({ from: '2026-11-28', to: '2026-11-29', product: 'slot:3' });
    expect(slot3.byKiosk.filter((k) => k.payments > 0).map((k) => [k.kioskId, k.amount.value])).toEqual([['k2', 130]]);
    const k2 = await sales({ from: '2026-11-28', to: '2026-11-30', kiosk: 'k2' });
    expect(k2.byKiosk.map((k) => [k.kioskId, k.amount.value])).toEqual([['k2', 450]]);
    expect(k2.totals[0]?.amount.value).toBe(450);
  });

  it("finds a product's sales by slot or by GTIN whichever way the kiosk named it: vending by slot, self-checkout by scan", async () => {
    await twoDays(); // k2 sold coffee from slot 3, naming the slot alone
    const b = await w.phone(1_000);
    await sell('k3', b, 260, [{ gtin: COFFEE, qty: 2, unitPrice: yen(130) }]); // a self-checkout scanned it twice, on the 30th
    const range = { from: '2026-11-28', to: '2026-11-30' };
    const sold = (r: Awaited<ReturnType<typeof sales>>) =>
      r.byKiosk.filter((k) => k.payments > 0).map((k) => [k.kioskId, k.units, k.amount.value]);
    const bySlot = await sales({ ...range, product: 'slot:3' });
    const byGtin = await sales({ ...range, product: `gtin:${COFFEE}` });
    for (const r of [bySlot, byGtin]) {
      expect(sold(r)).toEqual([
        ['k2', 1, 130],
        ['k3', 2, 260],
      ]);
      expect(r.totals[0]).toMatchObject({ payments: 2, units: 3, amount: { value: 390 } });
    }
    // The same figures as the product's row of the unfiltered tables, by slot and by product.
    const all = await sales({ ...range, group: 'slot' });
    expect(all.byProduct.find((p) => p.key === 'slot:3')).toMatchObject({ payments: 2, units: 3, amount: { value: 390 } });
    expect((await sales(range)).byProduct.find((p) => p.key === `gtin:${COFFEE}`)).toMatchObject({ units: 3, amount: { value: 390 } });
    // Slot 1's green tea is not taken by the slot 3 filter, though k1's scans name no slot.
    expect(bySlot.byProduct.map((p) => p.key)).toEqual([`gtin:${COFFEE}`]);
  });

  it('shows one day per local hour, by default today', async () => {
    await twoDays();
    w.clock.advance(-(3 * HOUR + 10 * 60_000)); // back to 2026-11-29 21:06, "today"
    const r = await sales({});
    expect([r.from, r.to]).toEqual(['2026-11-29', '2026-11-29']);
    expect(r.byHour).toHaveLength(24);
    expect(r.byHour.filter((h) => h.amount.value > 0).map((h) => [h.hour, h.startsAt, h.amount.value])).toEqual([
      ['21:00', '2026-11-29T21:00:00+09:00', 320],
      ['23:00', '2026-11-29T23:00:00+09:00', 150],
    ]);
  });

  it('exports each table as CSV with the same rows, ISO 8601 times with offset and integer minor units', async () => {
    await twoDays();
    const r = await sales({ from: '2026-11-28', to: '2026-11-29' });
    expect(r.csv.byDay.filename).toBe('sales-2026-11-28-to-2026-11-29-by-day.csv');
    expect(r.csv.byDay.text).toBe(
      [
        'date,starts_at,currency,payments,units,amount_minor_units,refunded_minor_units,net_minor_units',
        '2026-11-28,2026-11-28T00:00:00+09:00,JPY,3,3,1429,100,1329',
        '2026-11-29,2026-11-29T00:00:00+09:00,JPY,2,3,470,0,470',
        '',
      ].join('\r\n'),
    );
    expect(r.csv.byKiosk.text.split('\r\n')[1]).toBe('k1,2026-11-28T00:00:00+09:00,2026-11-30T00:00:00+09:00,JPY,3,3,1449,100,1349');
    expect(r.csv.byProduct.text.split('\r\n').slice(0, 3)).toEqual([
      'product,gtin,slot,from,to,currency,payments,units,amount_minor_units',
      'Not itemised (the kiosk sent no lines),,,2026-11-28T00:00:00+09:00,2026-11-30T00:00:00+09:00,JPY,1,0,999',
      `Green tea 500ml (${TEA}),${TEA},,2026-11-28T00:00:00+09:00,2026-11-30T00:00:00+09:00,JPY,2,3,450`,
    ]);
  });

  it('refuses a malformed or too long range, an unknown grouping and a malformed product, naming the parameter', () => {
    const bad = (q: Record<string, string>) => {
      try {
        parseSalesQuery(new URLSearchParams(q), rc);
        return 'accepted';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(bad({ from: '2026-13-01' })).toMatch(/^from must be a date like 2026-11-28/);
    expect(bad({ from: '2026-11-29', to: '2026-11-28' })).toMatch(/after to/);
    expect(bad({ from: '2025-01-01', to: '2026-11-28' })).toMatch(/at most 366 days/);
    expect(bad({ group: 'colour' })).toMatch(/group must be/);
    expect(bad({ product: 'gtin:4901000000014' })).toMatch(/product must be/);
    expect(bad({ product: 'slot:0' })).toMatch(/product must be/);
  });
});

describe('the transaction search', () => {
  it('finds sales by id, kiosk, wallet id or numeric handle, and amount, newest first, with lines, refunds and decline sentences', async () => {
    const { a, tea, plain, odd } = await twoDays();
    const all = await search({ from: '2026-11-28', to: '2026-11-30' });
    expect(all.items.map((t) => t.txId)).toEqual(['stored-1', 'sale-6', 'sale-5', 'sale-4', 'sale-3', 'sale-2', 'sale-1']);
    const t = all.items.find((x) => x.paymentId === tea.paymentId)!;
    expect(t).toMatchObject({
      kioskId: 'k1',
      at: '2026-11-28T21:00:00+09:00',
      status: 'approved',
      products: '2 × Green tea 500ml (slot 1)',
      refunded: { value: 100 },
      refundable: { value: 200 },
    });
    expect(all.items.find((x) => x.paymentId === plain.paymentId)).toMatchObject({
      status: 'voided',
      reason: 'TX_VOIDED',
      refundable: { value: 0 },
    });
    expect(all.items.find((x) => x.txId === 'sale-5')).toMatchObject({
      status: 'declined',
      reason: 'INSUFFICIENT_FUNDS',
      reasonText: 'The shopper balance does not cover the amount.',
      products: '1 × Green tea 500ml',
    });
    expect((await search({ from: '2026-11-28', q: 'sale-2' })).items.map((x) => x.txId)).toEqual(['sale-2']);
    expect((await search({ from: '2026-11-28', q: odd.paymentId! })).items.map((x) => x.txId)).toEqual(['sale-4']);
    expect((await search({ from: '2026-11-28', kiosk: 'k2' })).items.map((x) => x.txId)).toEqual(['sale-6', 'sale-2']);
    expect((await search({ from: '2026-11-28', amount: '999' })).items.map((x) => x.txId)).toEqual(['sale-4']);
    expect((await search({ from: '2026-11-28', wallet: a.walletId })).items).toHaveLength(6);
    const handle = a.credential!.numeric.handle;
    expect((await search({ from: '2026-11-28', wallet: `${handle.slice(0, 4)} ${handle.slice(4)}` })).items).toHaveLength(6);
    expect((await search({ from: '2026-11-28', wallet: '00000000' })).items).toEqual([]);
    expect((await search({ from: '2026-11-29', to: '2026-11-29' })).items.map((x) => x.txId)).toEqual(['stored-1', 'sale-6']);
  });

  it('exports the rows found as CSV, and reads amounts in major units', async () => {
    await twoDays();
    const r = await search({ from: '2026-11-28', to: '2026-11-28', kiosk: 'k2' });
    expect(r.csv.text.split('\r\n')).toEqual([
      'at,kiosk,tx_id,payment_id,kind,status,reason_code,reason,currency,amount_minor_units,refunded_minor_units,wallet_id,products',
      `2026-11-28T21:01:00+09:00,k2,sale-2,${r.items[0]!.paymentId},online,approved,,,JPY,130,0,${r.items[0]!.walletId},1 × Canned coffee 185g (slot 3)`,
      '',
    ]);
    expect(parseMajor('1,200', 'JPY')).toBe(1_200);
    expect(parseMajor('12.3', 'USD')).toBe(1_230);
    expect(() => parseMajor('12.5', 'JPY')).toThrow(/at most 0 decimals/);
    expect(() => parseTransactionQuery(new URLSearchParams({ wallet: 'alice' }), rc)).toThrow(/wallet must be/);
  });
});

describe('the audit log', () => {
  it('lists refunds, voids and Help requests handled, with who did them, newest first, and exports them', async () => {
    const { tea, plain } = await twoDays();
    w.clock.advance(60_000);
    const handledAt = w.clock.nowMs();
    await w.ctx.store.unit((tx) =>
      tx.insertHelpHandled({ id: 'help_1', at: handledAt, operator: 'carol', kioskId: 'k2', requestedAt: handledAt - 90_000, presses: 2 }),
    );
    const r = await auditLog(rc, new URLSearchParams({ from: '2026-11-28', to: '2026-11-30' }));
    const rows = r.items.map((a) => [a.operator, a.action, a.paymentId, a.kioskId, a.amount?.value ?? null, a.reason]);
    expect(rows[0]).toEqual(['carol', 'help-handled', null, 'k2', null, '']);
    // The refund and the void were made in the same millisecond: their order is by id.
    expect(rows.slice(1)).toEqual(
      expect.arrayContaining([
        ['alice', 'refund', tea.paymentId, null, 100, 'one bottle leaked'],
        ['bob', 'void', plain.paymentId, null, 500, 'charged twice'],
      ]),
    );
    expect(rows).toHaveLength(3);
    expect(r.items[0]).toMatchObject({ at: '2026-11-30T00:17:00+09:00', help: { requestedAt: '2026-11-30T00:15:30+09:00', presses: 2 } });
    expect(r.items[1]!.at).toBe('2026-11-30T00:16:00+09:00');
    const csv = r.csv.text.split('\r\n');
    expect(r.csv.filename).toBe('audit-2026-11-28-to-2026-11-30.csv');
    expect(csv[0]).toBe('at,operator,action,payment_id,kiosk,currency,amount_minor_units,reason,help_requested_at,presses');
    expect(csv[1]).toBe('2026-11-30T00:17:00+09:00,carol,help-handled,,k2,,,,2026-11-30T00:15:30+09:00,2');
    expect(r.csv.text).toContain(',bob,void,');
  });
});
