// SPDX-License-Identifier: Apache-2.0
// What the ledger tells the operator about today (the local day in the deployment's time zone,
// config `timeZone`): approved sales per kiosk and per local hour (online and offline, integer minor
// units per currency, counted at the payment's ledger time: decision time online, capture time for a
// stored payment), declines by reason, the stored offline payments kiosks forwarded today with their
// settlement state, and the operators' refunds and voids today. Read-only: every query goes through
// the Store port. Times leave as ISO 8601 with the local offset.
import type { Clock } from '../../shared/clock.ts';
import type { Currency } from '../../shared/money.ts';
import type { Store } from '../ports/store.ts';
import { HOUR_MS, TimeZone } from '../../shared/time-zone.ts';
import { moneyView as m, type MoneyView } from './present.ts';

export const SALES_QUERY_DEFAULTS = Object.freeze({
  /** A declined offline-QR payment counts as stored when its capture precedes its receipt by this much. */
  storedCaptureLeadMs: 1_000,
  /** Stored payments read for today's totals at most; past this the totals say `truncated`. */
  storedReadMax: 2_000,
  /** Stored payments listed one by one, newest first. */
  storedListMax: 50,
  /** Operator refunds and voids read for today's total at most. */
  actionsReadMax: 2_000,
});

export type { MoneyView };

export interface KioskSales {
  kioskId: string;
  currency: Currency;
  count: number;
  amount: MoneyView;
  offlineCount: number;
  offlineAmount: MoneyView;
}
/** One hour of the local day: `hour` as the clock shows it (0-23; a day of 23 or 25 hours repeats or skips one). */
export interface HourSales {
  hour: number;
  count: number;
  amount: MoneyView;
}
export interface StoredPaymentView {
  paymentId: string;
  kioskId: string;
  txId: string;
  amount: MoneyView;
  capturedAt: string;
  receivedAt: string;
  state: 'settled' | 'declined';
  reason: string | null;
  replay: boolean;
}

export interface LedgerSummary {
  /** Local date of the day covered, e.g. 2026-11-28, and its bounds (ISO 8601 with offset; `to` is the next day's start). */
  day: string;
  from: string;
  to: string;
  /** The zone, e.g. Asia/Tokyo (UTC+09:00). */
  timeZone: string;
  totals: Array<{ currency: Currency; count: number; amount: MoneyView }>;
  perKiosk: KioskSales[];
  /** Per currency, every hour of the local day (zero where nothing sold). */
  perHour: Array<{ currency: Currency; hours: HourSales[] }>;
  declines: Array<{ reason: string; count: number }>;
  /** Operators' refunds and voids today, per currency (what was given back). */
  refunds: Array<{ currency: Currency; count: number; amount: MoneyView }>;
  stored: {
    settled: Array<{ currency: Currency; count: number; amount: MoneyView }>;
    declined: Array<{ reason: string; count: number }>;
    items: StoredPaymentView[];
    truncated: boolean;
  };
}

