// SPDX-License-Identifier: Apache-2.0
// What sold, where and when: the operator's sales report over a range of local dates (the
// deployment's time zone), per day (or per hour for one day), per kiosk and per product or slot,
// optionally for one kiosk or one product; the transaction search; and the operators' refunds and
// voids (the audit log). Every query goes through the Store port; the time zone is applied here (the
// store groups by quarter hour of server time, and every local day starts on a quarter hour), so
// days of 23 or 25 hours come out right. Each view carries its CSV, built from the same rows the
// page shows, so an export is exactly what is on screen.
import type { Clock } from '../../shared/clock.ts';
import type { CatalogItem, CatalogMessage } from '../../shared/catalog/catalog.ts';
import { isValidGtin13 } from '../../shared/catalog/ean13.ts';
import { KioskpayError } from '../../shared/errors.ts';
import { CURRENCIES, MONEY_MAX, type Currency } from '../../shared/money.ts';
import type { FoundPayment, OpsActionRow, ProductMatch, SaleLineRow, SalesFilter, Store } from '../ports/store.ts';
import { QUARTER_HOUR_MS } from '../ports/store.ts';
import { TimeZone } from '../../shared/time-zone.ts';
import { csvTable, type CsvExport } from './csv.ts';
import { moneyView, reasonSentence, type MoneyView } from './present.ts';

export const REPORT_LIMITS = Object.freeze({
  /** Longest sales report or search range, in local days. */
  rangeDaysMax: 366,
  /** Transactions a search returns at most (newest first); the view says when there were more. */
  searchRowsMax: 200,
  /** Audit rows listed at most, newest first. */
  auditRowsMax: 200,
  /** Default search range: the last this many local days, today included. */
  searchDaysDefault: 7,
});

export interface ReportContext {
  store: Store;
  tz: TimeZone;
  clock: Clock;
  /** The deployment's currency: amounts typed into a search are in it. */
  currency: Currency;
  /** The catalog the server publishes now: product names by GTIN and slot. */
  catalog: () => CatalogMessage | undefined;
  /** Configured kiosks, listed in the report even without sales. */
  kioskIds: readonly string[];
}

/** A malformed query parameter: a 400 naming the parameter. */
const bad = (message: string) => new KioskpayError('MALFORMED_MESSAGE', message);

export interface DateRange {
  from: string;
  to: string;
  fromMs: number;
  toMs: number;
  days: string[];
}

/** `from`..`to` (local dates, both included); `to` defaults to today, `from` to `to` less defaultDays-1. */
export function parseRange(params: URLSearchParams, rc: ReportContext, defaultDays: number): DateRange {
  const today = rc.tz.localDate(rc.clock.nowMs());
  const to = params.get('to') || today;
  let from = params.get('from') || '';
  const check = (name: string, v: string) => {
    try {
      rc.tz.startOfDay(v);
    } catch {
      throw bad(`${name} must be a date like ${today}`);
    }
  };
  check('to', to);
  if (from === '') {
    from = to;
    for (let i = 1; i < defaultDays; i++) from = previousDate(from);
  }
  check('from', from);
  if (from > to) throw bad(`from (${from}) is after to (${to})`);
  const days: string[] = [];
  for (let d = from; d <= to; d = TimeZone.nextDate(d)) {
    days.push(d);
    if (days.length > REPORT_LIMITS.rangeDaysMax) throw bad(`a range covers at most ${REPORT_LIMITS.rangeDaysMax} days`);
  }
  return { from, to, fromMs: rc.tz.startOfDay(from), toMs: rc.tz.startOfDay(TimeZone.nextDate(to)), days };
}

