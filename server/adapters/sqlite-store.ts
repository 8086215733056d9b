// SPDX-License-Identifier: Apache-2.0
// The embedded store: SQLite through better-sqlite3 in WAL mode. A commit is on disk before its
// promise resolves: after COMMIT the store fsyncs the WAL file itself, on libuv's thread pool, so the
// event loop keeps serving MQTT and HTTP during the flush (SQLite's own synchronous=FULL would fsync
// inside COMMIT and block it). SQLite runs with synchronous=NORMAL, which in WAL mode keeps the
// database consistent on power loss; our fsync before answering adds the durability of FULL. Units
// are committed in groups, pipelined with the fsync, and WAL checkpoints run on a worker thread
// (sqlite-group-commit.ts).
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ErrorCode } from '../../shared/errors.ts';
import { MONEY_MAX, type Currency } from '../../shared/money.ts';
import { balanceLimit } from './balance-limit.ts';
import type { OpsActionRow, PaymentRow, SaleLineRow, Store, StoreTx, Transfer } from '../ports/store.ts';
import { insertHelpHandledParams, refundGroupsParams, reportStatements, salesGroupsParams, searchPaymentsParams } from './report-sql.ts';
import { credentialValues, paymentValues, rowMappers, ns, s, type Row } from './row-mappers.ts';
import { SQLITE_SCHEMA, SQLITE_SCHEMA_UPGRADES_FROM, SQLITE_SCHEMA_VERSION } from './sqlite-schema.ts';
import { STORE_QUEUE_DEFAULTS, storeBusy } from '../ports/store-busy.ts';
import { GroupCommit, type CheckpointPolicy, type StoreStoppedError } from './sqlite-group-commit.ts';

export interface SqliteStoreOptions {
  /** File path, or ':memory:' for tests that do not test durability. */
  path: string;
  /** Units waiting at most; more are refused with StoreBusyError (ports/store-busy.ts). */
  queuedUnitsMax?: number;
  /** When WAL checkpoints run; for tests. */
  checkpoints?: CheckpointPolicy;
  /** Told once if the store stops because a WAL sync failed (sqlite-group-commit.ts); the server exits. */
  onFatal?: (error: StoreStoppedError) => void;
}

/** The offline-QR payments that reached the ledger since a time, newest first (the operators' stored payments); walks payments_offline_created. */
export const STORED_PAYMENTS_SQL = `SELECT * FROM payments WHERE created_at >= ? AND kind = 'offline-qr' AND (status = 'settled' OR (status = 'declined' AND created_at - at >= ?)) ORDER BY created_at DESC, id LIMIT ?`;

export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #commits: GroupCommit;
  readonly #queuedUnitsMax: number;
  #closed = false;

  constructor(o: SqliteStoreOptions) {
    this.#queuedUnitsMax = o.queuedUnitsMax ?? STORE_QUEUE_DEFAULTS.queuedUnitsMax;
    if (o.path !== ':memory:') mkdirSync(dirname(o.path), { recursive: true });
    this.#db = new Database(o.path);
    // A new database gets 2 KiB pages (an existing one keeps its own): a payment dirties about five
    // pages scattered over the indexes, and every dirty page is written whole to the WAL at COMMIT
    // and again by the checkpoint, so smaller pages cost the commit less (bench: about 15% less CPU
    // per payment on the event loop than 4 KiB pages).
    this.#db.pragma('page_size = 2048');
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('foreign_keys = ON');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.exec(SQLITE_SCHEMA);
    const version = this.#db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get() as string | undefined;
    if (version === undefined)
      this.#db.prepare(`INSERT INTO meta (key, value) VALUES ('schema_version', ?)`).run(String(SQLITE_SCHEMA_VERSION));
    // The schema above already added what a newer version has: record the upgrade.
    else if (SQLITE_SCHEMA_UPGRADES_FROM.includes(Number(version)))
      this.#db.prepare(`UPDATE meta SET value = ? WHERE key = 'schema_version'`).run(String(SQLITE_SCHEMA_VERSION));
    else if (Number(version) !== SQLITE_SCHEMA_VERSION) throw new Error(`store schema version ${version} is not ${SQLITE_SCHEMA_VERSION}`);
    this.#commits = new GroupCommit({
      db: this.#db,
      tx: sqliteTx(this.#db),
      path: o.path === ':memory:' ? null : o.path,
      ...(o.checkpoints ? { checkpoints: o.checkpoints } : {}),
      ...(o.onFatal ? { onFatal: o.onFatal } : {}),
    });
  }

  unit<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('store is closed'));
    const busy = storeBusy(this.#commits.queued, this.#queuedUnitsMax);
    if (busy) return Promise.reject(busy);
    return this.#commits.unit(fn);
  }

  /** WAL checkpoints the worker ran, and how many started the WAL over (for tests and the bench). */
  checkpointStats(): { run: number; restarts: number } {
    return { ...this.#commits.checkpoints };
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#commits.close();
    this.#db.close();
  }
}