export async function ledgerSummary(store: Store, clock: Clock, tz: TimeZone): Promise<LedgerSummary> {
  const now = clock.nowMs();
  const day = tz.localDate(now);
  const fromMs = tz.startOfDay(day);
  const toMs = tz.startOfDay(TimeZone.nextDate(day));
  const hoursInDay = Math.round((toMs - fromMs) / HOUR_MS);
  const d = SALES_QUERY_DEFAULTS;
  const [buckets, declineRows, storedRows, actions] = await store.unit(async (tx) =>
    Promise.all([
      tx.salesBuckets(fromMs, toMs, HOUR_MS),
      tx.declineCounts(fromMs, toMs),
      tx.listStoredPayments(fromMs, d.storedCaptureLeadMs, d.storedReadMax),
      tx.listOpsActions({ fromMs, toMs, paymentId: null }, d.actionsReadMax),
    ]),
  );

  const kiosks = new Map<
    string,
    { kioskId: string; currency: Currency; count: number; amount: number; offlineCount: number; offlineAmount: number }
  >();
  const hours = new Map<Currency, Array<{ count: number; amount: number }>>();
  const totals = new Map<Currency, { count: number; amount: number }>();
  for (const b of buckets) {
    const key = `${b.kioskId}\n${b.currency}`;
    const k = kiosks.get(key) ?? { kioskId: b.kioskId, currency: b.currency, count: 0, amount: 0, offlineCount: 0, offlineAmount: 0 };
    k.count += b.count;
    k.amount = safeAdd(k.amount, b.amount);
    if (b.offline) {
      k.offlineCount += b.count;
      k.offlineAmount = safeAdd(k.offlineAmount, b.amount);
    }
    kiosks.set(key, k);
    const h = hours.get(b.currency) ?? Array.from({ length: hoursInDay }, () => ({ count: 0, amount: 0 }));
    const slot = h[b.bucket];
    if (slot) {
      slot.count += b.count;
      slot.amount = safeAdd(slot.amount, b.amount);
    }
    hours.set(b.currency, h);
    const t = totals.get(b.currency) ?? { count: 0, amount: 0 };
    totals.set(b.currency, { count: t.count + b.count, amount: safeAdd(t.amount, b.amount) });
  }

  const settled = new Map<Currency, { count: number; amount: number }>();
  const settleDeclines = new Map<string, number>();
  for (const p of storedRows) {
    if (p.status === 'settled') {
      const s = settled.get(p.currency) ?? { count: 0, amount: 0 };
      settled.set(p.currency, { count: s.count + 1, amount: safeAdd(s.amount, p.amount) });
    } else {
      const reason = p.reason ?? 'UNSPECIFIED';
      settleDeclines.set(reason, (settleDeclines.get(reason) ?? 0) + 1);
    }
  }

  const refunds = new Map<Currency, { count: number; amount: number }>();
  for (const a of actions) {
    const r = refunds.get(a.currency) ?? { count: 0, amount: 0 };
    refunds.set(a.currency, { count: r.count + 1, amount: safeAdd(r.amount, a.amount) });
  }

  const byCurrency = <T>(map: Map<Currency, T>) => [...map].sort(([a], [b]) => (a < b ? -1 : 1));
  const byCount = (map: Map<string, number>) =>
    [...map].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1));
  return {
    day,
    from: tz.iso(fromMs),
    to: tz.iso(toMs),
    timeZone: tz.label(now),
    totals: byCurrency(totals).map(([currency, t]) => ({ currency, count: t.count, amount: m(t.amount, currency) })),
    perKiosk: [...kiosks.values()].map((k) => ({
      kioskId: k.kioskId,
      currency: k.currency,
      count: k.count,
      amount: m(k.amount, k.currency),
      offlineCount: k.offlineCount,
      offlineAmount: m(k.offlineAmount, k.currency),
    })),
    perHour: byCurrency(hours).map(([currency, h]) => ({
      currency,
      hours: h.map((x, i) => ({ hour: tz.localHour(fromMs + i * HOUR_MS), count: x.count, amount: m(x.amount, currency) })),
    })),
    declines: byCount(new Map(declineRows.map((r) => [r.reason ?? 'UNSPECIFIED', r.count]))),
    refunds: byCurrency(refunds).map(([currency, r]) => ({ currency, count: r.count, amount: m(r.amount, currency) })),
    stored: {
      settled: byCurrency(settled).map(([currency, s]) => ({ currency, count: s.count, amount: m(s.amount, currency) })),
      declined: byCount(settleDeclines),
      items: storedRows.slice(0, d.storedListMax).map((p) => ({
        paymentId: p.id,
        kioskId: p.kioskId,
        txId: p.txId,
        amount: m(p.amount, p.currency),
        capturedAt: tz.iso(p.at),
        receivedAt: tz.iso(p.createdAt),
        state: p.status === 'settled' ? ('settled' as const) : ('declined' as const),
        reason: p.reason,
        replay: p.replay,
      })),
      truncated: storedRows.length >= d.storedReadMax,
    },
  };
}

function safeAdd(a: number, b: number): number {
  const sum = a + b;
  if (!Number.isSafeInteger(sum)) throw new Error(`sales total overflow: ${a} + ${b}`);
  return sum;
}
