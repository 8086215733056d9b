// SPDX-License-Identifier: Apache-2.0
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { probePostgres, TEST_DATABASE_URL } from '../testing/pg-test-db.ts';
import { requirePostgres } from '../testing/require-postgres.ts';
import { sessionOptions } from './pg-session-options.ts';

describe('sessionOptions', () => {
  it("keeps the store's settings and the URL's, the URL's options parameter moved out of the URL", () => {
    const s = sessionOptions('postgres://u@db:5432/pay?options=-c%20work_mem%3D5MB&sslmode=disable', 'kp_a');
    expect(s).toEqual({
      connectionString: 'postgres://u@db:5432/pay?sslmode=disable',
      options:
        '-c plan_cache_mode=force_generic_plan -c enable_seqscan=off -c enable_hashjoin=off -c enable_mergejoin=off -c jit=off -c work_mem=5MB -c search_path=kp_a',
    });
  });

  it("puts the store's schema last (it wins over a search_path in the URL) and the URL's plan_cache_mode after the default", () => {
    const s = sessionOptions('postgres://db/pay?options=-c%20search_path%3Dother%20-c%20plan_cache_mode%3Dauto', 'kp_b');
    expect(s.options).toBe(
      '-c plan_cache_mode=force_generic_plan -c enable_seqscan=off -c enable_hashjoin=off -c enable_mergejoin=off -c jit=off -c search_path=other -c plan_cache_mode=auto -c search_path=kp_b',
    );
  });

  it('leaves a URL without options, or a string that is not a URL, as it is', () => {
    expect(sessionOptions('postgres://db/pay', undefined)).toEqual({
      connectionString: 'postgres://db/pay',
      options: '-c plan_cache_mode=force_generic_plan -c enable_seqscan=off -c enable_hashjoin=off -c enable_mergejoin=off -c jit=off',
    });
    expect(sessionOptions('/var/run/postgresql pay', undefined).connectionString).toBe('/var/run/postgresql pay');
  });
});

const unreachable = await probePostgres();
requirePostgres(unreachable, 'sessionOptions');

describe.skipIf(unreachable !== undefined)('sessionOptions on PostgreSQL', () => {
  it("reaches the server whole: a URL with its own options no longer replaces the store's", async () => {
    const url = new URL(TEST_DATABASE_URL);
    url.searchParams.set('options', '-c work_mem=5MB');
    // What node-postgres did before: the URL's options replaced the ones given beside it.
    const before = new pg.Client({ connectionString: url.toString(), options: '-c plan_cache_mode=force_generic_plan' });
    const merged = sessionOptions(url.toString(), 'public');
    const after = new pg.Client(merged);
    const show = async (c: pg.Client) => {
      await c.connect();
      try {
        const r = await c.query<{ plan: string; mem: string; path: string }>(
          `SELECT current_setting('plan_cache_mode') AS plan, current_setting('work_mem') AS mem, current_setting('search_path') AS path`,
        );
        return r.rows[0];
      } finally {
        await c.end();
      }
    };
    expect(await show(before)).toMatchObject({ plan: 'auto', mem: '5MB' });
    expect(await show(after)).toEqual({ plan: 'force_generic_plan', mem: '5MB', path: 'public' });
  });
});
