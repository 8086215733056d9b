// SPDX-License-Identifier: Apache-2.0
// The shared store: PostgreSQL through `pg`, for several server replicas on one database. Semantics
// match the SQLite adapter (the contract suite in server/ports/store-contract.ts is the judge): units of
// one store run one at a time in submission order, committed in groups. Every round trip counts (a
// unit is about ten statements), so a group has no SAVEPOINT per unit: when a unit throws, the group is
// rolled back and its units run again one transaction each, so the failing unit rolls back alone.
// Every group runs SERIALIZABLE, so units of different replicas behave
// as if run one after another; when PostgreSQL cannot guarantee that it aborts one transaction with a
// serialization failure (40001) or deadlock (40P01), and the store runs the units again: a failed group
// is split, and each unit is retried on its own, a bounded number of times with jittered backoff.
// Optimism alone can starve a unit on a hot row (every payment of one merchant credits the same
// account), so a unit that keeps losing escalates: it takes an exclusive advisory lock before its
// transaction, while every ordinary transaction runs under the shared form of that lock. The escalated
// unit then runs alone, with a snapshot taken after everyone else committed, and cannot lose again.
// Unique keys on (kiosk, txId) and (credential, form, counter) make a double settlement impossible
// even if the isolation level were lowered by mistake.
import pg from 'pg';
import type { ErrorCode } from '../../shared/errors.ts';
import { MONEY_MAX, type Currency } from '../../shared/money.ts';
import { balanceLimit } from './balance-limit.ts';
import { cryptoRandom, type Random } from '../../shared/random.ts';
import type { OpsActionRow, PaymentRow, SaleLineRow, Store, StoreTx, Transfer } from '../ports/store.ts';
import {
  numbered,
  REFUNDED_SQL,
  refundGroupsParams,
  refundGroupsSql,
  salesGroupsParams,
  salesGroupsSql,
  searchPaymentsParams,
  searchPaymentsSql,
  INSERT_HELP_HANDLED_SQL,
  insertHelpHandledParams,
  listHelpHandledSql,
} from './report-sql.ts';
import { rowMappers, ns, s, type Row } from './row-mappers.ts';
import { PG_MIGRATION_LOCK_KEY, PG_SCHEMA, PG_SCHEMA_V2, PG_SCHEMA_V3, PG_SCHEMA_VERSION } from './pg-schema.ts';
import { STORE_QUEUE_DEFAULTS, storeBusy } from '../ports/store-busy.ts';

/** Units committed together at most; bounds the work one serialization failure throws away. */
const GROUP_UNITS_MAX = 64;
/** Key of the advisory lock that orders ordinary (shared) and escalated (exclusive) transactions. */
const UNIT_LOCK_KEY = '7596553802335907185';
/** SQLSTATEs after which the whole transaction is run again. */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

export interface PgStoreOptions {
  /** postgres://user@host:port/database (the server's DATABASE_URL). */
  connectionString: string;
  /** Schema for the tables, created if missing; default: the role's search_path (usually public). */
  schema?: string;
  /** Connections in the pool. Units run one at a time; a second connection covers a broken one. */
  poolSize?: number;
  /** Attempts after the first, per unit, on serialization failure or deadlock. */
  retriesMax?: number;
  /** From this attempt on (0 = the first), a unit runs alone under the exclusive lock; Infinity never. */
  escalateFromAttempt?: number;
  /** Backoff before retry n is uniform in [0, min(backoffMaxMs, backoffBaseMs * 2^n)). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Server-side limit on one statement, and client-side limit on one query's answer. */
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Jitter source (seeded in tests). */
  random?: Random;
  /** How the store waits between retries (a fake in tests). */
  sleep?: (ms: number) => Promise<void>;
  /** Errors of idle connections (network loss, server restart); the pool replaces the connection. */
  onError?: (err: Error) => void;
  /** Units waiting at most; more are refused with StoreBusyError (ports/store-busy.ts). */
  queuedUnitsMax?: number;
}

