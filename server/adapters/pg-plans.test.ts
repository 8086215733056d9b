// SPDX-License-Identifier: Apache-2.0
// The merged statements' cached plans walk indexes from their arrays, even on a young database. A
// connection keeps its generic plans, and on empty tables the planner prefers to scan them whole:
// without PLAN_MANY, `paymentByTx_many` scanned every payment, `debit_many` every account, and
// `useUnusedCode_many` every unused code, once per group for the life of the connection.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSchema, probePostgres, TEST_DATABASE_URL, type FreshSchema } from '../testing/pg-test-db.ts';
import { requirePostgres } from '../testing/require-postgres.ts';
import { MANY } from './pg-coalesce.ts';
import { sessionOptions } from './pg-session-options.ts';
import { emptyArrays, PLAN_MANY, PREPARE_ALL } from './pg-sql.ts';

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

/** A node that reads more of a table than the rows its arrays name: a scan without an index condition, or a join by hashing or merging. */
function wide(n: PlanNode): string | undefined {
  if (/Hash Join|Merge Join/.test(n['Node Type'])) return n['Node Type'];
  if (n['Relation Name'] === undefined || n['Node Type'] === 'ModifyTable') return undefined;
  if (n['Index Cond'] !== undefined) return undefined;
  return `${n['Node Type']} on ${n['Relation Name']}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}`;
}

/** The wide nodes of each merged statement's cached plan, on a connection prepared with `setup`. */
async function scans(db: FreshSchema, setup: string[]): Promise<Map<string, string[]>> {
  const client = new pg.Client(sessionOptions(TEST_DATABASE_URL, db.schema));
  await client.connect();
  try {
    for (const text of setup) await client.query(text);
    const out = new Map<string, string[]>();
    for (const [name, many] of Object.entries(MANY)) {
      const r = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `EXPLAIN (FORMAT JSON) EXECUTE kp_${name}_many(${emptyArrays(many.sql)})`,
      );
      const plan = r.rows[0]!['QUERY PLAN'][0].Plan;
      out.set(
        name,
        nodes(plan).flatMap((n) => wide(n) ?? []),
      );
    }
    return out;
  } finally {
    await client.end();
  }
}

const unreachable = await probePostgres();
requirePostgres(unreachable, 'PLAN_MANY');

describe.skipIf(unreachable !== undefined)('PLAN_MANY on an empty database', () => {
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

  it('leaves every merged statement walking unique indexes from its arrays', async () => {
    const planned = await scans(db, [PREPARE_ALL, PLAN_MANY]);
    expect(planned.size).toBe(Object.keys(MANY).length);
    for (const [name, found] of planned) expect({ name, found }).toEqual({ name, found: [] });
  });

  it('is needed: planned the ordinary way, the same statements scan payments and accounts whole', async () => {
    const planned = await scans(db, [PREPARE_ALL]);
    expect(planned.get('paymentByTx')).toContain('Seq Scan on payments');
    expect(planned.get('debit')).toContain('Seq Scan on accounts');
    expect(planned.get('useUnusedCode')).toContain('Hash Join');
  });
});
