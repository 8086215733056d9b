// SPDX-License-Identifier: Apache-2.0
// One connection's statements, batched: every statement asked for while a batch is on the wire (or
// in the same turn of the event loop) goes out in the next one, as one simple query of many
// `EXECUTE` statements (pg-literal.ts). node-postgres has one query in flight per connection and
// does not pipeline; this gives the same effect, one round trip for the statements of all units
// that are waiting on the database. PostgreSQL runs them in order, each with its own snapshot under
// READ COMMITTED; the first error aborts the transaction and fails every statement of its batch.
import type pg from 'pg';

interface Item {
  text: string;
  resolve: (r: pg.QueryResult) => void;
  reject: (e: unknown) => void;
}

export class StatementBatcher {
  readonly #client: pg.PoolClient;
  #pending: Item[] = [];
  #scheduled = false;
  #busy = false;
  /** Batches sent, and statements in them (for the bench's per-payment figures). */
  batches = 0;
  statements = 0;

  constructor(client: pg.PoolClient) {
    this.#client = client;
  }

  run(text: string): Promise<pg.QueryResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ text, resolve, reject });
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

  async #flush(): Promise<void> {
    const items = this.#pending.splice(0);
    if (items.length === 0) return;
    this.#busy = true;
    this.batches++;
    this.statements += items.length;
    try {
      const r = (await this.#client.query(items.map((i) => i.text).join(';\n'))) as pg.QueryResult | pg.QueryResult[];
      const results = Array.isArray(r) ? r : [r];
      if (results.length !== items.length) throw new Error(`batch of ${items.length} statements returned ${results.length} results`);
      for (const [i, item] of items.entries()) item.resolve(results[i]!);
    } catch (error) {
      for (const item of items) item.reject(error);
    } finally {
      this.#busy = false;
      if (this.#pending.length > 0) this.#schedule();
    }
  }
}
