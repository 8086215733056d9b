// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL store's statements, prepared once per connection (`PREPARE kp_<name>`) and run as
// `EXECUTE kp_<name>(literals)` in batches (pg-batch.ts). Reads that decide a later write and must not
// go stale under READ COMMITTED lock what they count first (lockWallet, lockPayment): the count then
// runs as the next statement, with a snapshot taken after the lock was granted.
import { MONEY_MAX } from '../../shared/money.ts';
import { MANY } from './pg-coalesce.ts';
import { literal } from './pg-literal.ts';
import { reportStatements } from './report-sql.ts';

/**
 * A write that must change a row: when it does not, the statement raises SQLSTATE KP001 with the
 * reason `reason` evaluates to (pg-schema.ts kp_refuse), so the transaction is aborted and cannot
 * commit without it.
 */
const must = (write: string, reason: string) =>
  `WITH w AS (${write} RETURNING 1) SELECT CASE WHEN EXISTS (SELECT 1 FROM w) THEN true ELSE kp_refuse(${reason}) END AS ok`;

/** The wallet and shopper account behind a code or credential, read with it (pg-tx.ts serves them from there). */
const WALLET_JSON = `row_to_json(pw) AS prefetched_wallet, row_to_json(pa) AS prefetched_account`;
const WALLET_JOIN = `LEFT JOIN wallets pw ON pw.id = c.wallet_id LEFT JOIN accounts pa ON pa.id = pw.account_id AND pa.kind <> 'merchant'`;

/*
 * A transfer is three statements: the debit, the credit, the record. The debit is one conditional
 * UPDATE (while the balance covers $4, when set). A shopper's or the issuance account's credit updates
 * its balance, refused past the balance bound. A merchant's credit of at most POSTING_MAX appends a
 * posting instead (pg-schema.ts), so concurrent payments into one merchant never wait for each other;
 * a larger one updates its balance row, checked exactly against balance and postings. A posting is
 * checked against the balance and postings only when the rolled-up balance is past half the bound:
 * below that, adding up the postings on every payment would cost more than the payment, and since
 * every posting is small, passing the bound takes more than 5,000 of them to one merchant between
 * two roll-ups (docs/scaling.md). pg-tx.ts picks the credit by the account's kind when the unit has
 * read it, else creditAny decides in the database. A part that fails refuses (KP001) naming why.
 */
/** The largest merchant credit that is a posting (minor units). */
export const POSTING_MAX = 100_000_000;
const ACCOUNT = `EXISTS (SELECT 1 FROM accounts WHERE id = $2::text AND currency = $3::text)`;
const MERCHANT = `EXISTS (SELECT 1 FROM accounts WHERE id = $2 AND kind = 'merchant')`;
/** Why a credit of $1 to account $2 in currency $3 did not happen. */
const CREDIT_REFUSED = `CASE WHEN NOT ${ACCOUNT} THEN 'no-credit' WHEN ${MERCHANT} = $4 THEN 'limit' ELSE 'kind' END`;
const CREDIT_BALANCE = `UPDATE accounts SET balance = balance + $1 WHERE id = $2 AND currency = $3 AND kind <> 'merchant' AND balance <= ${MONEY_MAX}::bigint - $1`;
const PENDING = `COALESCE((SELECT SUM(amount) FROM postings WHERE account_id = $2), 0)`;
const CREDIT_POSTING = `INSERT INTO postings (account_id, currency, amount) SELECT id, currency, $1::bigint FROM accounts
  WHERE id = $2 AND currency = $3 AND kind = 'merchant' AND $1::bigint <= ${POSTING_MAX} AND CASE
    WHEN balance <= ${MONEY_MAX / 2}::bigint - $1 THEN true
    ELSE balance + ${PENDING} <= ${MONEY_MAX}::bigint - $1 END`;
const CREDIT_MERCHANT = `UPDATE accounts SET balance = balance + $1 WHERE id = $2 AND currency = $3 AND kind = 'merchant'
  AND $1::bigint > ${POSTING_MAX} AND balance + ${PENDING} <= ${MONEY_MAX}::bigint - $1`;

/** Moves up to $1 postings into their accounts' balances, in one statement (totals never change). */
export const ROLL_POSTINGS = `WITH moved AS (
  DELETE FROM postings WHERE id IN (SELECT id FROM postings ORDER BY id LIMIT $1) RETURNING account_id, amount),
sums AS (SELECT account_id, SUM(amount) AS total FROM moved GROUP BY account_id)
UPDATE accounts a SET balance = a.balance + s.total FROM sums s WHERE a.id = s.account_id`;

