// SPDX-License-Identifier: Apache-2.0
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { probePostgres, TEST_DATABASE_URL } from '../testing/pg-test-db.ts';
import { requirePostgres } from '../testing/require-postgres.ts';
import { literal, quote } from './pg-literal.ts';

const TRICKY = ["it's", 'back\\slash', "both ' and \\", '"quoted"', '{a,b}', 'NULL', '', 'ünï 日本', "''\\\\''"];

describe('literal', () => {
  it('quotes strings as PostgreSQL constants: quotes doubled, and E-strings with doubled backslashes', () => {
    expect(quote("it's")).toBe("'it''s'");
    expect(quote('a\\b')).toBe(" E'a\\\\b'");
    expect(quote("'\\")).toBe(" E'''\\\\'");
    expect(() => quote('a\0b')).toThrow(/NUL/);
  });

  it('writes arrays with each element double-quoted, and " and \\ escaped inside', () => {
    expect(literal(['a', null, 'b"c', 'd\\e'])).toBe(` E'{"a",NULL,"b\\\\"c","d\\\\\\\\e"}'`);
    expect(literal([1, 2])).toBe(`'{"1","2"}'`);
    expect(() => literal(0.5)).toThrow(/safe integer/);
  });
});

const unreachable = await probePostgres();
requirePostgres(unreachable, 'literal on PostgreSQL');

describe.skipIf(unreachable !== undefined)('literal on PostgreSQL', () => {
  it('reads back as the very strings and arrays it was made from', async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      for (const s of TRICKY) {
        const r = await client.query<{ s: string; a: string[] }>(`SELECT ${literal(s)}::text AS s, ${literal([s, null, s])}::text[] AS a`);
        expect(r.rows[0]).toEqual({ s, a: [s, null, s] });
      }
    } finally {
      await client.end();
    }
  });
});
