// SPDX-License-Identifier: Apache-2.0
// The payment path's cached plans reach their rows through indexes, even on a young database. A
// connection keeps its generic plans until PostgreSQL invalidates them, and on empty tables the
// ordinary planner prefers to scan them whole: `paymentByTx_many` scanned every payment,
// `debit_many` every account and `getCode_many` every code, once per group, for the life of the
// connection. The store's session settings (pg-session-options.ts) price those scans out.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSchema, probePostgres, TEST_DATABASE_URL, type FreshSchema } from '../testing/pg-test-db.ts';
import { requirePostgres } from '../testing/require-postgres.ts';
import { MANY } from './pg-coalesce.ts';
import { sessionOptions } from './pg-session-options.ts';
import { PREPARE_ALL, SQL, type SqlName } from './pg-sql.ts';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

/** Every node of a plan, depth first. */
function nodes(p: PlanNode): PlanNode[] {
  return [p, ...(p.Plans ?? []).flatMap(nodes)];
}

/** A node that reads more of a table than the rows asked for: a scan without an index condition, or a join by hashing or merging. */
function wide(n: PlanNode): string | undefined {
  if (/Hash Join|Merge Join/.test(n['Node Type'])) return n['Node Type'];
  // A bitmap heap scan reads what its bitmap index scan (a child node, checked on its own) found.
  if (n['Node Type'] === 'Bitmap Heap Scan' || n['Node Type'] === 'ModifyTable') return undefined;
  if (n['Relation Name'] === undefined && n['Index Name'] === undefined) return undefined;
  if (n['Index Cond'] !== undefined) return undefined;
  return `${n['Node Type']}${n['Relation Name'] ? ` on ${n['Relation Name']}` : ''}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}`;
}

/** Parameters of a statement: the highest `$n`. */
const parameters = (sql: string) => Math.max(0, ...[...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));

/** The merged statements, and the single ones a payment runs when it is alone in its group. */
const PAYMENT_PATH: readonly SqlName[] = [
  'getKiosk',
  'paymentByTx',
  'getCode',
  'getWallet',
  'getAccount',
  'insertPayment',
  'debit',
  'creditPosting',
  'recordTransfer',
  'useUnusedCode',
  // Not on the payment path: the operators' list of stored payments, which read every payment before schema 6.
  'storedPayments',
];
const statements = [
  ...Object.entries(MANY).map(([name, many]) => ({ name: `${name}_many`, args: Array(parameters(many.sql)).fill(`'{}'`) })),
  ...PAYMENT_PATH.map((name) => ({ name, args: Array(parameters(SQL[name])).fill('NULL') })),
];

/** The wide nodes of each statement's generic plan, on a connection with these session options. */
async function wideNodes(options: string): Promise<Map<string, string[]>> {
  const client = new pg.Client({ connectionString: sessionOptions(TEST_DATABASE_URL, undefined).connectionString, options });
  await client.connect();
  try {
    await client.query(PREPARE_ALL);
    const out = new Map<string, string[]>();
    for (const { name, args } of statements) {
      const r = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) EXECUTE kp_${name}(${args.join(', ')})`);
      out.set(
        name,
        nodes(r.rows[0]!['QUERY PLAN'][0].Plan).flatMap((n) => wide(n) ?? []),
      );
    }
    return out;
  } finally {
    await client.end();
  }
}

const unreachable = await probePostgres();
requirePostgres(unreachable, 'the store planner settings');

describe.skipIf(unreachable !== undefined)('the payment path planned on an empty database', () => {
  let db: FreshSchema;
  beforeAll(async () => {
    db = freshSchema();
    const store = db.open();
    await store.ready();
    await store.close();
  });
  afterAll(async () => {
    await db.dispose();
  });

  it("with the store's session settings: every statement walks an index from the rows it names", async () => {
    const planned = await wideNodes(sessionOptions(TEST_DATABASE_URL, db.schema).options);
    expect(planned.size).toBe(statements.length);
    for (const [name, found] of planned) expect({ name, found }).toEqual({ name, found: [] });
  });

  it('compiles nothing with JIT: a scan priced out would otherwise be compiled on every execution', async () => {
    const jitUsed = async (options: string) => {
      const client = new pg.Client({ connectionString: sessionOptions(TEST_DATABASE_URL, undefined).connectionString, options });
      await client.connect();
      try {
        await client.query(PREPARE_ALL);
        const available = (await client.query<{ a: boolean }>('SELECT pg_jit_available() AS a')).rows[0]!.a;
        const r = await client.query<{ 'QUERY PLAN': [{ JIT?: unknown }] }>('EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE kp_listRevoked(0)');
        return { available, used: r.rows[0]!['QUERY PLAN'][0].JIT !== undefined };
      } finally {
        await client.end();
      }
    };
    const store = sessionOptions(TEST_DATABASE_URL, db.schema).options;
    expect((await jitUsed(store)).used).toBe(false);
    // Where this PostgreSQL has JIT at all, the same settings without jit=off compile the scan.
    const without = await jitUsed(store.replace('-c jit=off', ''));
    expect(without.used).toBe(without.available);
  });

  it('with only generic plans, as before: the merged reads and the debit scan their tables whole', async () => {
    const planned = await wideNodes(`-c plan_cache_mode=force_generic_plan -c search_path=${db.schema}`);
    expect(planned.get('paymentByTx_many')).toContain('Seq Scan on payments');
    expect(planned.get('debit_many')).toContain('Seq Scan on accounts');
    expect(planned.get('getCode_many')).toContain('Seq Scan on online_codes');
  });
});
