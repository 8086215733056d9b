// SPDX-License-Identifier: Apache-2.0
// What must hold after the chaos, read from the server's ledger once the server is stopped (SQLite
// opened read-only here; PostgreSQL in pg-ledger.ts, its balances through the store) and from every
// kiosk's stores. Each broken rule is one line in `violations`, naming the code, kiosk or account, so
// a failing run says what went wrong without a debugger.
import Database from 'better-sqlite3';
import { merchantAccountId, shopperAccountId } from '../../server/domain/ids.ts';
import type { Attempt } from './chaos-driver.ts';
import type { KioskStores } from './kiosk-stores.ts';

export interface PaymentRow {
  id: string;
  kiosk_id: string;
  tx_id: string;
  kind: string | null;
  status: string;
  reason: string | null;
  amount: number;
  wallet_id: string | null;
  credential_id: string | null;
  counter: number | null;
  replay: number;
}

const CHARGED = new Set(['approved', 'settled']);

export interface ChaosFacts {
  presented: number;
  approvedSeen: number;
  declinedSeen: number;
  lost: number;
  charged: number;
  /** Codes the screen never gave a verdict for (kiosk killed, timeout) that were charged anyway. */
  chargedWithoutVerdict: number;
  /** Offline approvals the server declined at settlement (the merchant's loss), kept and reported by the kiosk. */
  approvedThenDeclined: number;
  settledOffline: number;
  voided: number;
  declinesKept: number;
  declineReasons: Record<string, number>;
}

/** What the checker reads of the server's ledger. */
export interface LedgerSnapshot {
  /** Each account's balance (the store's: on PostgreSQL a merchant's includes postings not yet rolled in). */
  balances: ReadonlyMap<string, number>;
  /** Balances summed per currency (the store's balanceTotals). */
  totals: ReadonlyMap<string, number>;
  /** Each account's net from the transfer log: what it was credited minus what it was debited. */
  nets: ReadonlyMap<string, number>;
  payments: readonly PaymentRow[];
  /** The online code hash each payment used. */
  codeOfPayment: ReadonlyMap<string, string>;
  /** Credentials revoked. */
  revoked: ReadonlyArray<{ id: string; revoke_reason: string | null }>;
}

/** The ledger's rows the checker lists, in SQL both databases run (numbers come back as text from PostgreSQL). */
export const LEDGER_SQL = {
  nets: `SELECT a.id AS id,
      COALESCE((SELECT SUM(amount) FROM transfers WHERE credit_account = a.id), 0) - COALESCE((SELECT SUM(amount) FROM transfers WHERE debit_account = a.id), 0) AS net
      FROM accounts a`,
  payments: 'SELECT id, kiosk_id, tx_id, kind, status, reason, amount, wallet_id, credential_id, counter, replay FROM payments',
  codes: 'SELECT code_hash, used_by FROM online_codes WHERE used_by IS NOT NULL',
  revoked: 'SELECT id, revoke_reason FROM credentials WHERE revoked_at IS NOT NULL',
} as const;

export interface CheckInput {
  attempts: readonly Attempt[];
  /** Each shopper's wallet and what it was topped up with. */
  wallets: ReadonlyArray<{ walletId: string; topup: number }>;
  /** Wallets whose credential limits are small enough to be exceeded across kiosks; only their offline approvals may be declined at settlement. */
  thinWallets: ReadonlySet<string>;
  merchant: string;
  kiosks: ReadonlyMap<string, KioskStores>;
}

export interface InvariantInput extends CheckInput {
  /** The server's SQLite ledger. */
  ledgerPath: string;
}

/** The invariants on the server's SQLite ledger, opened read-only. */
export function checkInvariants(i: InvariantInput): { violations: string[]; facts: ChaosFacts } {
  const db = new Database(i.ledgerPath, { readonly: true, fileMustExist: true });
  try {
    return checkLedger(readSqlite(db), i);
  } finally {
    db.close();
  }
}

