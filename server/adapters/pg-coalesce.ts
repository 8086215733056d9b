// SPDX-License-Identifier: Apache-2.0
// The same statement of many units, in one batch, as one statement over arrays: fifty payments'
// kiosk lookups become one `... FROM unnest($1::text[])`, their debits one UPDATE, their postings
// one INSERT. PostgreSQL then starts one statement instead of fifty, which is most of what a short
// statement costs. What may be merged, and where:
//   - reads of one kind between two writes (they all see the same state, in any order); each row
//     comes back tagged with its request's place (kp_i) and goes to that request alone;
//   - writes of one kind in a run of writes with no read between, when merging cannot change an
//     answer: every row is touched by one write of the run at most (the postings of one merchant
//     excepted: they do not change what the next one checks). A merged write that does not touch one
//     row per request refuses (KP001 'batch'); the group is then run again unit by unit
//     (pg-store.ts), where nothing is merged and each write answers for itself.
import { MONEY_MAX } from '../../shared/money.ts';
import type { SqlName } from './pg-sql.ts';

interface Many {
  kind: 'read' | 'write';
  sql: string;
  /** For writes: the row the request touches; none may repeat in a run (postings: see above). */
  row?: (values: readonly unknown[]) => string;
}

const WALLET = `row_to_json(pw) AS prefetched_wallet, row_to_json(pa) AS prefetched_account`;
const WALLET_JOIN = `LEFT JOIN wallets pw ON pw.id = c.wallet_id LEFT JOIN accounts pa ON pa.id = pw.account_id AND pa.kind <> 'merchant'`;
/** A merged write that must touch one row per request. */
const all = (write: string, first: string) =>
  `WITH w AS (${write} RETURNING 1) SELECT CASE WHEN (SELECT count(*) FROM w) = cardinality(${first}) THEN true ELSE kp_refuse('batch') END AS ok`;
const account = (v: readonly unknown[]) => `acct:${String(v[1])}`;

export const MANY: Partial<Record<SqlName, Many>> = {
  getKiosk: {
    kind: 'read',
    sql: `SELECT k.*, a.kind AS merchant_kind, q.i AS kp_i FROM unnest($1::text[]) WITH ORDINALITY q(id, i)
      JOIN kiosks k ON k.id = q.id LEFT JOIN accounts a ON a.id = k.merchant_account`,
  },
  paymentByTx: {
    kind: 'read',
    sql: `SELECT p.*, q.i AS kp_i FROM unnest($1::text[], $2::text[]) WITH ORDINALITY q(kiosk, tx, i)
      JOIN payments p ON p.kiosk_id = q.kiosk AND p.tx_id = q.tx`,
  },
  getCode: {
    kind: 'read',
    sql: `SELECT c.*, ${WALLET}, q.i AS kp_i FROM unnest($1::text[]) WITH ORDINALITY q(h, i) JOIN online_codes c ON c.code_hash = q.h ${WALLET_JOIN}`,
  },
  getWallet: {
    kind: 'read',
    sql: `SELECT w.*, q.i AS kp_i FROM unnest($1::text[]) WITH ORDINALITY q(id, i) JOIN wallets w ON w.id = q.id`,
  },
  insertPayment: {
    kind: 'write',
    row: (v) => `pay:${String(v[0])}`,
    sql: `INSERT INTO payments (id, kiosk_id, tx_id, kind, status, reason, amount, currency, wallet_id, merchant_account, credential_id, counter, at, request_hash, replay, created_at, updated_at)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[],
        $11::text[], $12::bigint[], $13::bigint[], $14::text[], $15::boolean[], $16::bigint[], $17::bigint[])`,
  },
  debit: {
    kind: 'write',
    row: account,
    sql: all(
      `UPDATE accounts a SET balance = a.balance - q.amount FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) q(amount, id, currency, funds)
      WHERE a.id = q.id AND a.currency = q.currency AND (q.funds IS NULL OR a.balance >= q.funds)`,
      '$1::bigint[]',
    ),
  },
  creditBalance: {
    kind: 'write',
    row: account,
    sql: all(
      `UPDATE accounts a SET balance = a.balance + q.amount FROM unnest($1::bigint[], $2::text[], $3::text[]) q(amount, id, currency)
      WHERE a.id = q.id AND a.currency = q.currency AND a.kind <> 'merchant' AND a.balance <= ${MONEY_MAX}::bigint - q.amount`,
      '$1::bigint[]',
    ),
  },
  creditPosting: {
    kind: 'write',
    // Only the check that needs no other posting: past half the bound, unit by unit (pg-sql.ts).
    sql: all(
      `INSERT INTO postings (account_id, currency, amount) SELECT q.id, q.currency, q.amount
      FROM unnest($1::bigint[], $2::text[], $3::text[]) q(amount, id, currency)
      JOIN accounts a ON a.id = q.id AND a.currency = q.currency AND a.kind = 'merchant' AND a.balance <= ${MONEY_MAX / 2}::bigint - q.amount`,
      '$1::bigint[]',
    ),
  },
  recordTransfer: {
    kind: 'write',
    sql: `INSERT INTO transfers (payment_id, debit_account, credit_account, amount, currency, kind, at)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bigint[])`,
  },
  useUnusedCode: {
    kind: 'write',
    row: (v) => `code:${String(v[1])}`,
    sql: all(
      `UPDATE online_codes c SET used_by = q.p FROM unnest($1::text[], $2::text[]) q(p, h) WHERE c.code_hash = q.h AND c.used_by IS NULL`,
      '$1::text[]',
    ),
  },
};

/** One request of a batch: a prepared statement and its values, or a plain text (BEGIN, COMMIT). */
export interface Request {
  name: SqlName | undefined;
  values: readonly unknown[];
}
/** One statement of the batch as sent: a request's own, or a merged one serving `requests` (indexes). */
export interface Planned {
  requests: number[];
  merged: 'read' | 'write' | undefined;
}

/** Merges what may be merged (see the top of this file), keeping every other statement in its place. */
export function plan(requests: readonly Request[]): Planned[] {
  const out: Planned[] = [];
  let run: number[] = [];
  let runKind: 'read' | 'write' | undefined;
  const close = () => {
    if (runKind === 'write' && !mergeable(run.map((i) => requests[i]!)))
      for (const i of run) out.push({ requests: [i], merged: undefined });
    else {
      const byName = new Map<SqlName, number[]>();
      for (const i of run) {
        const name = requests[i]!.name!;
        byName.set(name, [...(byName.get(name) ?? []), i]);
      }
      for (const group of byName.values()) out.push({ requests: group, merged: group.length > 1 ? runKind : undefined });
    }
    run = [];
    runKind = undefined;
  };
  requests.forEach((r, i) => {
    const kind = r.name === undefined ? undefined : MANY[r.name]?.kind;
    if (kind !== runKind) close();
    if (kind === undefined) out.push({ requests: [i], merged: undefined });
    else {
      runKind = kind;
      run.push(i);
    }
  });
  close();
  return out;
}

/** No row touched twice in a run of writes, except a merchant's postings by each other. */
function mergeable(run: readonly Request[]): boolean {
  const seen = new Map<string, SqlName>();
  for (const r of run) {
    const many = MANY[r.name!]!;
    const row = many.row?.(r.values) ?? (r.name === 'creditPosting' ? `acct:${String(r.values[1])}` : undefined);
    if (row === undefined) continue;
    const before = seen.get(row);
    if (before !== undefined && !(before === 'creditPosting' && r.name === 'creditPosting')) return false;
    seen.set(row, r.name!);
  }
  return true;
}