function sqliteTx(db: Database.Database): StoreTx {
  const st = <P extends unknown[] = unknown[]>(sql: string) => {
    const s = db.prepare<P>(sql);
    return s;
  };
  const reports = reportStatements('sqlite');
  const q = {
    getMeta: st(`SELECT value FROM meta WHERE key = ?`),
    setMeta: st(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`),
    createAccount: st(`INSERT INTO accounts (id, kind, currency, balance, created_at) VALUES (?, ?, ?, ?, ?)`),
    getAccount: st(`SELECT * FROM accounts WHERE id = ?`),
    addBalance: st(`UPDATE accounts SET balance = balance + ? WHERE id = ? AND currency = ?`),
    creditBalance: st(`UPDATE accounts SET balance = balance + ? WHERE id = ? AND currency = ? AND balance <= ? - ?`),
    insertTransfer: st(
      `INSERT INTO transfers (payment_id, debit_account, credit_account, amount, currency, kind, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    totals: st(`SELECT currency, SUM(balance) AS total FROM accounts GROUP BY currency`),
    createWallet: st(`INSERT INTO wallets (id, account_id, token_hash, created_at, offline_blocked) VALUES (?, ?, ?, ?, ?)`),
    getWallet: st(`SELECT * FROM wallets WHERE id = ?`),
    walletByToken: st(`SELECT * FROM wallets WHERE token_hash = ?`),
    setBlocked: st(`UPDATE wallets SET offline_blocked = ? WHERE id = ?`),
    insertCode: st(`INSERT INTO online_codes (code_hash, wallet_id, issued_at, expires_at, used_by) VALUES (?, ?, ?, ?, ?)`),
    getCode: st(`SELECT * FROM online_codes WHERE code_hash = ?`),
    useCode: st(`UPDATE online_codes SET used_by = ? WHERE code_hash = ?`),
    deleteExpired: st(`DELETE FROM online_codes WHERE expires_at < ?`),
    countActive: st(`SELECT COUNT(*) FROM online_codes WHERE wallet_id = ? AND expires_at >= ? AND used_by IS NULL`),
    insertCredential: st(
      `INSERT INTO credentials (id, wallet_id, key_id, bytes, not_before, not_after, numeric_handle, numeric_secret, step_ms, issued_at, revoked_at, revoke_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getCredential: st(`SELECT * FROM credentials WHERE id = ?`),
    credentialByHandle: st(`SELECT * FROM credentials WHERE numeric_handle = ?`),
    revoke: st(`UPDATE credentials SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL`),
    listRevoked: st(`SELECT id FROM credentials WHERE revoked_at IS NOT NULL AND not_after >= ? ORDER BY id`),
    claimUse: st(`INSERT INTO offline_uses (credential_id, form, counter, payment_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`),
    getUse: st(`SELECT payment_id FROM offline_uses WHERE credential_id = ? AND form = ? AND counter = ?`),
    reassignUse: st(`UPDATE offline_uses SET payment_id = ? WHERE credential_id = ? AND form = ? AND counter = ?`),
    insertPayment: st(
      `INSERT INTO payments (id, kiosk_id, tx_id, kind, status, reason, amount, currency, wallet_id, merchant_account, credential_id, counter, at, request_hash, replay, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getPayment: st(`SELECT * FROM payments WHERE id = ?`),
    paymentByTx: st(`SELECT * FROM payments WHERE kiosk_id = ? AND tx_id = ?`),
    updatePayment: st(`UPDATE payments SET status = ?, reason = ?, updated_at = ? WHERE id = ?`),
    offlineUsage: st(
      `SELECT COALESCE(SUM(amount), 0) AS amount, COUNT(*) AS count FROM payments WHERE wallet_id = ? AND at >= ? AND kind IN ('offline-qr', 'offline-numeric') AND status IN ('approved', 'settled')`,
    ),
    salesBuckets: st(
      `SELECT kiosk_id, currency, kind <> 'online' AS offline, (at - CAST(? AS INTEGER)) / CAST(? AS INTEGER) AS bucket, COUNT(*) AS count, SUM(amount) AS amount FROM payments WHERE at >= ? AND at < ? AND status IN ('approved', 'settled') GROUP BY kiosk_id, currency, offline, bucket ORDER BY kiosk_id, currency, offline, bucket`,
    ),
    declineCounts: st(
      `SELECT reason, COUNT(*) AS count FROM payments WHERE at >= ? AND at < ? AND status = 'declined' GROUP BY reason ORDER BY count DESC, reason`,
    ),
    storedPayments: st(STORED_PAYMENTS_SQL),
    insertLine: st(`INSERT INTO payment_lines (payment_id, line_no, gtin, slot, qty, unit_price) VALUES (?, ?, ?, ?, ?, ?)`),
    listLines: st(`SELECT * FROM payment_lines WHERE payment_id IN (SELECT value FROM json_each(?)) ORDER BY payment_id, line_no`),
    salesByKiosk: st(reports.salesByKiosk),
    salesByProduct: st(reports.salesByProduct),
    salesByQuarter: st(reports.salesByQuarter),
    refundsByKiosk: st(reports.refundsByKiosk),
    refundsByQuarter: st(reports.refundsByQuarter),
    searchPayments: st(reports.searchPayments),
    refunded: st(reports.refunded),
    paymentsByWallet: st(reports.paymentsByWallet),
    insertAction: st(
      `INSERT INTO ops_actions (id, request_key, request_hash, at, operator, action, payment_id, amount, currency, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    actionByKey: st(`SELECT * FROM ops_actions WHERE request_key = ?`),
    listActions: st(
      `SELECT * FROM ops_actions WHERE ((at >= ? AND at < ?) OR CAST(? AS TEXT) IS NOT NULL) AND (CAST(? AS TEXT) IS NULL OR payment_id = ?) ORDER BY at DESC, id DESC LIMIT ?`,
    ),
    insertHelpHandled: st(reports.insertHelpHandled),
    listHelpHandled: st(reports.listHelpHandled),
    getKiosk: st(`SELECT * FROM kiosks WHERE id = ?`),
    upsertKiosk: st(
      `INSERT INTO kiosks (id, merchant_account, created_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET merchant_account = excluded.merchant_account`,
    ),
  };
  const one = <T>(s: Database.Statement, map: (r: Row) => T, ...args: unknown[]): T | undefined => {
    const r = s.get(...args) as Row | undefined;
    return r === undefined ? undefined : map(r);
  };
  return {
    async getMeta(key) {
      return q.getMeta.pluck().get(key) as string | undefined;
    },
    async setMeta(key, value) {
      q.setMeta.run(key, value);
    },
    async createAccount(a) {
      q.createAccount.run(a.id, a.kind, a.currency, a.balance, a.createdAt);
    },
    async getAccount(id) {
      return one(q.getAccount, toAccount, id);
    },
    async transfer(t: Transfer) {
      if (q.addBalance.run(-t.amount, t.debitAccount, t.currency).changes !== 1)
        throw new Error(`no ${t.currency} account ${t.debitAccount}`);
      if (q.creditBalance.run(t.amount, t.creditAccount, t.currency, MONEY_MAX, t.amount).changes !== 1) {
        throw q.getAccount.get(t.creditAccount) ? balanceLimit(t) : new Error(`no ${t.currency} account ${t.creditAccount}`);
      }
      q.insertTransfer.run(t.paymentId, t.debitAccount, t.creditAccount, t.amount, t.currency, t.kind, t.at);
    },
    async balanceTotals() {
      const m = new Map<Currency, number>();
      for (const r of q.totals.all() as Row[]) m.set(r['currency'] as Currency, Number(r['total']));
      return m;
    },
    async createWallet(w) {
      q.createWallet.run(w.id, w.accountId, w.tokenHash, w.createdAt, w.offlineBlocked);
    },
    async getWallet(id) {
      return one(q.getWallet, toWallet, id);
    },
    async findWalletByTokenHash(hash) {
      return one(q.walletByToken, toWallet, hash);
    },
    async setWalletOfflineBlocked(id, reason) {
      q.setBlocked.run(reason, id);
    },
    async insertOnlineCode(c) {
      q.insertCode.run(c.codeHash, c.walletId, c.issuedAt, c.expiresAt, c.usedBy);
    },
    async getOnlineCode(h) {
      return one(q.getCode, toCode, h);
    },
    async markOnlineCodeUsed(h, paymentId) {
      q.useCode.run(paymentId, h);
    },
    async deleteExpiredOnlineCodes(before) {
      return q.deleteExpired.run(before).changes;
    },
    async countActiveOnlineCodes(walletId, now) {
      return Number(q.countActive.pluck().get(walletId, now));
    },
    async insertCredential(c) {
      q.insertCredential.run(...credentialValues(c));
    },
    async getCredential(id) {
      return one(q.getCredential, toCredential, id);
    },
    async findCredentialByHandle(h) {
      return one(q.credentialByHandle, toCredential, h);
    },
    async revokeCredential(id, at, reason) {
      q.revoke.run(at, reason, id);
    },
    async listRevokedCredentialIds(now) {
      return q.listRevoked.pluck().all(now) as string[];
    },
    async claimOfflineUse(credentialId, form, counter, paymentId) {
      return q.claimUse.run(credentialId, form, counter, paymentId).changes === 1;
    },
    async getOfflineUse(credentialId, form, counter) {
      return q.getUse.pluck().get(credentialId, form, counter) as string | undefined;
    },
    async reassignOfflineUse(credentialId, form, counter, paymentId) {
      if (q.reassignUse.run(paymentId, credentialId, form, counter).changes !== 1)
        throw new Error(`offline use ${credentialId}/${form}/${counter} does not exist`);
    },
    async insertPayment(p: PaymentRow) {
      q.insertPayment.run(...paymentValues(p, (b) => (b ? 1 : 0)));
    },
    async getPayment(id) {
      return one(q.getPayment, toPayment, id);
    },
    async getPaymentByTx(kioskId, txId) {
      return one(q.paymentByTx, toPayment, kioskId, txId);
    },
    async updatePayment(id, status, reason, at) {
      q.updatePayment.run(status, reason, at, id);
    },
    async listPaymentsByWallet(walletId, limit) {
      return (q.paymentsByWallet.all(walletId, limit) as Row[]).map((r) => ({ ...toPayment(r), refunded: n(r, 'refunded') }));
    },
    async offlineUsage(walletId, since) {
      const r = q.offlineUsage.get(walletId, since) as Row;
      return { amount: Number(r['amount']), count: Number(r['count']) };
    },
    async salesBuckets(from, to, bucketMs) {
      return (q.salesBuckets.all(from, bucketMs, from, to) as Row[]).map((r) => ({
        kioskId: s(r, 'kiosk_id'),
        currency: s(r, 'currency') as Currency,
        offline: n(r, 'offline') === 1,
        bucket: n(r, 'bucket'),
        count: n(r, 'count'),
        amount: n(r, 'amount'),
      }));
    },
    async declineCounts(from, to) {
      return (q.declineCounts.all(from, to) as Row[]).map((r) => ({ reason: ns(r, 'reason') as ErrorCode | null, count: n(r, 'count') }));
    },
    async listStoredPayments(since, lead, limit) {
      return (q.storedPayments.all(since, lead, limit) as Row[]).map(toPayment);
    },
    async insertPaymentLines(paymentId, lines) {
      for (const [i, l] of lines.entries()) q.insertLine.run(paymentId, i + 1, l.gtin, l.slot, l.qty, l.unitPrice);
    },
    async listPaymentLines(ids) {
      const m = new Map<string, SaleLineRow[]>();
      if (ids.length === 0) return m;
      for (const r of q.listLines.all(JSON.stringify(ids)) as Row[]) {
        const list = m.get(s(r, 'payment_id')) ?? [];
        list.push(toLine(r));
        m.set(s(r, 'payment_id'), list);
      }
      return m;
    },
    async salesGroups(f, by) {
      const stmt = by === 'kiosk' ? q.salesByKiosk : by === 'product' ? q.salesByProduct : q.salesByQuarter;
      return (stmt.all(...salesGroupsParams(f)) as Row[]).map(toSalesGroup);
    },
    async refundGroups(f, by) {
      return ((by === 'kiosk' ? q.refundsByKiosk : q.refundsByQuarter).all(...refundGroupsParams(f)) as Row[]).map(toRefundGroup);
    },
    async searchPayments(query, limit) {
      return (q.searchPayments.all(...searchPaymentsParams(query, limit)) as Row[]).map((r) => ({
        ...toPayment(r),
        refunded: n(r, 'refunded'),
      }));
    },
    async refundedAmount(paymentId) {
      return n(q.refunded.get(paymentId) as Row, 'refunded');
    },
    async insertOpsAction(a: OpsActionRow) {
      q.insertAction.run(a.id, a.requestKey, a.requestHash, a.at, a.operator, a.action, a.paymentId, a.amount, a.currency, a.reason);
    },
    async getOpsActionByKey(key) {
      return one(q.actionByKey, toAction, key);
    },
    async listOpsActions(query, limit) {
      return (q.listActions.all(query.fromMs, query.toMs, query.paymentId, query.paymentId, query.paymentId, limit) as Row[]).map(toAction);
    },
    async insertHelpHandled(h) {
      q.insertHelpHandled.run(...insertHelpHandledParams(h));
    },
    async listHelpHandled(query, limit) {
      return (q.listHelpHandled.all(query.fromMs, query.toMs, limit) as Row[]).map(toHelpHandled);
    },
    async getKiosk(id) {
      return one(q.getKiosk, toKiosk, id);
    },
    async upsertKiosk(k) {
      q.upsertKiosk.run(k.id, k.merchantAccount, k.createdAt);
    },
  };
}

const n = (r: Row, k: string) => Number(r[k]);
const { toAccount, toWallet, toCode, toCredential, toPayment, toKiosk, toLine, toSalesGroup, toRefundGroup, toAction, toHelpHandled } =
  rowMappers(n, (r, k) => n(r, k) === 1);
