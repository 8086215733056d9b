// SPDX-License-Identifier: Apache-2.0
// One connection's statements, batched: every statement asked for while a batch is on the wire (or
// in the same turn of the event loop) goes out in the next one, as one simple query of many
// `EXECUTE` statements (pg-literal.ts), with the same statement of many units merged into one where
// that changes no answer (pg-coalesce.ts). node-postgres has one query in flight per connection and
// does not pipeline; this gives the same effect, one round trip for the statements of all units that
// are waiting on the database. PostgreSQL runs them in order, each with its own snapshot under READ
// COMMITTED; the first error aborts the transaction and fails every statement of its batch.
import type pg from 'pg';
import { plan, type Planned } from './pg-coalesce.ts';
import { literal } from './pg-literal.ts';
import { execute, type SqlName } from './pg-sql.ts';

interface Item {
  name: SqlName | undefined;
  values: readonly unknown[];
  text: string | undefined;
  resolve: (r: pg.QueryResult) => void;
  reject: (e: unknown) => void;
}

export class StatementBatcher {
  readonly #client: pg.PoolClient;
  #pending: Item[] = [];
  #scheduled = false;
  #busy = false;
  /** Batches sent (round trips), and statements in them after merging (for the bench's figures). */
  batches = 0;
  statements = 0;

  constructor(client: pg.PoolClient) {
    this.#client = client;
  }

  /** Runs a prepared statement of pg-sql.ts. */
  run(name: SqlName, values: readonly unknown[]): Promise<pg.QueryResult> {
    return this.#push(name, values, undefined);
  }

  /** Runs a statement given as text (BEGIN, COMMIT). */
  runText(text: string): Promise<pg.QueryResult> {
    return this.#push(undefined, [], text);
  }

  #push(name: SqlName | undefined, values: readonly unknown[], text: string | undefined): Promise<pg.QueryResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ name, values, text, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#busy) return;
    this.#scheduled = true;
    // After the microtasks of this turn: every unit that just got an answer has asked its next question.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  #text(items: readonly Item[], p: Planned): string {
    const first = items[p.requests[0]!]!;
    if (p.merged === undefined) return first.text ?? execute(first.name!, first.values);
    const columns = first.values.map((_, j) => literal(p.requests.map((i) => items[i]!.values[j])));
    return `EXECUTE kp_${first.name}_many(${columns.join(', ')})`;
  }

  async #flush(): Promise<void> {
    const items = this.#pending.splice(0);
    if (items.length === 0) return;
    this.#busy = true;
    const planned = plan(items);
    this.batches++;
    this.statements += planned.length;
    try {
      const r = (await this.#client.query(planned.map((p) => this.#text(items, p)).join(';\n'))) as pg.QueryResult | pg.QueryResult[];
      const results = Array.isArray(r) ? r : [r];
      if (results.length !== planned.length) throw new Error(`batch of ${planned.length} statements returned ${results.length} results`);
      for (const [k, p] of planned.entries()) {
        const result = results[k]!;
        for (const [place, i] of p.requests.entries()) {
          if (p.merged === 'read') {
            const rows = result.rows.filter((row: Record<string, unknown>) => Number(row['kp_i']) === place + 1);
            items[i]!.resolve({ ...result, rows, rowCount: rows.length });
          } else items[i]!.resolve(p.merged === 'write' ? { ...result, rowCount: 1 } : result);
        }
      }
    } catch (error) {
      for (const item of items) item.reject(error);
    } finally {
      this.#busy = false;
      if (this.#pending.length > 0) this.#schedule();
    }
  }
}
