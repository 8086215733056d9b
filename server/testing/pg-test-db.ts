// SPDX-License-Identifier: Apache-2.0
// PostgreSQL for tests: the database named by KP_TEST_DATABASE_URL (default: database `test` on
// 127.0.0.1:5432, trust auth), whether it answers, and a fresh schema per run that is dropped
// afterwards. No vitest here: the simulator's command line uses it too (require-postgres.ts is the
// test files' half).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { seededRandom } from '../../shared/random.ts';
import { PgStore, type PgStoreOptions } from '../adapters/pg-store.ts';

export const TEST_DATABASE_URL = process.env['KP_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Why PostgreSQL at `url` cannot be used, or undefined when it answers. */
export async function probePostgres(url: string = TEST_DATABASE_URL): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL at ${url.replace(/\/\/[^@]*@/, '//')} is unreachable (${(err as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

export interface FreshSchema {
  readonly schema: string;
  /** The database URL with the schema as search_path, for a process that opens its own store (the server's DATABASE_URL). */
  readonly url: string;
  /** A store on the schema (created with its tables on first use); seeded randomness, one seed per store. */
  open(options?: Omit<PgStoreOptions, 'connectionString' | 'schema'>): PgStore;
  /** Drops the schema and everything in it. */
  dispose(): Promise<void>;
}

/** A fresh schema (`<prefix>_<random>`) in the database at `url`; nothing is created until a store opens it. */
export function freshSchema(o: { url?: string; prefix?: string } = {}): FreshSchema {
  const url = o.url ?? TEST_DATABASE_URL;
  const schema = `${o.prefix ?? 'kp_test'}_${randomBytes(6).toString('hex')}`;
  const withPath = new URL(url);
  withPath.searchParams.set('options', `-c search_path=${schema}`);
  let seed = 1;
  return {
    schema,
    url: withPath.toString(),
    open: (options = {}) => new PgStore({ random: seededRandom(seed++), ...options, connectionString: url, schema }),
    dispose: async () => {
      const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
      await admin.connect();
      try {
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}
