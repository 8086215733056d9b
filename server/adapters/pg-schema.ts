// SPDX-License-Identifier: Apache-2.0
// PostgreSQL schema, version 6: the same tables and constraints as the SQLite schema (sqlite-schema.ts)
// but the foreign keys of `transfers`, plus `postings`: credits to merchant accounts not yet added to their balance (pg-sql.ts).
// Amounts and times are BIGINT (minor units, Unix milliseconds); a CHECK keeps every balance and amount
// a safe JavaScript integer, so reading one back can never lose precision. Uniqueness is what makes
// double settlement impossible across replicas: one payment per (kiosk, txId), one use per
// (credential, form, counter). Applied idempotently at start under an advisory lock, so replicas that
// start together do not race on CREATE. A version-1 schema is upgraded in that same locked
// transaction: PG_SCHEMA_V2 adds the operator dashboard's tables (sale lines, operators' refunds and
// voids) and an index on payments(at); building that index holds writes to payments for its duration.
// Version 3 adds the Help requests operators marked handled, and `postings`; version 4 drops the
// foreign keys of `transfers` (PG_SCHEMA_V4 says why); version 5 indexes a wallet's online codes
// whether used or not, and leaves room in their pages (PG_SCHEMA_V5); version 6 indexes the
// offline-QR payments by when they reached the ledger (PG_SCHEMA_V6). An older schema gains what it
// lacks in the same way.
export const PG_SCHEMA_VERSION = 6;

/** Key of the advisory lock held while migrating (any fixed 64-bit number; "kioskpay"). */
export const PG_MIGRATION_LOCK_KEY = 0x6b696f736b706179n;

const SAFE = '9007199254740991';
const safe = (col: string) => `CHECK (${col} BETWEEN -${SAFE} AND ${SAFE})`;

export const PG_SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('issuance','shopper','merchant')),
  currency TEXT NOT NULL, balance BIGINT NOT NULL ${safe('balance')}, created_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS transfers (
  id BIGSERIAL PRIMARY KEY, payment_id TEXT, debit_account TEXT NOT NULL REFERENCES accounts(id),
  credit_account TEXT NOT NULL REFERENCES accounts(id), amount BIGINT NOT NULL CHECK (amount > 0 AND amount <= ${SAFE}),
  currency TEXT NOT NULL, kind TEXT NOT NULL, at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS transfers_payment ON transfers(payment_id);
CREATE TABLE IF NOT EXISTS wallets (
  id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), token_hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL, offline_blocked TEXT);
CREATE TABLE IF NOT EXISTS online_codes (
  code_hash TEXT PRIMARY KEY, wallet_id TEXT NOT NULL, issued_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
  used_by TEXT);
CREATE INDEX IF NOT EXISTS online_codes_active ON online_codes(wallet_id, expires_at) WHERE used_by IS NULL;
CREATE TABLE IF NOT EXISTS credentials (
  id TEXT PRIMARY KEY, wallet_id TEXT NOT NULL, key_id BIGINT NOT NULL, bytes BYTEA NOT NULL,
  not_before BIGINT NOT NULL, not_after BIGINT NOT NULL, numeric_handle TEXT NOT NULL UNIQUE,
  numeric_secret BYTEA NOT NULL, step_ms BIGINT NOT NULL, issued_at BIGINT NOT NULL,
  revoked_at BIGINT, revoke_reason TEXT);
CREATE INDEX IF NOT EXISTS credentials_wallet ON credentials(wallet_id);
CREATE TABLE IF NOT EXISTS offline_uses (
  credential_id TEXT NOT NULL, form TEXT NOT NULL, counter BIGINT NOT NULL, payment_id TEXT NOT NULL,
  PRIMARY KEY (credential_id, form, counter));
CREATE TABLE IF NOT EXISTS payments (
  id TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, tx_id TEXT NOT NULL, kind TEXT, status TEXT NOT NULL,
  reason TEXT, amount BIGINT NOT NULL ${safe('amount')}, currency TEXT NOT NULL, wallet_id TEXT,
  merchant_account TEXT NOT NULL, credential_id TEXT, counter BIGINT, at BIGINT NOT NULL,
  request_hash TEXT NOT NULL, replay BOOLEAN NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  UNIQUE (kiosk_id, tx_id));
CREATE INDEX IF NOT EXISTS payments_wallet ON payments(wallet_id, at);
CREATE TABLE IF NOT EXISTS kiosks (id TEXT PRIMARY KEY, merchant_account TEXT NOT NULL, created_at BIGINT NOT NULL);
`;

/** What version 2 added to version 1. */
export const PG_SCHEMA_V2 = `
CREATE INDEX IF NOT EXISTS payments_at ON payments(at);
CREATE TABLE IF NOT EXISTS payment_lines (
  payment_id TEXT NOT NULL REFERENCES payments(id), line_no BIGINT NOT NULL, gtin TEXT, slot BIGINT,
  qty BIGINT NOT NULL CHECK (qty > 0), unit_price BIGINT NOT NULL CHECK (unit_price > 0 AND unit_price <= ${SAFE}),
  PRIMARY KEY (payment_id, line_no));
