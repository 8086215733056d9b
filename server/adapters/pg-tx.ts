// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL StoreTx: each method is one statement of pg-sql.ts (two when it locks first), with
// the keys it reads or writes for the group's ordering (pg-group.ts), and the guards that keep a
// decision honest against other replicas under READ COMMITTED. The domain reads, decides, then
// writes; a write that acts on a read made earlier in the same unit is conditional on that read
// still holding, and when it no longer does the unit fails with StaleReadError and runs again, now
// seeing what the other replica committed:
//   - a code read unused is marked used only while still unused;
//   - an offline use read unclaimed that turns out claimed, a payment or operator action whose key
//     was read absent and then conflicts on its unique index;
//   - a debit of an account read with enough money happens only while the money is still there
//     (one conditional UPDATE); a debit the unit did not judge against the balance is not refused
//     (settlement charges a shopper even below zero);
//   - a meta value read, then set, is set only if still the value read (compare and set).
// Counts that limit what a unit may do (offline usage, active codes of a wallet, refunds of a
// payment) lock the wallet's or payment's row first, so two replicas count one after the other.
import type pg from 'pg';
import type { ErrorCode } from '../../shared/errors.ts';
import type { Currency } from '../../shared/money.ts';
import type { OpsActionRow, PaymentRow, SaleLineRow, StoreTx, Transfer } from '../ports/store.ts';
import { balanceLimit } from './balance-limit.ts';
import type { UnitExec } from './pg-group.ts';
import { POSTING_MAX } from './pg-sql.ts';
import { insertHelpHandledParams, refundGroupsParams, salesGroupsParams, searchPaymentsParams } from './report-sql.ts';
import { credentialValues, ns, paymentValues, rowMappers, s, type Row } from './row-mappers.ts';

/** Another replica committed, after this unit read, what the unit's write depended on: it runs again. */
export class StaleReadError extends Error {
  override readonly name = 'StaleReadError';
}

/** Keys of rows (and, `T:`, of whole tables for the queries that scan them). */
const k = {
  meta: (key: string) => `meta:${key}`,
  acct: (id: string) => `acct:${id}`,
  wallet: (id: string) => `wallet:${id}`,
  token: (hash: string) => `wtok:${hash}`,
  code: (hash: string) => `code:${hash}`,
  walletCodes: (walletId: string) => `wcodes:${walletId}`,
  cred: (id: string) => `cred:${id}`,
  handle: (h: string) => `chandle:${h}`,
  use: (c: string, f: string, n: number) => `use:${JSON.stringify([c, f, n])}`,
  pay: (id: string) => `pay:${id}`,
  tx: (kiosk: string, txId: string) => `ptx:${JSON.stringify([kiosk, txId])}`,
  walletPays: (walletId: string) => `wpay:${walletId}`,
  lines: (paymentId: string) => `lines:${paymentId}`,
  refunds: (paymentId: string) => `refunds:${paymentId}`,
  ops: (key: string) => `ops:${key}`,
  kiosk: (id: string) => `kiosk:${id}`,
};
const T = {
  accounts: 'T:accounts',
  transfers: 'T:transfers',
  codesUsed: 'T:codes-used',
  codesDeleted: 'T:codes-deleted',
  creds: 'T:creds',
  payments: 'T:payments',
  paymentsUpdated: 'T:payments-updated',
  lines: 'T:lines',
  ops: 'T:ops',
  help: 'T:help-handled',
};

const sqlstate = (e: unknown) => (e as { code?: unknown } | null)?.code;
/** The reason a conditional write refused (pg-sql.ts `must`, kp_refuse), or undefined for another error. */
const refusal = (e: unknown) => (sqlstate(e) === 'KP001' ? (e as Error).message : undefined);
const stale = (what: string, cause: unknown) => new StaleReadError(`${what} changed since this unit read it`, { cause });

