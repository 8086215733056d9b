// SPDX-License-Identifier: Apache-2.0
// The operator's report queries (sales groups, refunds, transaction search), written once for both
// adapters: `?` placeholders in order (the PostgreSQL adapter numbers them), CAST so an optional
// filter passed as NULL has a type in both databases, and the collation for text order given by the
// dialect. Amounts stay integer minor units; the caller passes the parameters in the order of
// `params` below.
import type { HelpHandledRow, PaymentSearch, SalesFilter, SalesGrouping } from '../ports/store.ts';

export type Dialect = 'sqlite' | 'pg';

const SOLD = `p.status IN ('approved', 'settled')`;
const KIOSK = `(CAST(? AS TEXT) IS NULL OR p.kiosk_id = ?)`;

const KEY: Record<SalesGrouping, { select: string; group: string }> = {
  kiosk: { select: `p.kiosk_id AS kiosk_id, NULL AS gtin, NULL AS slot, NULL AS quarter`, group: 'p.kiosk_id' },
  product: { select: `NULL AS kiosk_id, l.gtin AS gtin, l.slot AS slot, NULL AS quarter`, group: 'l.gtin, l.slot' },
  'quarter-hour': { select: `NULL AS kiosk_id, NULL AS gtin, NULL AS slot, p.at / 900000 AS quarter`, group: 'p.at / 900000' },
};

/**
 * Sales of a filter per group: line amounts, or the payment's amount for a payment without lines.
 * A product filter (store.ts ProductMatch) takes the lines that name its key, and the lines that
 * name no such key but the product's other one.
 */
export function salesGroupsSql(by: SalesGrouping): string {
  const k = KEY[by];
  return `SELECT ${k.select}, p.currency AS currency, COUNT(DISTINCT p.id) AS payments, COALESCE(SUM(l.qty), 0) AS units,
  SUM(CASE WHEN l.payment_id IS NULL THEN p.amount ELSE l.qty * l.unit_price END) AS amount
FROM payments p LEFT JOIN payment_lines l ON l.payment_id = p.id
WHERE p.at >= ? AND p.at < ? AND ${SOLD} AND ${KIOSK}
  AND (CAST(? AS TEXT) IS NULL OR l.gtin = ? OR (l.gtin IS NULL AND l.slot = CAST(? AS BIGINT)))
  AND (CAST(? AS BIGINT) IS NULL OR l.slot = ? OR (l.slot IS NULL AND l.gtin = CAST(? AS TEXT)))
GROUP BY ${k.group}, p.currency`;
}

export function salesGroupsParams(f: SalesFilter): unknown[] {
  const p = f.product;
  const byGtin = p?.by === 'gtin' ? [p.gtin, p.gtin, p.slot] : [null, null, null];
  const bySlot = p?.by === 'slot' ? [p.slot, p.slot, p.gtin] : [null, null, null];
  return [f.fromMs, f.toMs, f.kioskId, f.kioskId, ...byGtin, ...bySlot];
}

/** Refund transfers of the payments a filter covers, per group. */
export function refundGroupsSql(by: Exclude<SalesGrouping, 'product'>): string {
  const k = KEY[by];
  return `SELECT ${k.select}, p.currency AS currency, SUM(t.amount) AS amount
FROM payments p JOIN transfers t ON t.payment_id = p.id AND t.kind = 'refund'
WHERE p.at >= ? AND p.at < ? AND ${SOLD} AND ${KIOSK}
GROUP BY ${k.group}, p.currency`;
}

export const refundGroupsParams = (f: Omit<SalesFilter, 'product'>): unknown[] => [f.fromMs, f.toMs, f.kioskId, f.kioskId];

/** Payments matching a search, newest first, with what was refunded of each. */
export function searchPaymentsSql(d: Dialect): string {
  const c = d === 'pg' ? ' COLLATE "C"' : '';
  return `SELECT p.*, COALESCE((SELECT SUM(t.amount) FROM transfers t WHERE t.payment_id = p.id AND t.kind = 'refund'), 0) AS refunded
FROM payments p
WHERE p.at >= ? AND p.at < ? AND ${KIOSK}
  AND (CAST(? AS TEXT) IS NULL OR p.id = ? OR p.tx_id = ?)
  AND (CAST(? AS TEXT) IS NULL OR p.wallet_id = ?)
  AND (CAST(? AS BIGINT) IS NULL OR p.amount = ?)
ORDER BY p.at DESC, p.id${c} DESC
LIMIT ?`;
}

export const searchPaymentsParams = (q: PaymentSearch, limit: number): unknown[] => [
  q.fromMs,
  q.toMs,
  q.kioskId,
  q.kioskId,
  q.text,
  q.text,
  q.text,
  q.walletId,
  q.walletId,
  q.amount,
  q.amount,
  limit,
];

/** The Help requests operators marked handled (the audit log's other rows). */
export const INSERT_HELP_HANDLED_SQL = `INSERT INTO help_handled (id, at, operator, kiosk_id, requested_at, presses) VALUES (?, ?, ?, ?, ?, ?)`;
export const insertHelpHandledParams = (h: HelpHandledRow): unknown[] => [h.id, h.at, h.operator, h.kioskId, h.requestedAt, h.presses];
export const listHelpHandledSql = (d: Dialect): string =>
  `SELECT * FROM help_handled WHERE at >= ? AND at < ? ORDER BY at DESC, id${d === 'pg' ? ' COLLATE "C"' : ''} DESC LIMIT ?`;

/** A wallet's payments, newest first, with what was refunded of each. */
export const PAYMENTS_BY_WALLET_SQL = `SELECT p.*, COALESCE((SELECT SUM(t.amount) FROM transfers t WHERE t.payment_id = p.id AND t.kind = 'refund'), 0) AS refunded
FROM payments p
WHERE p.wallet_id = ?
ORDER BY p.at DESC, p.created_at DESC
LIMIT ?`;

export const REFUNDED_SQL = `SELECT COALESCE(SUM(amount), 0) AS refunded FROM transfers WHERE payment_id = ? AND kind = 'refund'`;

/** The report statements by name, in the dialect's placeholders: both adapters prepare these. */
export function reportStatements(d: Dialect) {
  const sql = (text: string) => (d === 'pg' ? numbered(text) : text);
  return {
    salesByKiosk: sql(salesGroupsSql('kiosk')),
    salesByProduct: sql(salesGroupsSql('product')),
    salesByQuarter: sql(salesGroupsSql('quarter-hour')),
    refundsByKiosk: sql(refundGroupsSql('kiosk')),
    refundsByQuarter: sql(refundGroupsSql('quarter-hour')),
    searchPayments: sql(searchPaymentsSql(d)),
    refunded: sql(REFUNDED_SQL),
    paymentsByWallet: sql(PAYMENTS_BY_WALLET_SQL),
    insertHelpHandled: sql(INSERT_HELP_HANDLED_SQL),
    listHelpHandled: sql(listHelpHandledSql(d)),
  };
}

/** `?` placeholders to PostgreSQL's `$1, $2, ...` (no `?` appears in these statements otherwise). */
export function numbered(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}