/** SQLite has no postings: the balance column is the balance. */
function readSqlite(db: Database.Database): LedgerSnapshot {
  const all = <T>(sql: string) => db.prepare(sql).all() as T[];
  return {
    balances: new Map(all<{ id: string; balance: number }>('SELECT id, balance FROM accounts').map((r) => [r.id, r.balance])),
    totals: new Map(
      all<{ currency: string; total: number }>('SELECT currency, SUM(balance) AS total FROM accounts GROUP BY currency').map((r) => [
        r.currency,
        r.total,
      ]),
    ),
    nets: new Map(all<{ id: string; net: number }>(LEDGER_SQL.nets).map((r) => [r.id, r.net])),
    payments: all<PaymentRow>(LEDGER_SQL.payments),
    codeOfPayment: new Map(all<{ code_hash: string; used_by: string }>(LEDGER_SQL.codes).map((r) => [r.used_by, r.code_hash])),
    revoked: all<{ id: string; revoke_reason: string | null }>(LEDGER_SQL.revoked),
  };
}

export function checkLedger(ledger: LedgerSnapshot, i: CheckInput): { violations: string[]; facts: ChaosFacts } {
  const v: string[] = [];
  const { balances, payments, codeOfPayment } = ledger;

  // 1. The ledger sums to zero per currency, and every balance is the sum of its transfers.
  for (const [currency, total] of ledger.totals) if (total !== 0) v.push(`ledger: ${currency} balances sum to ${total}, not 0`);
  for (const [id, balance] of balances) {
    const net = ledger.nets.get(id) ?? 0;
    if (balance !== net) v.push(`ledger: account ${id} holds ${balance} but its transfers net ${net}`);
  }

  // 2. Every charge belongs to exactly one presented code, and no code is charged twice.
  const presented = new Map(i.attempts.map((a) => [a.key, a]));
  if (presented.size !== i.attempts.length)
    v.push(`test: ${i.attempts.length - presented.size} codes were presented twice (the test must present each once)`);
  const chargesByKey = new Map<string, PaymentRow[]>();
  for (const p of payments) {
    if (p.replay !== 0) v.push(`payment ${p.id} (${p.kiosk_id}/${p.tx_id}) is flagged as a replay of an offline code`);
    if (!CHARGED.has(p.status)) continue;
    const key = p.kind === 'online' ? codeOfPayment.get(p.id) : p.kind === 'offline-qr' ? `${p.credential_id}:${p.counter}` : undefined;
    if (key === undefined) {
      v.push(`payment ${p.id} (${p.kind}, ${p.status}) is charged but matches no code form the test uses`);
      continue;
    }
    chargesByKey.set(key, [...(chargesByKey.get(key) ?? []), p]);
  }
  for (const [key, list] of chargesByKey) {
    if (list.length > 1)
      v.push(`code ${key.slice(0, 24)} charged ${list.length} times: ${list.map((p) => `${p.kiosk_id}/${p.tx_id}`).join(', ')}`);
    if (!presented.has(key)) v.push(`code ${key.slice(0, 24)} charged (${list[0]!.kiosk_id}) but never presented`);
  }
  for (const r of ledger.revoked) {
    v.push(`credential ${r.id} was revoked (${r.revoke_reason ?? 'no reason'}): a code was settled twice`);
  }

  // 3. What the screens said: every approval is charged once, at that kiosk, for the basket (or, for
  // an offline code stored by the kiosk, declined at settlement and kept by the kiosk for review:
  // the merchant's loss, docs/protocol.md 3.6); no decline is charged.
  const keptDeclines = new Set([...i.kiosks].flatMap(([kioskId, s]) => s.state.declined.map((d) => `${kioskId}/${d.txId}`)));
  const settleDeclines = new Map<string, PaymentRow[]>();
  for (const p of payments) {
    if (p.status !== 'declined' || p.kind !== 'offline-qr') continue;
    const key = `${p.credential_id}:${p.counter}`;
    settleDeclines.set(key, [...(settleDeclines.get(key) ?? []), p]);
  }
  let chargedWithoutVerdict = 0;
  let approvedThenDeclined = 0;
  for (const a of i.attempts) {
    const charges = chargesByKey.get(a.key) ?? [];
    const what = `attempt ${a.n} (${a.kind} at ${a.kioskId})`;
    if (a.outcome.result === 'approved') {
      const kept = (settleDeclines.get(a.key) ?? []).filter(
        (p) => p.kiosk_id === a.kioskId && keptDeclines.has(`${p.kiosk_id}/${p.tx_id}`),
      );
      if (charges.length === 0 && kept.length === 1 && i.thinWallets.has(a.walletId)) approvedThenDeclined++;
      else if (charges.length === 0)
        v.push(`${what}: the screen said approved but nothing is charged (nor is a settlement decline kept by the kiosk)`);
      for (const p of charges) {
        if (p.kiosk_id !== a.kioskId || p.amount !== a.amount || p.wallet_id !== a.walletId) {
          v.push(`${what}: charged as ${p.kiosk_id} ${p.amount} to ${p.wallet_id}, expected ${a.amount} to ${a.walletId}`);
        }
      }
    } else if (a.outcome.result === 'declined') {
      if (charges.length > 0)
        v.push(`${what}: the screen said declined (${a.outcome.reason}) but the code is charged (${charges[0]!.status})`);
    } else if (charges.length > 0) {
      chargedWithoutVerdict++;
    }
  }

  // 4. Each shopper paid exactly their charges; the merchant received all of them.
  const chargedAll = [...chargesByKey.values()].flat();
  for (const { walletId, topup } of i.wallets) {
    const spent = chargedAll.filter((p) => p.wallet_id === walletId).reduce((s, p) => s + p.amount, 0);
    const balance = balances.get(shopperAccountId(walletId));
    if (balance !== topup - spent) v.push(`wallet ${walletId}: balance ${balance}, expected ${topup} - ${spent}`);
  }
  const received = chargedAll.reduce((s, p) => s + p.amount, 0);
  const merchantBalance = balances.get(merchantAccountId(i.merchant)) ?? 0;
  if (merchantBalance !== received) v.push(`merchant ${i.merchant}: balance ${merchantBalance}, charges total ${received}`);

  // 5. Every kiosk forwarded everything, left nothing to void, and its kept declines are the server's.
  let declinesKept = 0;
  for (const [kioskId, s] of i.kiosks) {
    if (s.outbox.length > 0) v.push(`${kioskId}: ${s.outbox.length} payments still in its outbox`);
    if (s.state.voidLater.length > 0) v.push(`${kioskId}: ${s.state.voidLater.length} transactions still to void`);
    if (s.state.inflight.length > 0) v.push(`${kioskId}: ${s.state.inflight.length} online payments still in flight`);
    for (const d of s.state.declined) {
      declinesKept++;
      const p = payments.find((x) => x.kiosk_id === kioskId && x.tx_id === d.txId);
      if (p?.status !== 'declined' || p.reason !== d.reason) {
        v.push(
          `${kioskId}: keeps decline ${d.txId} (${d.reason}) but the ledger has ${p ? `${p.status} ${p.reason ?? ''}` : 'no such payment'}`,
        );
      }
    }
  }

  const declineReasons: Record<string, number> = {};
  for (const a of i.attempts)
    if (a.outcome.result === 'declined') declineReasons[a.outcome.reason] = (declineReasons[a.outcome.reason] ?? 0) + 1;
  const facts: ChaosFacts = {
    presented: i.attempts.length,
    approvedSeen: i.attempts.filter((a) => a.outcome.result === 'approved').length,
    declinedSeen: i.attempts.filter((a) => a.outcome.result === 'declined').length,
    lost: i.attempts.filter((a) => a.outcome.result === 'lost').length,
    charged: chargedAll.length,
    chargedWithoutVerdict,
    approvedThenDeclined,
    settledOffline: payments.filter((p) => p.status === 'settled').length,
    voided: payments.filter((p) => p.status === 'voided').length,
    declinesKept,
    declineReasons,
  };
  return { violations: v, facts };
}