/** BIGINT, NUMERIC and COUNT arrive as strings: parsed, and refused unless a safe integer. */
function n(r: Row, key: string): number {
  const v = r[key];
  const x = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(x)) throw new Error(`column ${key} holds ${String(v)}, not a safe integer`);
  return x;
}
const m = rowMappers(n, (r, key) => r[key] === true);

export function pgTx(x: UnitExec): StoreTx {
  /** What this attempt read, for the guards above. */
  const metaSeen = new Map<string, string | null>();
  const balances = new Map<string, number>();
  /** Kinds of the accounts this attempt read (a kiosk's merchant account comes with the kiosk). */
  const kinds = new Map<string, string>();
  const unusedCodes = new Set<string>();
  const absent = new Set<string>();
  const rows = (r: pg.QueryResult) => r.rows as Row[];
  const first = (r: pg.QueryResult) => rows(r)[0];
  const staleIfAbsent = (key: string) => (e: unknown) => (sqlstate(e) === '23505' && absent.has(key) ? stale(key, e) : e);
  /** Wallets and shopper accounts read along with a code or credential, served from here until written. */
  const prefetched = new Map<string, Row>();
  const prefetch = (r: pg.QueryResult): string[] => {
    const row = first(r);
    const w = row?.['prefetched_wallet'] as Row | null | undefined;
    const a = row?.['prefetched_account'] as Row | null | undefined;
    const keys: string[] = [];
    if (w) {
      prefetched.set(k.wallet(s(w, 'id')), w);
      keys.push(k.wallet(s(w, 'id')));
    }
    if (a) {
      prefetched.set(k.acct(s(a, 'id')), a);
      keys.push(k.acct(s(a, 'id')));
    }
    return keys;
  };
  const one = async <V>(p: Promise<pg.QueryResult>, map: (r: Row) => V, absentKey?: string): Promise<V | undefined> => {
    const r = first(await p);
    if (r === undefined && absentKey !== undefined) absent.add(absentKey);
    return r === undefined ? undefined : map(r);
  };
  const lockThen = async (lock: 'lockWallet' | 'lockPayment', id: string, read: () => Promise<pg.QueryResult>) => {
    // Both statements go out in one batch; the second's snapshot is taken once the lock is granted.
    // Not before the group ahead has finished: it may be about to write the row locked here.
    await x.earlierDone();
    const [, r] = await Promise.all([x.read(lock, [id], []), read()]);
    return r;
  };
  return {
    async getMeta(key) {
      const v = await one(x.read('getMeta', [key], [k.meta(key)]), (r) => s(r, 'value'));
      metaSeen.set(key, v ?? null);
      return v;
    },
    async setMeta(key, value) {
      if (!metaSeen.has(key)) return x.write('setMeta', [key, value], [k.meta(key)]);
      const seen = metaSeen.get(key);
      metaSeen.set(key, value);
      return x.write('casMeta', [key, value, seen], [k.meta(key)], (e) => (refusal(e) ? stale(`meta ${key}`, e) : e));
    },
    async createAccount(a) {
      await x.write('createAccount', [a.id, a.kind, a.currency, a.balance, a.createdAt], [k.acct(a.id), T.accounts]);
    },
    async getAccount(id) {
      const cached = prefetched.get(k.acct(id));
      const a = cached ? m.toAccount(cached) : await one(x.read('getAccount', [id], [k.acct(id)]), m.toAccount);
      if (a) {
        balances.set(id, a.balance);
        kinds.set(id, a.kind);
      }
      return a;
    },
    async transfer(t: Transfer) {
      if (t.debitAccount === t.creditAccount)
        throw new Error(`a transfer moves money between two accounts, not ${t.debitAccount} to itself`);
      const seen = balances.get(t.debitAccount);
      const funds = seen !== undefined && seen >= t.amount ? t.amount : null;
      if (seen !== undefined) balances.set(t.debitAccount, seen - t.amount);
      const credited = balances.get(t.creditAccount);
      if (credited !== undefined) balances.set(t.creditAccount, credited + t.amount);
      prefetched.delete(k.acct(t.debitAccount));
      prefetched.delete(k.acct(t.creditAccount));
      const debitKeys = [k.acct(t.debitAccount), T.accounts];
      await x.write('debit', [t.amount, t.debitAccount, t.currency, funds], debitKeys, (e) => {
        const why = refusal(e);
        if (why === 'no-debit') return new Error(`no ${t.currency} account ${t.debitAccount}`);
        return why === 'stale' ? stale(`the balance of ${t.debitAccount}`, e) : e;
      });
      const kind = kinds.get(t.creditAccount);
      const merchant = t.amount <= POSTING_MAX ? 'creditPosting' : 'creditMerchant';
      const credit = kind === undefined ? 'creditAny' : kind === 'merchant' ? merchant : 'creditBalance';
      await x.write(credit, [t.amount, t.creditAccount, t.currency], [k.acct(t.creditAccount), T.accounts], (e) => {
        const why = refusal(e);
        if (why === 'limit') return balanceLimit(t);
        return why === undefined ? e : new Error(`no ${t.currency} account ${t.creditAccount}${why === 'kind' ? ' of that kind' : ''}`);
      });
      const keys = [T.transfers];
      if (t.paymentId !== null) keys.push(k.refunds(t.paymentId));
      await x.write('recordTransfer', [t.paymentId, t.debitAccount, t.creditAccount, t.amount, t.currency, t.kind, t.at], keys);
    },
    async balanceTotals() {
      const out = new Map<Currency, number>();
      for (const r of rows(await x.read('totals', [], [T.accounts]))) out.set(s(r, 'currency') as Currency, n(r, 'total'));
      return out;
    },
    async createWallet(w) {
      await x.write(
        'createWallet',
        [w.id, w.accountId, w.tokenHash, w.createdAt, w.offlineBlocked],
        [k.wallet(w.id), k.token(w.tokenHash)],
      );
    },
    async getWallet(id) {
      const cached = prefetched.get(k.wallet(id));
      return cached ? m.toWallet(cached) : one(x.read('getWallet', [id], [k.wallet(id)]), m.toWallet);
    },
    async findWalletByTokenHash(hash) {
      return one(
        x.read('walletByToken', [hash], [k.token(hash)], (r) => rows(r).map((w) => k.wallet(s(w, 'id')))),
        m.toWallet,
      );
    },
    async setWalletOfflineBlocked(id, reason) {
      prefetched.delete(k.wallet(id));
      await x.write('setBlocked', [reason, id], [k.wallet(id)]);
    },
    async insertOnlineCode(c) {
      await x.write(
        'insertCode',
        [c.codeHash, c.walletId, c.issuedAt, c.expiresAt, c.usedBy],
        [k.code(c.codeHash), k.walletCodes(c.walletId)],
      );
    },
    async getOnlineCode(h) {
      const c = await one(x.read('getCode', [h], [k.code(h), T.codesDeleted], prefetch), m.toCode);
      if (c && c.usedBy === null) unusedCodes.add(h);
      return c;
    },
    async markOnlineCodeUsed(h, paymentId) {
      const keys = [k.code(h), T.codesUsed];
      if (!unusedCodes.has(h)) return x.write('useCode', [paymentId, h], keys);
      unusedCodes.delete(h);
      return x.write('useUnusedCode', [paymentId, h], keys, (e) => (refusal(e) ? stale(`online code ${h}`, e) : e));
    },
    async deleteExpiredOnlineCodes(before) {
      return (await x.writeNow('deleteExpired', [before], [T.codesDeleted])).rowCount ?? 0;
    },
    async countActiveOnlineCodes(walletId, now) {
      const r = await lockThen('lockWallet', walletId, () =>
        x.read('countActive', [walletId, now], [k.walletCodes(walletId), T.codesUsed, T.codesDeleted]),
      );
      return n(first(r)!, 'n');
    },
    async insertCredential(c) {
      await x.write(
        'insertCredential',
        credentialValues(c),
        [k.cred(c.id), k.handle(c.numericHandle), T.creds],
        staleIfAbsent(k.handle(c.numericHandle)),
      );
    },
    async getCredential(id) {
      return one(x.read('getCredential', [id], [k.cred(id)], prefetch), m.toCredential);
    },
    async findCredentialByHandle(h) {
      return one(
        x.read('credentialByHandle', [h], [k.handle(h)], (r) => [...rows(r).map((c) => k.cred(s(c, 'id'))), ...prefetch(r)]),
        m.toCredential,
        k.handle(h),
      );
    },
    async revokeCredential(id, at, reason) {
      await x.write('revoke', [at, reason, id], [k.cred(id), T.creds]);
    },
    async listRevokedCredentialIds(now) {
      return rows(await x.read('listRevoked', [now], [T.creds])).map((r) => s(r, 'id'));
    },
    async claimOfflineUse(credentialId, form, counter, paymentId) {
      const key = k.use(credentialId, form, counter);
      const r = await x.writeNow('claimUse', [credentialId, form, counter, paymentId], [key]);
      if (r.rowCount === 1) return true;
      if (absent.has(key)) x.fail(new StaleReadError(`offline use ${key} was claimed by another transaction`));
      return false;
    },
    async getOfflineUse(credentialId, form, counter) {
      const key = k.use(credentialId, form, counter);
      return one(x.read('getUse', [credentialId, form, counter], [key]), (r) => s(r, 'payment_id'), key);
    },
    async reassignOfflineUse(credentialId, form, counter, paymentId) {
      await x.write('reassignUse', [credentialId, form, counter, paymentId], [k.use(credentialId, form, counter)], (e) =>
        refusal(e) ? new Error(`offline use ${credentialId}/${form}/${counter} does not exist`) : e,
      );
    },
    async insertPayment(p: PaymentRow) {
      const txKey = k.tx(p.kioskId, p.txId);
      const keys = [k.pay(p.id), txKey, T.payments];
      if (p.walletId !== null) keys.push(k.walletPays(p.walletId));
      await x.write(
        'insertPayment',
        paymentValues(p, (b) => b),
        keys,
        staleIfAbsent(txKey),
      );
    },
    async getPayment(id) {
      return one(x.read('getPayment', [id], [k.pay(id)]), m.toPayment);
    },
    async getPaymentByTx(kioskId, txId) {
      const key = k.tx(kioskId, txId);
      return one(
        x.read('paymentByTx', [kioskId, txId], [key], (r) => rows(r).map((p) => k.pay(s(p, 'id')))),
        m.toPayment,
        key,
      );
    },
    async updatePayment(id, status, reason, at) {
      await x.write('updatePayment', [status, reason, at, id], [k.pay(id), T.payments, T.paymentsUpdated]);
    },
    async listPaymentsByWallet(walletId, limit) {
      return rows(await x.read('paymentsByWallet', [walletId, limit], [k.walletPays(walletId), T.paymentsUpdated, T.transfers])).map(
        (r) => ({
          ...m.toPayment(r),
          refunded: n(r, 'refunded'),
        }),
      );
    },
    async offlineUsage(walletId, since) {
      const r = await lockThen('lockWallet', walletId, () =>
        x.read('offlineUsage', [walletId, since], [k.walletPays(walletId), T.paymentsUpdated]),
      );
      const o = first(r)!;
      return { amount: n(o, 'amount'), count: n(o, 'count') };
    },
    async salesBuckets(from, to, bucketMs) {
      return rows(await x.read('salesBuckets', [from, to, bucketMs], [T.payments])).map((r) => ({
        kioskId: s(r, 'kiosk_id'),
        currency: s(r, 'currency') as Currency,
        offline: r['offline'] === true,
        bucket: n(r, 'bucket'),
        count: n(r, 'count'),
        amount: n(r, 'amount'),
      }));
    },
    async declineCounts(from, to) {
      return rows(await x.read('declineCounts', [from, to], [T.payments])).map((r) => ({
        reason: ns(r, 'reason') as ErrorCode | null,
        count: n(r, 'count'),
      }));
    },
    async listStoredPayments(since, lead, limit) {
      return rows(await x.read('storedPayments', [since, lead, limit], [T.payments])).map(m.toPayment);
    },
    async insertPaymentLines(paymentId, lines) {
      if (lines.length === 0) return;
      await x.write(
        'insertLines',
        [
          paymentId,
          lines.map((_, i) => i + 1),
          lines.map((l) => l.gtin),
          lines.map((l) => l.slot),
          lines.map((l) => l.qty),
          lines.map((l) => l.unitPrice),
        ],
        [k.lines(paymentId), T.lines],
      );
    },
    async listPaymentLines(ids) {
      const out = new Map<string, SaleLineRow[]>();
      if (ids.length === 0) return out;
      for (const r of rows(await x.read('listLines', [ids], ids.map(k.lines)))) {
        const list = out.get(s(r, 'payment_id')) ?? [];
        list.push(m.toLine(r));
        out.set(s(r, 'payment_id'), list);
      }
      return out;
    },
    async salesGroups(f, by) {
      const name = by === 'kiosk' ? 'salesByKiosk' : by === 'product' ? 'salesByProduct' : 'salesByQuarter';
      return rows(await x.read(name, salesGroupsParams(f), [T.payments, T.lines])).map(m.toSalesGroup);
    },
    async refundGroups(f, by) {
      return rows(
        await x.read(by === 'kiosk' ? 'refundsByKiosk' : 'refundsByQuarter', refundGroupsParams(f), [T.payments, T.transfers]),
      ).map(m.toRefundGroup);
    },
    async searchPayments(query, limit) {
      return rows(await x.read('searchPayments', searchPaymentsParams(query, limit), [T.payments, T.transfers])).map((r) => ({
        ...m.toPayment(r),
        refunded: n(r, 'refunded'),
      }));
    },
    async refundedAmount(paymentId) {
      const r = await lockThen('lockPayment', paymentId, () => x.read('refunded', [paymentId], [k.refunds(paymentId)]));
      return n(first(r)!, 'refunded');
    },
    async insertOpsAction(a: OpsActionRow) {
      await x.write(
        'insertAction',
        [a.id, a.requestKey, a.requestHash, a.at, a.operator, a.action, a.paymentId, a.amount, a.currency, a.reason],
        [k.ops(a.requestKey), T.ops],
        staleIfAbsent(k.ops(a.requestKey)),
      );
    },
    async getOpsActionByKey(key) {
      return one(x.read('actionByKey', [key], [k.ops(key)]), m.toAction, k.ops(key));
    },
    async listOpsActions(query, limit) {
      return rows(await x.read('listActions', [query.fromMs, query.toMs, query.paymentId, limit], [T.ops])).map(m.toAction);
    },
    async insertHelpHandled(h) {
      await x.write('insertHelpHandled', insertHelpHandledParams(h), [T.help]);
    },
    async listHelpHandled(query, limit) {
      return rows(await x.read('listHelpHandled', [query.fromMs, query.toMs, limit], [T.help])).map(m.toHelpHandled);
    },
    async getKiosk(id) {
      return one(x.read('getKiosk', [id], [k.kiosk(id)]), (r) => {
        if (r['merchant_kind'] !== null) kinds.set(s(r, 'merchant_account'), s(r, 'merchant_kind'));
        return m.toKiosk(r);
      });
    },
    async upsertKiosk(kiosk) {
      await x.write('upsertKiosk', [kiosk.id, kiosk.merchantAccount, kiosk.createdAt], [k.kiosk(kiosk.id)]);
    },
  };
}
