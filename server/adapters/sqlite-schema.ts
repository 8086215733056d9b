// SPDX-License-Identifier: Apache-2.0
// SQLite schema, version 5. Amounts are INTEGER minor units; times are INTEGER Unix milliseconds.
// Version 2 added what the operator dashboard needs: the lines of a sale (payment_lines), the
// operators' refunds and voids (ops_actions) and an index on payments(at); version 3 the Help
// requests operators marked handled (help_handled); version 4 indexes a wallet's online codes
// whether used or not (online_codes_wallet), so that using a code changes its row and no index
// page. The partial index it replaces (WHERE used_by IS NULL) lost an entry at every payment, on a
// leaf page of its own: a third of the WAL pages a payment wrote. Counting a wallet's unused codes
// (at issue, not at payment) now reads their rows. Version 5 indexes the offline-QR payments by
// when they reached the ledger (payments_offline_created, partial: an online payment adds no entry),
// for the operators' list of stored payments, which scanned every payment. Every statement is
// idempotent, so opening an older database brings it up to date (and the store then records
// version 5).
export const SQLITE_SCHEMA_VERSION = 5;
/** Older versions the store upgrades in place when it opens them. */
export const SQLITE_SCHEMA_UPGRADES_FROM: readonly number[] = [1, 2, 3, 4];

export const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS accounts (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('issuance','shopper','merchant')),
  currency TEXT NOT NULL, balance INTEGER NOT NULL, created_at INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS transfers (
  id INTEGER PRIMARY KEY AUTOINCREMENT, payment_id TEXT, debit_account TEXT NOT NULL REFERENCES accounts(id),
  credit_account TEXT NOT NULL REFERENCES accounts(id), amount INTEGER NOT NULL CHECK (amount > 0),
  currency TEXT NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL) STRICT;
CREATE INDEX IF NOT EXISTS transfers_payment ON transfers(payment_id);
CREATE TABLE IF NOT EXISTS wallets (
  id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), token_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL, offline_blocked TEXT) STRICT;
CREATE TABLE IF NOT EXISTS online_codes (
  code_hash TEXT PRIMARY KEY, wallet_id TEXT NOT NULL, issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  used_by TEXT) STRICT;
DROP INDEX IF EXISTS online_codes_active;
CREATE INDEX IF NOT EXISTS online_codes_wallet ON online_codes(wallet_id, expires_at);
CREATE TABLE IF NOT EXISTS credentials (
  id TEXT PRIMARY KEY, wallet_id TEXT NOT NULL, key_id INTEGER NOT NULL, bytes BLOB NOT NULL,
  not_before INTEGER NOT NULL, not_after INTEGER NOT NULL, numeric_handle TEXT NOT NULL UNIQUE,
  numeric_secret BLOB NOT NULL, step_ms INTEGER NOT NULL, issued_at INTEGER NOT NULL,
  revoked_at INTEGER, revoke_reason TEXT) STRICT;
CREATE INDEX IF NOT EXISTS credentials_wallet ON credentials(wallet_id);
CREATE TABLE IF NOT EXISTS offline_uses (
  credential_id TEXT NOT NULL, form TEXT NOT NULL, counter INTEGER NOT NULL, payment_id TEXT NOT NULL,
  PRIMARY KEY (credential_id, form, counter)) STRICT;
CREATE TABLE IF NOT EXISTS payments (
  id TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, tx_id TEXT NOT NULL, kind TEXT, status TEXT NOT NULL,
  reason TEXT, amount INTEGER NOT NULL, currency TEXT NOT NULL, wallet_id TEXT, merchant_account TEXT NOT NULL,
  credential_id TEXT, counter INTEGER, at INTEGER NOT NULL, request_hash TEXT NOT NULL, replay INTEGER NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, UNIQUE (kiosk_id, tx_id)) STRICT;
CREATE INDEX IF NOT EXISTS payments_wallet ON payments(wallet_id, at);
CREATE TABLE IF NOT EXISTS kiosks (id TEXT PRIMARY KEY, merchant_account TEXT NOT NULL, created_at INTEGER NOT NULL) STRICT;
CREATE INDEX IF NOT EXISTS payments_at ON payments(at);
CREATE INDEX IF NOT EXISTS payments_offline_created ON payments(created_at) WHERE kind = 'offline-qr';
CREATE TABLE IF NOT EXISTS payment_lines (
  payment_id TEXT NOT NULL REFERENCES payments(id), line_no INTEGER NOT NULL, gtin TEXT, slot INTEGER,
  qty INTEGER NOT NULL CHECK (qty > 0), unit_price INTEGER NOT NULL CHECK (unit_price > 0),
  PRIMARY KEY (payment_id, line_no)) STRICT;
CREATE INDEX IF NOT EXISTS payment_lines_product ON payment_lines(gtin, slot);
CREATE TABLE IF NOT EXISTS ops_actions (
  id TEXT PRIMARY KEY, request_key TEXT NOT NULL UNIQUE, request_hash TEXT NOT NULL, at INTEGER NOT NULL,
  operator TEXT NOT NULL, action TEXT NOT NULL CHECK (action IN ('refund','void')),
  payment_id TEXT NOT NULL REFERENCES payments(id), amount INTEGER NOT NULL CHECK (amount >= 0),
  currency TEXT NOT NULL, reason TEXT NOT NULL) STRICT;
CREATE INDEX IF NOT EXISTS ops_actions_payment ON ops_actions(payment_id);
CREATE INDEX IF NOT EXISTS ops_actions_at ON ops_actions(at);
CREATE TABLE IF NOT EXISTS help_handled (
  id TEXT PRIMARY KEY, at INTEGER NOT NULL, operator TEXT NOT NULL, kiosk_id TEXT NOT NULL,
  requested_at INTEGER NOT NULL, presses INTEGER NOT NULL CHECK (presses >= 1)) STRICT;
CREATE INDEX IF NOT EXISTS help_handled_at ON help_handled(at);
`;