function previousDate(date: string): string {
  const t = Date.parse(`${date}T00:00:00Z`) - 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

// ---- products ----------------------------------------------------------------------------------

export type ProductFilter = { gtin: string; slot: null } | { gtin: null; slot: number };

export interface ProductOption {
  value: string;
  label: string;
}

/** `gtin:4901000000013` or `slot:3`; empty is none. */
export function parseProduct(text: string | null): ProductFilter | null {
  if (!text) return null;
  const g = /^gtin:(\d{13})$/.exec(text);
  if (g && isValidGtin13(g[1]!)) return { gtin: g[1]!, slot: null };
  const s = /^slot:([1-9]\d{0,2})$/.exec(text);
  if (s) return { gtin: null, slot: Number(s[1]) };
  throw bad('product must be gtin:<13-digit GTIN> or slot:<1-999>');
}

function lookup(rc: ReportContext) {
  const items = rc.catalog()?.items ?? [];
  const byGtin = new Map(items.map((i) => [i.gtin, i]));
  const bySlot = new Map(items.filter((i) => i.slot !== undefined).map((i) => [i.slot!, i]));
  const find = (gtin: string | null, slot: number | null): CatalogItem | undefined =>
    (gtin !== null ? byGtin.get(gtin) : undefined) ?? (slot !== null ? bySlot.get(slot) : undefined);
  return { items, find };
}

/** The filter's choices: every product of the catalog by GTIN, and every vending slot. */
export function productOptions(rc: ReportContext): { products: ProductOption[]; slots: ProductOption[] } {
  const { items } = lookup(rc);
  return {
    products: items.map((i) => ({ value: `gtin:${i.gtin}`, label: `${i.name} (${i.gtin})` })),
    slots: items
      .filter((i) => i.slot !== undefined)
      .sort((a, b) => a.slot! - b.slot!)
      .map((i) => ({ value: `slot:${i.slot}`, label: `Slot ${i.slot}: ${i.name}` })),
  };
}

/** `Green tea 500ml (4901000000013)` for a product, `Slot 1: Green tea 500ml` for a slot. */
function productLabel(item: CatalogItem | undefined, gtin: string | null, slot: number | null): string {
  if (gtin === null && slot === null) return 'Not itemised (the kiosk sent no lines)';
  if (gtin !== null) return `${item?.name ?? 'Product not in the catalog'} (${gtin})`;
  return `Slot ${slot}: ${item?.name ?? 'no product in the catalog'}`;
}

// ---- the sales report --------------------------------------------------------------------------

export interface SalesRow {
  currency: Currency;
  payments: number;
  units: number;
  amount: MoneyView;
  /** Refunds of these sales; null with a product filter (a refund is of a payment, not of a product). */
  refunded: MoneyView | null;
  net: MoneyView | null;
}
export interface DayRow extends SalesRow {
  date: string;
  startsAt: string;
}
export interface HourRow extends SalesRow {
  hour: string;
  startsAt: string;
}
export interface KioskRow extends SalesRow {
  kioskId: string;
}
export interface ProductRow extends Omit<SalesRow, 'refunded' | 'net'> {
  key: string;
  label: string;
  gtin: string | null;
  slot: number | null;
}

export interface SalesReport {
  timeZone: string;
  /** The time zone with the offset in force at the start of the range, e.g. Asia/Tokyo (UTC+09:00). */
  timeZoneLabel: string;
  from: string;
  to: string;
  /** The range's first instant and the instant after its last (ISO 8601 with offset). */
  startsAt: string;
  endsAt: string;
  kioskId: string | null;
  product: { value: string; label: string } | null;
  /** How the product table groups: by product (GTIN) or by vending slot. */
  groupBy: 'product' | 'slot';
  totals: SalesRow[];
  byDay: DayRow[];
  /** Per local hour, for a one-day range; empty otherwise. */
  byHour: HourRow[];
  byKiosk: KioskRow[];
  byProduct: ProductRow[];
  csv: { byDay: CsvExport; byKiosk: CsvExport; byProduct: CsvExport };
}

export interface SalesQuery {
  range: DateRange;
  kioskId: string | null;
  product: ProductFilter | null;
  groupBy: 'product' | 'slot';
}

export function parseSalesQuery(params: URLSearchParams, rc: ReportContext): SalesQuery {
  const kioskId = params.get('kiosk') || null;
  if (kioskId !== null && !/^[\x21-\x7e]{1,64}$/.test(kioskId)) throw bad('kiosk must be a kiosk id');
  const groupBy = params.get('group') || 'product';
  if (groupBy !== 'product' && groupBy !== 'slot') throw bad('group must be product or slot');
  return { range: parseRange(params, rc, 1), kioskId, product: parseProduct(params.get('product')), groupBy };
}

interface Sum {
  payments: number;
  units: number;
  amount: number;
  refunded: number;
}
const zero = (): Sum => ({ payments: 0, units: 0, amount: 0, refunded: 0 });
const add = (s: Sum, g: { payments?: number; units?: number; amount?: number; refunded?: number }) => {
  s.payments += g.payments ?? 0;
  s.units += g.units ?? 0;
  s.amount += g.amount ?? 0;
  s.refunded += g.refunded ?? 0;
  if (!Number.isSafeInteger(s.amount) || !Number.isSafeInteger(s.refunded)) throw new Error('sales total overflow');
};

/**
 * The lines a product filter takes, as the product table groups them: a slot is its vending sales
 * and the scans of its catalog product; a GTIN is its scans and the sales its slot reported by slot
 * alone (store.ts ProductMatch).
 */
function productMatch(rc: ReportContext, p: ProductFilter | null): ProductMatch | null {
  if (p === null) return null;
  const { find } = lookup(rc);
  if (p.gtin !== null) return { by: 'gtin', gtin: p.gtin, slot: find(p.gtin, null)?.slot ?? null };
  return { by: 'slot', slot: p.slot, gtin: find(null, p.slot)?.gtin ?? null };
}

export async function salesReport(rc: ReportContext, q: SalesQuery): Promise<SalesReport> {
  const { range } = q;
  const filter: SalesFilter = { fromMs: range.fromMs, toMs: range.toMs, kioskId: q.kioskId, product: productMatch(rc, q.product) };
  const itemised = q.product !== null;
  const [byKiosk, byProduct, byQuarter, refundsByKiosk, refundsByQuarter] = await rc.store.unit(async (tx) =>
    Promise.all([
      tx.salesGroups(filter, 'kiosk'),
      tx.salesGroups(filter, 'product'),
      tx.salesGroups(filter, 'quarter-hour'),
      itemised ? Promise.resolve([]) : tx.refundGroups(filter, 'kiosk'),
      itemised ? Promise.resolve([]) : tx.refundGroups(filter, 'quarter-hour'),
    ]),
  );
  const currencies = [...new Set([...byKiosk.map((g) => g.currency), ...refundsByKiosk.map((g) => g.currency)])].sort();
  if (currencies.length === 0) currencies.push(rc.currency);
  const row = (currency: Currency, s: Sum): SalesRow => ({
    currency,
    payments: s.payments,
    units: s.units,
    amount: moneyView(s.amount, currency),
    refunded: itemised ? null : moneyView(s.refunded, currency),
    net: itemised ? null : moneyView(s.amount - s.refunded, currency),
  });

  // Totals and per kiosk (configured kiosks listed even when they sold nothing, unless one is asked for).
  const kioskSums = new Map<string, Sum>();
  const key2 = (a: string, c: Currency) => `${a}\n${c}`;
  for (const g of byKiosk) add(get(kioskSums, key2(g.kioskId!, g.currency)), g);
  for (const r of refundsByKiosk) add(get(kioskSums, key2(r.kioskId!, r.currency)), { refunded: r.amount });
  for (const id of q.kioskId === null ? rc.kioskIds : []) for (const c of currencies) get(kioskSums, key2(id, c));
  if (q.kioskId !== null) for (const c of currencies) get(kioskSums, key2(q.kioskId, c));
  const kioskRows: KioskRow[] = [...kioskSums]
    .map(([k, s]) => {
      const [kioskId, currency] = k.split('\n') as [string, Currency];
      return { kioskId, ...row(currency, s) };
    })
    .sort((a, b) => (a.kioskId < b.kioskId ? -1 : a.kioskId > b.kioskId ? 1 : a.currency < b.currency ? -1 : 1));
  const totals = currencies.map((c) => {
    const s = zero();
    for (const k of kioskRows.filter((r) => r.currency === c))
      add(s, { payments: k.payments, units: k.units, amount: k.amount.value, refunded: k.refunded?.value ?? 0 });
    return row(c, s);
  });

  // Per day: each quarter hour falls in exactly one local day.
  const dayStarts = range.days.map((d) => rc.tz.startOfDay(d));
  const dayOf = (ms: number) => {
    let lo = 0,
      hi = dayStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (dayStarts[mid]! <= ms) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const daySums = new Map<string, Sum>();
  for (const g of byQuarter) add(get(daySums, key2(String(dayOf(g.quarter! * QUARTER_HOUR_MS)), g.currency)), g);
  for (const r of refundsByQuarter)
    add(get(daySums, key2(String(dayOf(r.quarter! * QUARTER_HOUR_MS)), r.currency)), { refunded: r.amount });
  const dayRows: DayRow[] = currencies.flatMap((c) =>
    range.days.map((date, i) => ({
      date,
      startsAt: rc.tz.iso(dayStarts[i]!),
      ...row(c, daySums.get(key2(String(i), c)) ?? zero()),
    })),
  );

  // Per hour, for a single day: hours as the clock shows them (23 or 25 on a daylight-saving day).
  const hourRows: HourRow[] = [];
  if (range.days.length === 1) {
    const hours: number[] = [];
    for (let t = range.fromMs; t < range.toMs; t += 3_600_000) hours.push(t);
    const hourOf = (ms: number) => Math.min(hours.length - 1, Math.floor((ms - range.fromMs) / 3_600_000));
    const hourSums = new Map<string, Sum>();
    for (const g of byQuarter) add(get(hourSums, key2(String(hourOf(g.quarter! * QUARTER_HOUR_MS)), g.currency)), g);
    for (const r of refundsByQuarter)
      add(get(hourSums, key2(String(hourOf(r.quarter! * QUARTER_HOUR_MS)), r.currency)), { refunded: r.amount });
    for (const c of currencies) {
      for (const [i, t] of hours.entries())
        hourRows.push({
          hour: `${String(rc.tz.localHour(t)).padStart(2, '0')}:00`,
          startsAt: rc.tz.iso(t),
          ...row(c, hourSums.get(key2(String(i), c)) ?? zero()),
        });
    }
  }

  // Per product (GTIN) or per vending slot, named from the catalog the server publishes now. A line
  // that names only a slot is the slot's catalog product, and one that names only a GTIN is that
  // product's slot, where the catalog says so.
  const { find } = lookup(rc);
  const productSums = new Map<string, { gtin: string | null; slot: number | null; currency: Currency; s: Sum }>();
  for (const g of byProduct) {
    const item = find(g.gtin, g.slot);
    let gtin: string | null = null,
      slot: number | null = null;
    if (q.groupBy === 'product') {
      gtin = g.gtin ?? item?.gtin ?? null;
      if (gtin === null) slot = g.slot;
    } else {
      slot = g.slot ?? item?.slot ?? null;
      if (slot === null) gtin = g.gtin;
    }
    const k = key2(gtin !== null ? `gtin:${gtin}` : slot !== null ? `slot:${slot}` : 'none', g.currency);
    const entry = productSums.get(k) ?? { gtin, slot, currency: g.currency, s: zero() };
    add(entry.s, g);
    productSums.set(k, entry);
  }
  const productRows: ProductRow[] = [...productSums]
    .map(([k, e]) => ({
      key: k.split('\n')[0]!,
      label: productLabel(find(e.gtin, e.slot), e.gtin, e.slot),
      gtin: e.gtin,
      slot: e.slot,
      currency: e.currency,
      payments: e.s.payments,
      units: e.s.units,
      amount: moneyView(e.s.amount, e.currency),
    }))
    .sort((a, b) => b.amount.value - a.amount.value || (a.label < b.label ? -1 : 1));

  const productOption = q.product && {
    value: q.product.gtin !== null ? `gtin:${q.product.gtin}` : `slot:${q.product.slot}`,
    label: productLabel(find(q.product.gtin, q.product.slot), q.product.gtin, q.product.slot),
  };
  const startsAt = rc.tz.iso(range.fromMs),
    endsAt = rc.tz.iso(range.toMs);
  const name = `sales-${range.from}-to-${range.to}${q.kioskId ? `-${safeName(q.kioskId)}` : ''}${productOption ? `-${safeName(productOption.value)}` : ''}`;
  const money = (m: MoneyView | null) => (m === null ? null : m.value);
  return {
    timeZone: rc.tz.name,
    timeZoneLabel: rc.tz.label(range.fromMs),
    from: range.from,
    to: range.to,
    startsAt,
    endsAt,
    kioskId: q.kioskId,
    product: productOption,
    groupBy: q.groupBy,
    totals,
    byDay: dayRows,
    byHour: hourRows,
    byKiosk: kioskRows,
    byProduct: productRows,
    csv: {
      byDay: {
        filename: `${name}-by-day.csv`,
        text: csvTable(
          ['date', 'starts_at', 'currency', 'payments', 'units', 'amount_minor_units', 'refunded_minor_units', 'net_minor_units'],
          dayRows.map((r) => [r.date, r.startsAt, r.currency, r.payments, r.units, r.amount.value, money(r.refunded), money(r.net)]),
        ),
      },
      byKiosk: {
        filename: `${name}-by-kiosk.csv`,
        text: csvTable(
          ['kiosk', 'from', 'to', 'currency', 'payments', 'units', 'amount_minor_units', 'refunded_minor_units', 'net_minor_units'],
          kioskRows.map((r) => [
            r.kioskId,
            startsAt,
            endsAt,
            r.currency,
            r.payments,
            r.units,
            r.amount.value,
            money(r.refunded),
            money(r.net),
          ]),
        ),
      },
      byProduct: {
        filename: `${name}-by-${q.groupBy}.csv`,
        text: csvTable(
          ['product', 'gtin', 'slot', 'from', 'to', 'currency', 'payments', 'units', 'amount_minor_units'],
          productRows.map((r) => [r.label, r.gtin, r.slot, startsAt, endsAt, r.currency, r.payments, r.units, r.amount.value]),
        ),
      },
    },
  };
}

function get<K>(m: Map<K, Sum>, k: K): Sum {
  const s = m.get(k) ?? zero();
  m.set(k, s);
  return s;
}

const safeName = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40);

// ---- transaction search ------------------------------------------------------------------------

export interface TransactionView {
  paymentId: string;
  txId: string;
  kioskId: string;
  at: string;
  kind: string | null;
  status: string;
  reason: string | null;
  reasonText: string | null;
  amount: MoneyView;
  refunded: MoneyView;
  /** What an operator can still give back (0 unless approved or settled). */
  refundable: MoneyView;
  walletId: string | null;
  lines: Array<{ gtin: string | null; slot: number | null; name: string | null; qty: number; unitPrice: MoneyView }>;
  /** The lines in words, e.g. "2 × Green tea 500ml (slot 1)". */
  products: string;
}

export interface TransactionsView {
  from: string;
  to: string;
  timeZoneLabel: string;
  items: TransactionView[];
  /** More matched than were returned (the newest are shown). */
  truncated: boolean;
  csv: CsvExport;
}

export interface TransactionQuery {
  range: DateRange;
  kioskId: string | null;
  text: string | null;
  wallet: string | null;
  amount: number | null;
}

export function parseTransactionQuery(params: URLSearchParams, rc: ReportContext): TransactionQuery {
  const text = (params.get('q') ?? '').trim() || null;
  if (text !== null && !/^[\x21-\x7e]{1,64}$/.test(text)) throw bad('the id searched for is 1-64 printable characters without spaces');
  const kioskId = params.get('kiosk') || null;
  if (kioskId !== null && !/^[\x21-\x7e]{1,64}$/.test(kioskId)) throw bad('kiosk must be a kiosk id');
  const wallet = (params.get('wallet') ?? '').replace(/[\s-]/g, '') || null;
  if (wallet !== null && !/^(w_[0-9a-f]{24}|\d{8})$/.test(wallet))
    throw bad('wallet must be a wallet id (w_ and 24 hex digits) or an 8-digit numeric-code handle');
  const amountText = (params.get('amount') ?? '').trim();
  return {
    range: parseRange(params, rc, REPORT_LIMITS.searchDaysDefault),
    kioskId,
    text,
    wallet,
    amount: amountText === '' ? null : parseMajor(amountText, rc.currency),
  };
}

/** `1200`, `1,200` or `12.34` in the currency's major units, to integer minor units. */
export function parseMajor(text: string, currency: Currency): number {
  const exp = CURRENCIES[currency];
  const m = /^(\d{1,13})(?:\.(\d+))?$/.exec(text.replace(/,/g, ''));
  if (!m || (m[2] !== undefined && m[2].length > exp)) throw bad(`amount must be a number of ${currency} with at most ${exp} decimals`);
  const value = Number(m[1]) * 10 ** exp + Number((m[2] ?? '').padEnd(exp, '0') || '0');
  if (!Number.isSafeInteger(value) || value > MONEY_MAX) throw bad('amount is too large');
  return value;
}

export async function searchTransactions(rc: ReportContext, q: TransactionQuery): Promise<TransactionsView> {
  const { find } = lookup(rc);
  const { found, lines } = await rc.store.unit(async (tx) => {
    let walletId: string | null = q.wallet;
    if (q.wallet !== null && /^\d{8}$/.test(q.wallet)) {
      walletId = (await tx.findCredentialByHandle(q.wallet))?.walletId ?? null;
      // A handle no credential holds matches nothing.
      if (walletId === null) return { found: [], lines: new Map<string, SaleLineRow[]>() };
    }
    const found = await tx.searchPayments(
      { fromMs: q.range.fromMs, toMs: q.range.toMs, kioskId: q.kioskId, text: q.text, walletId, amount: q.amount },
      REPORT_LIMITS.searchRowsMax + 1,
    );
    return { found, lines: await tx.listPaymentLines(found.slice(0, REPORT_LIMITS.searchRowsMax).map((p) => p.id)) };
  });
  const items = found.slice(0, REPORT_LIMITS.searchRowsMax).map((p) => transactionView(rc, p, lines.get(p.id) ?? [], find));
  const name = `transactions-${q.range.from}-to-${q.range.to}`;
  return {
    from: q.range.from,
    to: q.range.to,
    timeZoneLabel: rc.tz.label(q.range.fromMs),
    items,
    truncated: found.length > REPORT_LIMITS.searchRowsMax,
    csv: {
      filename: `${name}.csv`,
      text: csvTable(
        [
          'at',
          'kiosk',
          'tx_id',
          'payment_id',
          'kind',
          'status',
          'reason_code',
          'reason',
          'currency',
          'amount_minor_units',
          'refunded_minor_units',
          'wallet_id',
          'products',
        ],
        items.map((t) => [
          t.at,
          t.kioskId,
          t.txId,
          t.paymentId,
          t.kind,
          t.status,
          t.reason,
          t.reasonText,
          t.amount.currency,
          t.amount.value,
          t.refunded.value,
          t.walletId,
          t.products,
        ]),
      ),
    },
  };
}

function transactionView(
  rc: ReportContext,
  p: FoundPayment,
  lines: SaleLineRow[],
  find: ReturnType<typeof lookup>['find'],
): TransactionView {
  const named = lines.map((l) => ({ ...l, name: find(l.gtin, l.slot)?.name ?? null }));
  const sale = p.status === 'approved' || p.status === 'settled';
  return {
    paymentId: p.id,
    txId: p.txId,
    kioskId: p.kioskId,
    at: rc.tz.iso(p.at),
    kind: p.kind,
    status: p.status,
    reason: p.reason,
    reasonText: reasonSentence(p.reason),
    amount: moneyView(p.amount, p.currency),
    refunded: moneyView(p.refunded, p.currency),
    refundable: moneyView(sale ? p.amount - p.refunded : 0, p.currency),
    walletId: p.walletId,
    lines: named.map((l) => ({ gtin: l.gtin, slot: l.slot, name: l.name, qty: l.qty, unitPrice: moneyView(l.unitPrice, p.currency) })),
    products: named
      .map(
        (l) =>
          `${l.qty} × ${l.name ?? l.gtin ?? `slot ${l.slot}`}${l.slot !== null && (l.name ?? l.gtin) !== null ? ` (slot ${l.slot})` : ''}`,
      )
      .join('; '),
  };
}

// ---- the audit log -----------------------------------------------------------------------------

/**
 * One row of the operators' audit log: a refund or void of a payment (with its amount and reason),
 * or a shopper's Help request marked handled (with the kiosk, its latest press and how many).
 */
export interface AuditItem {
  id: string;
  at: string;
  operator: string;
  action: OpsActionRow['action'] | 'help-handled';
  paymentId: string | null;
  kioskId: string | null;
  amount: MoneyView | null;
  /** The operator's reason for a refund or void; empty for a Help request. */
  reason: string;
  help: { requestedAt: string; presses: number } | null;
}

export interface AuditView {
  from: string;
  to: string;
  items: AuditItem[];
  truncated: boolean;
  csv: CsvExport;
}

export async function auditLog(rc: ReportContext, params: URLSearchParams): Promise<AuditView> {
  const range = parseRange(params, rc, REPORT_LIMITS.searchDaysDefault);
  const q = { fromMs: range.fromMs, toMs: range.toMs };
  const [actions, handled] = await rc.store.unit((tx) =>
    Promise.all([
      tx.listOpsActions({ ...q, paymentId: null }, REPORT_LIMITS.auditRowsMax + 1),
      tx.listHelpHandled(q, REPORT_LIMITS.auditRowsMax + 1),
    ]),
  );
  const rows: Array<{ atMs: number; item: AuditItem }> = [
    ...actions.map((a) => ({
      atMs: a.at,
      item: {
        id: a.id,
        at: rc.tz.iso(a.at),
        operator: a.operator,
        action: a.action,
        paymentId: a.paymentId,
        kioskId: null,
        amount: moneyView(a.amount, a.currency),
        reason: a.reason,
        help: null,
      },
    })),
    ...handled.map((h) => ({
      atMs: h.at,
      item: {
        id: h.id,
        at: rc.tz.iso(h.at),
        operator: h.operator,
        action: 'help-handled' as const,
        paymentId: null,
        kioskId: h.kioskId,
        amount: null,
        reason: '',
        help: { requestedAt: rc.tz.iso(h.requestedAt), presses: h.presses },
      },
    })),
  ].sort((a, b) => b.atMs - a.atMs || (a.item.id < b.item.id ? 1 : -1));
  const items = rows.slice(0, REPORT_LIMITS.auditRowsMax).map((r) => r.item);
  return {
    from: range.from,
    to: range.to,
    items,
    truncated: rows.length > REPORT_LIMITS.auditRowsMax,
    csv: {
      filename: `audit-${range.from}-to-${range.to}.csv`,
      text: csvTable(
        ['at', 'operator', 'action', 'payment_id', 'kiosk', 'currency', 'amount_minor_units', 'reason', 'help_requested_at', 'presses'],
        items.map((a) => [
          a.at,
          a.operator,
          a.action,
          a.paymentId,
          a.kioskId,
          a.amount?.currency ?? null,
          a.amount?.value ?? null,
          a.reason,
          a.help?.requestedAt ?? null,
          a.help?.presses ?? null,
        ]),
      ),
    },
  };
}

/** For the page's selects: configured kiosks, and the products and slots of the catalog. */
export function filterChoices(rc: ReportContext): { kiosks: string[]; products: ProductOption[]; slots: ProductOption[] } {
  return { kiosks: [...rc.kioskIds].sort(), ...productOptions(rc) };
}