export const SQL = {
  getMeta: `SELECT value FROM meta WHERE key = $1`,
  setMeta: `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  casMeta: must(
    `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE meta.value IS NOT DISTINCT FROM $3::text`,
    `'stale'`,
  ),
  createAccount: `INSERT INTO accounts (id, kind, currency, balance, created_at) VALUES ($1, $2, $3, $4, $5)`,
  getAccount: `SELECT a.id, a.kind, a.currency, a.created_at, a.balance + CASE WHEN a.kind = 'merchant' THEN COALESCE((SELECT SUM(p.amount) FROM postings p WHERE p.account_id = a.id), 0) ELSE 0 END AS balance FROM accounts a WHERE a.id = $1`,
  totals: `SELECT currency, SUM(total) AS total FROM (SELECT currency, balance AS total FROM accounts UNION ALL SELECT currency, amount FROM postings) t GROUP BY currency ORDER BY currency COLLATE "C"`,
  debit: must(
    `UPDATE accounts SET balance = balance - $1 WHERE id = $2 AND currency = $3 AND ($4::bigint IS NULL OR balance >= $4::bigint)`,
    `CASE WHEN ${ACCOUNT} THEN 'stale' ELSE 'no-debit' END`,
  ),
  creditBalance: must(CREDIT_BALANCE, CREDIT_REFUSED.replace('$4', 'false')),
  creditPosting: must(CREDIT_POSTING, CREDIT_REFUSED.replace('$4', 'true')),
  creditMerchant: must(CREDIT_MERCHANT, CREDIT_REFUSED.replace('$4', 'true')),
  creditAny: `WITH c AS (${CREDIT_BALANCE} RETURNING 1), p AS (${CREDIT_POSTING} RETURNING 1), m AS (${CREDIT_MERCHANT} RETURNING 1)
SELECT CASE WHEN EXISTS (SELECT 1 FROM c) OR EXISTS (SELECT 1 FROM p) OR EXISTS (SELECT 1 FROM m) THEN true
  ELSE kp_refuse(CASE WHEN NOT ${ACCOUNT} THEN 'no-credit' ELSE 'limit' END) END AS ok`,
  recordTransfer: `INSERT INTO transfers (payment_id, debit_account, credit_account, amount, currency, kind, at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  createWallet: `INSERT INTO wallets (id, account_id, token_hash, created_at, offline_blocked) VALUES ($1, $2, $3, $4, $5)`,
  getWallet: `SELECT * FROM wallets WHERE id = $1`,
  walletByToken: `SELECT * FROM wallets WHERE token_hash = $1`,
  setBlocked: `UPDATE wallets SET offline_blocked = $1 WHERE id = $2`,
  insertCode: `INSERT INTO online_codes (code_hash, wallet_id, issued_at, expires_at, used_by) VALUES ($1, $2, $3, $4, $5)`,
  getCode: `SELECT c.*, ${WALLET_JSON} FROM online_codes c ${WALLET_JOIN} WHERE c.code_hash = $1`,
  useCode: `UPDATE online_codes SET used_by = $1 WHERE code_hash = $2`,
  useUnusedCode: must(`UPDATE online_codes SET used_by = $1 WHERE code_hash = $2 AND used_by IS NULL`, `'stale'`),
  lockWallet: `SELECT 1 FROM wallets WHERE id = $1 FOR UPDATE`,
  lockPayment: `SELECT 1 FROM payments WHERE id = $1 FOR UPDATE`,
  deleteExpired: `DELETE FROM online_codes WHERE expires_at < $1`,
  countActive: `SELECT COUNT(*) AS n FROM online_codes WHERE wallet_id = $1 AND expires_at >= $2 AND used_by IS NULL`,
  insertCredential: `INSERT INTO credentials (id, wallet_id, key_id, bytes, not_before, not_after, numeric_handle, numeric_secret, step_ms, issued_at, revoked_at, revoke_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
  getCredential: `SELECT c.*, ${WALLET_JSON} FROM credentials c ${WALLET_JOIN} WHERE c.id = $1`,
  credentialByHandle: `SELECT c.*, ${WALLET_JSON} FROM credentials c ${WALLET_JOIN} WHERE c.numeric_handle = $1`,
  revoke: `UPDATE credentials SET revoked_at = $1, revoke_reason = $2 WHERE id = $3 AND revoked_at IS NULL`,
  listRevoked: `SELECT id FROM credentials WHERE revoked_at IS NOT NULL AND not_after >= $1 ORDER BY id COLLATE "C"`,
  claimUse: `INSERT INTO offline_uses (credential_id, form, counter, payment_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
  getUse: `SELECT payment_id FROM offline_uses WHERE credential_id = $1 AND form = $2 AND counter = $3`,
  reassignUse: must(`UPDATE offline_uses SET payment_id = $4 WHERE credential_id = $1 AND form = $2 AND counter = $3`, `'missing'`),
  insertPayment: `INSERT INTO payments (id, kiosk_id, tx_id, kind, status, reason, amount, currency, wallet_id, merchant_account, credential_id, counter, at, request_hash, replay, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
  getPayment: `SELECT * FROM payments WHERE id = $1`,
  paymentByTx: `SELECT * FROM payments WHERE kiosk_id = $1 AND tx_id = $2`,
  updatePayment: `UPDATE payments SET status = $1, reason = $2, updated_at = $3 WHERE id = $4`,
  offlineUsage: `SELECT COALESCE(SUM(amount), 0) AS amount, COUNT(*) AS count FROM payments WHERE wallet_id = $1 AND at >= $2 AND kind IN ('offline-qr', 'offline-numeric') AND status IN ('approved', 'settled')`,
  salesBuckets: `SELECT kiosk_id, currency, kind <> 'online' AS offline, (at - $1::bigint) / $3::bigint AS bucket, COUNT(*) AS count, SUM(amount) AS amount FROM payments WHERE at >= $1 AND at < $2 AND status IN ('approved', 'settled') GROUP BY kiosk_id, currency, offline, bucket ORDER BY kiosk_id COLLATE "C", currency COLLATE "C", offline, bucket`,
  declineCounts: `SELECT reason, COUNT(*) AS count FROM payments WHERE at >= $1 AND at < $2 AND status = 'declined' GROUP BY reason ORDER BY count DESC, reason COLLATE "C" NULLS FIRST`,
  storedPayments: `SELECT * FROM payments WHERE created_at >= $1 AND kind = 'offline-qr' AND (status = 'settled' OR (status = 'declined' AND created_at - at >= $2)) ORDER BY created_at DESC, id COLLATE "C" LIMIT $3`,
  insertLines: `INSERT INTO payment_lines (payment_id, line_no, gtin, slot, qty, unit_price) SELECT $1, l.n, l.gtin, l.slot, l.qty, l.unit_price FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[]) AS l(n, gtin, slot, qty, unit_price)`,
  listLines: `SELECT * FROM payment_lines WHERE payment_id = ANY($1::text[]) ORDER BY payment_id COLLATE "C", line_no`,
  ...reportStatements('pg'),
  insertAction: `INSERT INTO ops_actions (id, request_key, request_hash, at, operator, action, payment_id, amount, currency, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
  actionByKey: `SELECT * FROM ops_actions WHERE request_key = $1`,
  listActions: `SELECT * FROM ops_actions WHERE ((at >= $1 AND at < $2) OR $3::text IS NOT NULL) AND ($3::text IS NULL OR payment_id = $3) ORDER BY at DESC, id COLLATE "C" DESC LIMIT $4`,
  getKiosk: `SELECT k.*, a.kind AS merchant_kind FROM kiosks k LEFT JOIN accounts a ON a.id = k.merchant_account WHERE k.id = $1`,
  upsertKiosk: `INSERT INTO kiosks (id, merchant_account, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET merchant_account = excluded.merchant_account`,
} as const;

export type SqlName = keyof typeof SQL;

/** Every statement, and the merged forms of pg-coalesce.ts, prepared: one simple query, sent once on each new connection. */
export const PREPARE_ALL = [
  ...Object.entries(SQL).map(([name, text]) => `PREPARE kp_${name} AS ${text}`),
  ...Object.entries(MANY).map(([name, many]) => `PREPARE kp_${name}_many AS ${many.sql}`),
].join(';\n');

/** The text that runs a prepared statement with these values. */
export function execute(name: SqlName, values: readonly unknown[]): string {
  return values.length === 0 ? `EXECUTE kp_${name}` : `EXECUTE kp_${name}(${values.map(literal).join(', ')})`;
}