/** A unit gave up after its retries: other replicas kept conflicting with it. Nothing was committed. */
export class StoreContentionError extends Error {
  override readonly name = 'StoreContentionError';
  constructor(
    readonly attempts: number,
    options: { cause: unknown },
  ) {
    super(`store unit aborted by concurrent transactions ${attempts} times; nothing was committed`, options);
  }
}

interface Pending {
  fn: (tx: StoreTx) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
type Attempt =
  | { kind: 'committed'; outcomes: Outcome[] }
  /** A unit of a group threw: nothing was committed; run the units alone. */
  | { kind: 'split' }
  | { kind: 'retry'; error: unknown }
  | { kind: 'failed'; error: unknown };

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export class PgStore implements Store {
  readonly #pool: pg.Pool;
  readonly #ready: Promise<void>;
  readonly #retriesMax: number;
  readonly #escalateFromAttempt: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  readonly #random: Random;
  readonly #sleep: (ms: number) => Promise<void>;
  #queue: Pending[] = [];
  readonly #queuedUnitsMax: number;
  #draining: Promise<void> | undefined;
  #closed = false;
  #retries = 0;

  constructor(o: PgStoreOptions) {
    if (o.schema !== undefined && !SCHEMA_NAME.test(o.schema)) throw new Error(`invalid schema name ${JSON.stringify(o.schema)}`);
    const statementTimeoutMs = o.statementTimeoutMs ?? 10_000;
    this.#queuedUnitsMax = o.queuedUnitsMax ?? STORE_QUEUE_DEFAULTS.queuedUnitsMax;
    this.#pool = new pg.Pool({
      connectionString: o.connectionString,
      max: o.poolSize ?? 2,
      connectionTimeoutMillis: o.connectTimeoutMs ?? 5_000,
      statement_timeout: statementTimeoutMs,
      query_timeout: statementTimeoutMs + 1_000,
      idle_in_transaction_session_timeout: statementTimeoutMs * 3,
      ...(o.schema === undefined ? {} : { options: `-c search_path=${o.schema}` }),
    });
    const onError = o.onError ?? (() => {});
    this.#pool.on('error', onError);
    this.#retriesMax = o.retriesMax ?? 8;
    this.#escalateFromAttempt = o.escalateFromAttempt ?? 3;
    this.#backoffBaseMs = o.backoffBaseMs ?? 2;
    this.#backoffMaxMs = o.backoffMaxMs ?? 100;
    this.#random = o.random ?? cryptoRandom;
    this.#sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#ready = this.#migrate(o.schema);
    // Units see a failed migration as their own rejection; this keeps it from being unhandled meanwhile.
    this.#ready.catch(() => {});
  }

  /** Resolves once the schema is in place; rejects if the database is unreachable or of another version. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Transactions run again after a serialization failure or deadlock, since this store opened. */
  get retries(): number {
    return this.#retries;
  }

  async #migrate(schema: string | undefined): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [PG_MIGRATION_LOCK_KEY.toString()]);
      if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      // DDL only on an empty schema: even CREATE INDEX IF NOT EXISTS locks its table, and would
      // deadlock with the units other replicas are running. The migration is one transaction, so a
      // schema is either complete (meta holds its version) or absent.
      const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('meta')::text AS t`);
      if (exists.rows[0]?.t === null) await client.query(PG_SCHEMA + PG_SCHEMA_V2 + PG_SCHEMA_V3);
      const r = await client.query<{ value: string }>(`SELECT value FROM meta WHERE key = 'schema_version'`);
      const version = r.rows[0]?.value;
      if (version === undefined)
        await client.query(`INSERT INTO meta (key, value) VALUES ('schema_version', $1)`, [String(PG_SCHEMA_VERSION)]);
      else if (version === '1' || version === '2') {
        // An older schema gains the newer versions' tables, once, under the lock.
        await client.query(version === '1' ? PG_SCHEMA_V2 + PG_SCHEMA_V3 : PG_SCHEMA_V3);
        await client.query(`UPDATE meta SET value = $1 WHERE key = 'schema_version'`, [String(PG_SCHEMA_VERSION)]);
      } else if (Number(version) !== PG_SCHEMA_VERSION) throw new Error(`store schema version ${version} is not ${PG_SCHEMA_VERSION}`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  unit<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('store is closed'));
    const busy = storeBusy(this.#queue.length, this.#queuedUnitsMax);
    if (busy) return Promise.reject(busy);
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      this.#draining ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    try {
      await this.#ready;
      while (this.#queue.length > 0) await this.#runGroup(this.#queue.splice(0, GROUP_UNITS_MAX));
    } catch (error) {
      // Only the migration can fail here (#runGroup settles every unit itself).
      for (const p of this.#queue.splice(0)) p.reject(error);
    } finally {
      this.#draining = undefined;
    }
  }

  /** Commits a group, or, when concurrency aborted it, each of its units on its own with retries. */
  async #runGroup(group: Pending[], firstAttempt = 0): Promise<void> {
    for (let attempt = firstAttempt; ; attempt++) {
      const a = await this.#attempt(group, attempt >= this.#escalateFromAttempt);
      if (a.kind === 'committed') {
        group.forEach((p, i) => {
          const o = a.outcomes[i]!;
          if (o.ok) p.resolve(o.value);
          else p.reject(o.error);
        });
        return;
      }
      if (a.kind === 'failed') {
        for (const p of group) p.reject(a.error);
        return;
      }
      if (a.kind === 'split') {
        for (const p of group) await this.#runGroup([p], attempt);
        return;
      }
      this.#retries++;
      if (group.length > 1) {
        for (const p of group) await this.#runGroup([p], attempt + 1);
        return;
      }
      if (attempt >= this.#retriesMax) {
        group[0]!.reject(new StoreContentionError(attempt + 1, { cause: a.error }));
        return;
      }
      await this.#sleep(this.#backoffMs(attempt));
    }
  }

  #backoffMs(attempt: number): number {
    const capMs = Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** attempt);
    const b = this.#random.bytes(4);
    const u = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    return (u / 2 ** 32) * capMs;
  }

  async #attempt(group: Pending[], alone: boolean): Promise<Attempt> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      return { kind: 'failed', error };
    }
    // A checked-out connection that breaks emits 'error'; the query in flight rejects with it as well.
    let broken: Error | undefined;
    const onBroken = (e: Error) => {
      broken = e;
    };
    client.on('error', onBroken);
    const tx = pgTx(client);
    const outcomes: Outcome[] = [];
    // Session-level, taken before BEGIN: the transaction's snapshot is then taken after the lock is held.
    const lockFn = alone ? 'pg_advisory_lock' : 'pg_advisory_lock_shared';
    try {
      await client.query(`SELECT ${lockFn}($1)`, [UNIT_LOCK_KEY]);
    } catch (error) {
      client.off('error', onBroken);
      client.release(broken ?? (error as Error));
      return { kind: 'failed', error };
    }
    try {
      await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      for (const p of group) {
        try {
          outcomes.push({ ok: true, value: await p.fn(tx) });
        } catch (error) {
          if (isRetryable(error)) throw error;
          await client.query('ROLLBACK').catch((e: Error) => {
            broken ??= e;
          });
          return group.length === 1 ? { kind: 'committed', outcomes: [{ ok: false, error }] } : { kind: 'split' };
        }
      }
      await client.query('COMMIT');
      return { kind: 'committed', outcomes };
    } catch (error) {
      if (broken === undefined)
        await client.query('ROLLBACK').catch((e: Error) => {
          broken = e;
        });
      return isRetryable(error) ? { kind: 'retry', error } : { kind: 'failed', error };
    } finally {
      // A pooled connection must never keep the lock: if unlocking fails, the connection is closed.
      if (broken === undefined)
        await client
          .query(`SELECT ${alone ? 'pg_advisory_unlock' : 'pg_advisory_unlock_shared'}($1)`, [UNIT_LOCK_KEY])
          .catch((e: Error) => {
            broken = e;
          });
      client.off('error', onBroken);
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#draining) await this.#draining;
    await this.#pool.end();
  }
}

/** A serialization failure or deadlock, possibly wrapped by the unit's own code. */
function isRetryable(error: unknown): boolean {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_SQLSTATES.has(code)) return true;
  }
  return false;
}

/** Each statement is prepared once per connection, under its name. */
const SQL = {
  getMeta: `SELECT value FROM meta WHERE key = $1`,
  setMeta: `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  createAccount: `INSERT INTO accounts (id, kind, currency, balance, created_at) VALUES ($1, $2, $3, $4, $5)`,
  getAccount: `SELECT * FROM accounts WHERE id = $1`,
  addBalance: `UPDATE accounts SET balance = balance + $1 WHERE id = $2 AND currency = $3`,
  creditBalance: `UPDATE accounts SET balance = balance + $1 WHERE id = $2 AND currency = $3 AND balance <= $4::bigint - $1`,
  insertTransfer: `INSERT INTO transfers (payment_id, debit_account, credit_account, amount, currency, kind, at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  totals: `SELECT currency, SUM(balance) AS total FROM accounts GROUP BY currency ORDER BY currency COLLATE "C"`,
  createWallet: `INSERT INTO wallets (id, account_id, token_hash, created_at, offline_blocked) VALUES ($1, $2, $3, $4, $5)`,
  getWallet: `SELECT * FROM wallets WHERE id = $1`,
  walletByToken: `SELECT * FROM wallets WHERE token_hash = $1`,
  setBlocked: `UPDATE wallets SET offline_blocked = $1 WHERE id = $2`,
  insertCode: `INSERT INTO online_codes (code_hash, wallet_id, issued_at, expires_at, used_by) VALUES ($1, $2, $3, $4, $5)`,
  getCode: `SELECT * FROM online_codes WHERE code_hash = $1`,
  useCode: `UPDATE online_codes SET used_by = $1 WHERE code_hash = $2`,
  deleteExpired: `DELETE FROM online_codes WHERE expires_at < $1`,
  countActive: `SELECT COUNT(*) AS n FROM online_codes WHERE wallet_id = $1 AND expires_at >= $2 AND used_by IS NULL`,
  insertCredential: `INSERT INTO credentials (id, wallet_id, key_id, bytes, not_before, not_after, numeric_handle, numeric_secret, step_ms, issued_at, revoked_at, revoke_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
  getCredential: `SELECT * FROM credentials WHERE id = $1`,
  credentialByHandle: `SELECT * FROM credentials WHERE numeric_handle = $1`,
  revoke: `UPDATE credentials SET revoked_at = $1, revoke_reason = $2 WHERE id = $3 AND revoked_at IS NULL`,
  listRevoked: `SELECT id FROM credentials WHERE revoked_at IS NOT NULL AND not_after >= $1 ORDER BY id COLLATE "C"`,
  claimUse: `INSERT INTO offline_uses (credential_id, form, counter, payment_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
  getUse: `SELECT payment_id FROM offline_uses WHERE credential_id = $1 AND form = $2 AND counter = $3`,
  reassignUse: `UPDATE offline_uses SET payment_id = $4 WHERE credential_id = $1 AND form = $2 AND counter = $3`,
  insertPayment: `INSERT INTO payments (id, kiosk_id, tx_id, kind, status, reason, amount, currency, wallet_id, merchant_account, credential_id, counter, at, request_hash, replay, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
  getPayment: `SELECT * FROM payments WHERE id = $1`,
  paymentByTx: `SELECT * FROM payments WHERE kiosk_id = $1 AND tx_id = $2`,
  updatePayment: `UPDATE payments SET status = $1, reason = $2, updated_at = $3 WHERE id = $4`,
  paymentsByWallet: `SELECT * FROM payments WHERE wallet_id = $1 ORDER BY at DESC, created_at DESC LIMIT $2`,
  offlineUsage: `SELECT COALESCE(SUM(amount), 0) AS amount, COUNT(*) AS count FROM payments WHERE wallet_id = $1 AND at >= $2 AND kind IN ('offline-qr', 'offline-numeric') AND status IN ('approved', 'settled')`,
  salesBuckets: `SELECT kiosk_id, currency, kind <> 'online' AS offline, (at - $1::bigint) / $3::bigint AS bucket, COUNT(*) AS count, SUM(amount) AS amount FROM payments WHERE at >= $1 AND at < $2 AND status IN ('approved', 'settled') GROUP BY kiosk_id, currency, offline, bucket ORDER BY kiosk_id COLLATE "C", currency COLLATE "C", offline, bucket`,
  declineCounts: `SELECT reason, COUNT(*) AS count FROM payments WHERE at >= $1 AND at < $2 AND status = 'declined' GROUP BY reason ORDER BY count DESC, reason COLLATE "C" NULLS FIRST`,
  storedPayments: `SELECT * FROM payments WHERE created_at >= $1 AND kind = 'offline-qr' AND (status = 'settled' OR (status = 'declined' AND created_at - at >= $2)) ORDER BY created_at DESC, id COLLATE "C" LIMIT $3`,
  insertLines: `INSERT INTO payment_lines (payment_id, line_no, gtin, slot, qty, unit_price) SELECT $1, l.n, l.gtin, l.slot, l.qty, l.unit_price FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[]) AS l(n, gtin, slot, qty, unit_price)`,
  listLines: `SELECT * FROM payment_lines WHERE payment_id = ANY($1::text[]) ORDER BY payment_id COLLATE "C", line_no`,
  salesByKiosk: numbered(salesGroupsSql('kiosk')),
  salesByProduct: numbered(salesGroupsSql('product')),
  salesByQuarter: numbered(salesGroupsSql('quarter-hour')),
  refundsByKiosk: numbered(refundGroupsSql('kiosk')),
  refundsByQuarter: numbered(refundGroupsSql('quarter-hour')),
  searchPayments: numbered(searchPaymentsSql('pg')),
  refunded: numbered(REFUNDED_SQL),
  insertAction: `INSERT INTO ops_actions (id, request_key, request_hash, at, operator, action, payment_id, amount, currency, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
  actionByKey: `SELECT * FROM ops_actions WHERE request_key = $1`,
  listActions: `SELECT * FROM ops_actions WHERE ((at >= $1 AND at < $2) OR $3::text IS NOT NULL) AND ($3::text IS NULL OR payment_id = $3) ORDER BY at DESC, id COLLATE "C" DESC LIMIT $4`,
  insertHelpHandled: numbered(INSERT_HELP_HANDLED_SQL),
  listHelpHandled: numbered(listHelpHandledSql('pg')),
  getKiosk: `SELECT * FROM kiosks WHERE id = $1`,
  upsertKiosk: `INSERT INTO kiosks (id, merchant_account, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET merchant_account = excluded.merchant_account`,
} as const;

function pgTx(client: pg.PoolClient): StoreTx {
  const run = (name: keyof typeof SQL, values: unknown[]) => client.query<Row>({ name: `kp_${name}`, text: SQL[name], values });
  const rows = async (name: keyof typeof SQL, values: unknown[]) => (await run(name, values)).rows;
  const one = async <T>(name: keyof typeof SQL, map: (r: Row) => T, values: unknown[]): Promise<T | undefined> => {
    const r = (await run(name, values)).rows[0];
    return r === undefined ? undefined : map(r);
  };
  const changes = async (name: keyof typeof SQL, values: unknown[]) => (await run(name, values)).rowCount ?? 0;
  return {
    async getMeta(key) {
      return one('getMeta', (r) => s(r, 'value'), [key]);
    },
    async setMeta(key, value) {
      await run('setMeta', [key, value]);
    },
    async createAccount(a) {
      await run('createAccount', [a.id, a.kind, a.currency, a.balance, a.createdAt]);
    },
    async getAccount(id) {
      return one('getAccount', toAccount, [id]);
    },
    async transfer(t: Transfer) {
      if ((await changes('addBalance', [-t.amount, t.debitAccount, t.currency])) !== 1)
        throw new Error(`no ${t.currency} account ${t.debitAccount}`);
      if ((await changes('creditBalance', [t.amount, t.creditAccount, t.currency, MONEY_MAX])) !== 1) {
        throw (await rows('getAccount', [t.creditAccount])).length > 0
          ? balanceLimit(t)
          : new Error(`no ${t.currency} account ${t.creditAccount}`);
      }
      await run('insertTransfer', [t.paymentId, t.debitAccount, t.creditAccount, t.amount, t.currency, t.kind, t.at]);
    },
    async balanceTotals() {
      const m = new Map<Currency, number>();
      for (const r of await rows('totals', [])) m.set(s(r, 'currency') as Currency, n(r, 'total'));
      return m;
    },
    async createWallet(w) {
      await run('createWallet', [w.id, w.accountId, w.tokenHash, w.createdAt, w.offlineBlocked]);
    },
    async getWallet(id) {
      return one('getWallet', toWallet, [id]);
    },
    async findWalletByTokenHash(hash) {
      return one('walletByToken', toWallet, [hash]);
    },
    async setWalletOfflineBlocked(id, reason) {
      await run('setBlocked', [reason, id]);
    },
    async insertOnlineCode(c) {
      await run('insertCode', [c.codeHash, c.walletId, c.issuedAt, c.expiresAt, c.usedBy]);
    },
    async getOnlineCode(h) {
      return one('getCode', toCode, [h]);
    },
    async markOnlineCodeUsed(h, paymentId) {
      await run('useCode', [paymentId, h]);
    },
    async deleteExpiredOnlineCodes(before) {
      return changes('deleteExpired', [before]);
    },
    async countActiveOnlineCodes(walletId, now) {
      return n((await rows('countActive', [walletId, now]))[0]!, 'n');
    },
    async insertCredential(c) {
      await run('insertCredential', [
        c.id,
        c.walletId,
        c.keyId,
        c.bytes,
        c.notBefore,
        c.notAfter,
        c.numericHandle,
        c.numericSecret,
        c.stepMs,
        c.issuedAt,
        c.revokedAt,
        c.revokeReason,
      ]);
    },
    async getCredential(id) {
      return one('getCredential', toCredential, [id]);
    },
    async findCredentialByHandle(h) {
      return one('credentialByHandle', toCredential, [h]);
    },
    async revokeCredential(id, at, reason) {
      await run('revoke', [at, reason, id]);
    },
    async listRevokedCredentialIds(now) {
      return (await rows('listRevoked', [now])).map((r) => s(r, 'id'));
    },
    async claimOfflineUse(credentialId, form, counter, paymentId) {
      return (await changes('claimUse', [credentialId, form, counter, paymentId])) === 1;
    },
    async getOfflineUse(credentialId, form, counter) {
      return one('getUse', (r) => s(r, 'payment_id'), [credentialId, form, counter]);
    },
    async reassignOfflineUse(credentialId, form, counter, paymentId) {
      if ((await changes('reassignUse', [credentialId, form, counter, paymentId])) !== 1)
        throw new Error(`offline use ${credentialId}/${form}/${counter} does not exist`);
    },
    async insertPayment(p: PaymentRow) {
      await run('insertPayment', [
        p.id,
        p.kioskId,
        p.txId,
        p.kind,
        p.status,
        p.reason,
        p.amount,
        p.currency,
        p.walletId,
        p.merchantAccount,
        p.credentialId,
        p.counter,
        p.at,
        p.requestHash,
        p.replay,
        p.createdAt,
        p.updatedAt,
      ]);
    },
    async getPayment(id) {
      return one('getPayment', toPayment, [id]);
    },
    async getPaymentByTx(kioskId, txId) {
      return one('paymentByTx', toPayment, [kioskId, txId]);
    },
    async updatePayment(id, status, reason, at) {
      await run('updatePayment', [status, reason, at, id]);
    },
    async listPaymentsByWallet(walletId, limit) {
      return (await rows('paymentsByWallet', [walletId, limit])).map(toPayment);
    },
    async offlineUsage(walletId, since) {
      const r = (await rows('offlineUsage', [walletId, since]))[0]!;
      return { amount: n(r, 'amount'), count: n(r, 'count') };
    },
    async salesBuckets(from, to, bucketMs) {
      return (await rows('salesBuckets', [from, to, bucketMs])).map((r) => ({
        kioskId: s(r, 'kiosk_id'),
        currency: s(r, 'currency') as Currency,
        offline: r['offline'] === true,
        bucket: n(r, 'bucket'),
        count: n(r, 'count'),
        amount: n(r, 'amount'),
      }));
    },
    async declineCounts(from, to) {
      return (await rows('declineCounts', [from, to])).map((r) => ({ reason: ns(r, 'reason') as ErrorCode | null, count: n(r, 'count') }));
    },
    async listStoredPayments(since, lead, limit) {
      return (await rows('storedPayments', [since, lead, limit])).map(toPayment);
    },
    async insertPaymentLines(paymentId, lines) {
      if (lines.length === 0) return;
      await run('insertLines', [
        paymentId,
        lines.map((_, i) => i + 1),
        lines.map((l) => l.gtin),
        lines.map((l) => l.slot),
        lines.map((l) => l.qty),
        lines.map((l) => l.unitPrice),
      ]);
    },
    async listPaymentLines(ids) {
      const m = new Map<string, SaleLineRow[]>();
      if (ids.length === 0) return m;
      for (const r of await rows('listLines', [ids])) {
        const list = m.get(s(r, 'payment_id')) ?? [];
        list.push(toLine(r));
        m.set(s(r, 'payment_id'), list);
      }
      return m;
    },
    async salesGroups(f, by) {
      return (
        await rows(by === 'kiosk' ? 'salesByKiosk' : by === 'product' ? 'salesByProduct' : 'salesByQuarter', salesGroupsParams(f))
      ).map(toSalesGroup);
    },
    async refundGroups(f, by) {
      return (await rows(by === 'kiosk' ? 'refundsByKiosk' : 'refundsByQuarter', refundGroupsParams(f))).map(toRefundGroup);
    },
    async searchPayments(query, limit) {
      return (await rows('searchPayments', searchPaymentsParams(query, limit))).map((r) => ({
        ...toPayment(r),
        refunded: n(r, 'refunded'),
      }));
    },
    async refundedAmount(paymentId) {
      return n((await rows('refunded', [paymentId]))[0]!, 'refunded');
    },
    async insertOpsAction(a: OpsActionRow) {
      await run('insertAction', [
        a.id,
        a.requestKey,
        a.requestHash,
        a.at,
        a.operator,
        a.action,
        a.paymentId,
        a.amount,
        a.currency,
        a.reason,
      ]);
    },
    async getOpsActionByKey(key) {
      return one('actionByKey', toAction, [key]);
    },
    async listOpsActions(query, limit) {
      return (await rows('listActions', [query.fromMs, query.toMs, query.paymentId, limit])).map(toAction);
    },
    async insertHelpHandled(h) {
      await run('insertHelpHandled', insertHelpHandledParams(h));
    },
    async listHelpHandled(query, limit) {
      return (await rows('listHelpHandled', [query.fromMs, query.toMs, limit])).map(toHelpHandled);
    },
    async getKiosk(id) {
      return one('getKiosk', toKiosk, [id]);
    },
    async upsertKiosk(k) {
      await run('upsertKiosk', [k.id, k.merchantAccount, k.createdAt]);
    },
  };
}

/** BIGINT, NUMERIC and COUNT arrive as strings: parsed, and refused unless a safe integer. */
function n(r: Row, k: string): number {
  const v = r[k];
  const x = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(x)) throw new Error(`column ${k} holds ${String(v)}, not a safe integer`);
  return x;
}
const { toAccount, toWallet, toCode, toCredential, toPayment, toKiosk, toLine, toSalesGroup, toRefundGroup, toAction, toHelpHandled } =
  rowMappers(n, (r, k) => r[k] === true);