CREATE INDEX IF NOT EXISTS payment_lines_product ON payment_lines(gtin, slot);
CREATE TABLE IF NOT EXISTS ops_actions (
  id TEXT PRIMARY KEY, request_key TEXT NOT NULL UNIQUE, request_hash TEXT NOT NULL, at BIGINT NOT NULL,
  operator TEXT NOT NULL, action TEXT NOT NULL CHECK (action IN ('refund','void')),
  payment_id TEXT NOT NULL REFERENCES payments(id), amount BIGINT NOT NULL ${safe('amount')} CHECK (amount >= 0),
  currency TEXT NOT NULL, reason TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ops_actions_payment ON ops_actions(payment_id);
CREATE INDEX IF NOT EXISTS ops_actions_at ON ops_actions(at);
`;

/**
 * What version 3 added: the Help requests operators marked handled; a merchant's credits as rows of their own, so payments into one merchant do
 * not all update its balance row. A merchant's balance is `accounts.balance` plus its postings; the
 * store moves postings into balances from time to time (pg-sql.ts ROLL_POSTINGS), one statement that
 * changes no total. A posting is only ever inserted by a statement that reads its account's row (a
 * foreign key would check that again on every payment, and accounts are never deleted). And kp_refuse, which conditional writes call to abort their transaction with
 * SQLSTATE KP001 when the row they needed was not there (pg-sql.ts).
 */
export const PG_SCHEMA_V3 = `
CREATE TABLE IF NOT EXISTS help_handled (
  id TEXT PRIMARY KEY, at BIGINT NOT NULL, operator TEXT NOT NULL, kiosk_id TEXT NOT NULL,
  requested_at BIGINT NOT NULL, presses BIGINT NOT NULL CHECK (presses >= 1));
CREATE INDEX IF NOT EXISTS help_handled_at ON help_handled(at);
CREATE TABLE IF NOT EXISTS postings (
  id BIGSERIAL PRIMARY KEY, account_id TEXT NOT NULL, currency TEXT NOT NULL,
  amount BIGINT NOT NULL CHECK (amount > 0 AND amount <= ${SAFE}));
CREATE INDEX IF NOT EXISTS postings_account ON postings(account_id) INCLUDE (amount);
CREATE OR REPLACE FUNCTION kp_refuse(reason TEXT) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION USING ERRCODE = 'KP001', MESSAGE = reason; END $$;
`;

/**
 * What version 4 changed: `transfers` no longer names its accounts by foreign key. A transfer row is
 * only ever inserted by the unit that has just debited one of its accounts and credited the other,
 * each by a conditional write that refuses (KP001) unless it found its row, and accounts are never
 * deleted; the keys checked that again on every payment, two lookups, and each took a KEY SHARE lock
 * on the merchant's account row that every concurrent transaction paying that merchant shared: the
 * one row every payment touched. `postings` never had one, for the same reason.
 */
export const PG_SCHEMA_V4 = `
ALTER TABLE transfers DROP CONSTRAINT IF EXISTS transfers_debit_account_fkey, DROP CONSTRAINT IF EXISTS transfers_credit_account_fkey;
`;

/**
 * What version 5 changed: a wallet's online codes are indexed whether used or not, and their pages
 * are filled to half. The partial index it replaces (WHERE used_by IS NULL) named `used_by`, so
 * using a code at payment could never be a HOT update: each one wrote a new entry into the primary
 * key's index as well as the new row version. Now no index names `used_by`, and the room left in
 * each page lets the new version stay beside the old one (a code is used at most once), so the
 * update writes no index (bench: 86% of uses HOT, about 12% less WAL per payment). Counting a
 * wallet's unused codes, at issue, reads their rows. The fill factor applies to pages written from now on.
 */
export const PG_SCHEMA_V5 = `
DROP INDEX IF EXISTS online_codes_active;
CREATE INDEX IF NOT EXISTS online_codes_wallet ON online_codes(wallet_id, expires_at);
ALTER TABLE online_codes SET (fillfactor = 50);
`;

/**
 * What version 6 added: the offline-QR payments indexed by when they reached the ledger, for the
 * operators' list of stored payments (pg-sql.ts `storedPayments`), which read every payment. Partial,
 * so an online payment adds no entry; building it holds writes to payments for its duration.
 */
export const PG_SCHEMA_V6 = `
CREATE INDEX IF NOT EXISTS payments_offline_created ON payments(created_at) WHERE kind = 'offline-qr';
`;

/** The whole schema of this version, for an empty one. */
export const PG_SCHEMA_ALL = PG_SCHEMA + PG_SCHEMA_V2 + PG_SCHEMA_V3 + PG_SCHEMA_V4 + PG_SCHEMA_V5 + PG_SCHEMA_V6;

/** What each older version lacks, applied in order by the migration. */
export const PG_UPGRADES: Readonly<Record<string, string>> = {
  '1': PG_SCHEMA_V2 + PG_SCHEMA_V3 + PG_SCHEMA_V4 + PG_SCHEMA_V5 + PG_SCHEMA_V6,
  '2': PG_SCHEMA_V3 + PG_SCHEMA_V4 + PG_SCHEMA_V5 + PG_SCHEMA_V6,
  '3': PG_SCHEMA_V4 + PG_SCHEMA_V5 + PG_SCHEMA_V6,
  '4': PG_SCHEMA_V5 + PG_SCHEMA_V6,
  '5': PG_SCHEMA_V6,
};
