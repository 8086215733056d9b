// SPDX-License-Identifier: Apache-2.0
// What the ledger tells the operator about today (the operator's day, config `ops.utcOffset`):
// approved sales per kiosk and per hour (online and offline, integer minor units per currency,
// counted at the payment's ledger time: decision time online, capture time for a stored payment),
// declines by reason, and the stored offline payments kiosks forwarded today with their settlement
// state. Read-only: every query goes through the Store port.
import type { Clock } from '../../shared/clock.ts';
import { formatMoney, type Currency } from '../../shared/money.ts';
import type { Store } from '../ports/store.ts';
import { dayStartMs, DAY_MS, HOUR_MS, localDate } from './ops-time.ts';

export const SALES_QUERY_DEFAULTS = Object.freeze({
  /** A declined offline-QR payment counts as stored when its capture precedes its receipt by this much. */
  storedCaptureLeadMs: 1_000,
  /** Stored payments read for today's totals at most; past this the totals say `truncated`. */
  storedReadMax: 2_000,
  /** Stored payments listed one by one, newest first. */
  storedListMax: 50,
});

export interface MoneyView { value: number; currency: Currency; text: string }
const m = (value: number, currency: Currency): MoneyView => ({ value, currency, text: formatMoney({ value, currency }) });

export interface KioskSales { kioskId: string; currency: Currency; count: number; amount: MoneyView; offlineCount: number; offlineAmount: MoneyView }
export interface HourSales { hour: number; count: number; amount: MoneyView }
export interface StoredPaymentView {
  paymentId: string; kioskId: string; txId: string; amount: MoneyView;
  capturedAt: number; receivedAt: number; state: 'settled' | 'declined'; reason: string | null; replay: boolean;
}

export interface LedgerSummary {
  /** Local date of the day covered, e.g. 2026-11-28, and its bounds in server time. */
  day: string;
  fromMs: number;
  toMs: number;
  totals: Array<{ currency: Currency; count: number; amount: MoneyView }>;
  perKiosk: KioskSales[];
  /** Per currency, all 24 local hours (zero where nothing sold). */
  perHour: Array<{ currency: Currency; hours: HourSales[] }>;
  declines: Array<{ reason: string; count: number }>;
  stored: {
    settled: Array<{ currency: Currency; count: number; amount: MoneyView }>;
    declined: Array<{ reason: string; count: number }>;
    items: StoredPaymentView[];
    truncated: boolean;
  };
}

export async function ledgerSummary(store: Store, clock: Clock, utcOffsetMs: number): Promise<LedgerSummary> {
  const now = clock.nowMs();
  const fromMs = dayStartMs(now, utcOffsetMs);
  const toMs = fromMs + DAY_MS;
  const d = SALES_QUERY_DEFAULTS;
  const [buckets, declineRows, storedRows] = await store.unit(async (tx) => Promise.all([
    tx.salesBuckets(fromMs, toMs, HOUR_MS), tx.declineCounts(fromMs, toMs), tx.listStoredPayments(fromMs, d.storedCaptureLeadMs, d.storedReadMax),
  ]));

  const kiosks = new Map<string, { kioskId: string; currency: Currency; count: number; amount: number; offlineCount: number; offlineAmount: number }>();
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
    const h = hours.get(b.currency) ?? Array.from({ length: 24 }, () => ({ count: 0, amount: 0 }));
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

  const byCurrency = <T>(map: Map<Currency, T>) => [...map].sort(([a], [b]) => (a < b ? -1 : 1));
  const byCount = (map: Map<string, number>) => [...map].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1));
  return {
    day: localDate(now, utcOffsetMs), fromMs, toMs,
    totals: byCurrency(totals).map(([currency, t]) => ({ currency, count: t.count, amount: m(t.amount, currency) })),
    perKiosk: [...kiosks.values()].map((k) => ({
      kioskId: k.kioskId, currency: k.currency, count: k.count, amount: m(k.amount, k.currency), offlineCount: k.offlineCount, offlineAmount: m(k.offlineAmount, k.currency),
    })),
    perHour: byCurrency(hours).map(([currency, h]) => ({ currency, hours: h.map((x, hour) => ({ hour, count: x.count, amount: m(x.amount, currency) })) })),
    declines: byCount(new Map(declineRows.map((r) => [r.reason ?? 'UNSPECIFIED', r.count]))),
    stored: {
      settled: byCurrency(settled).map(([currency, s]) => ({ currency, count: s.count, amount: m(s.amount, currency) })),
      declined: byCount(settleDeclines),
      items: storedRows.slice(0, d.storedListMax).map((p) => ({
        paymentId: p.id, kioskId: p.kioskId, txId: p.txId, amount: m(p.amount, p.currency), capturedAt: p.at, receivedAt: p.createdAt,
        state: p.status === 'settled' ? 'settled' as const : 'declined' as const, reason: p.reason, replay: p.replay,
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
