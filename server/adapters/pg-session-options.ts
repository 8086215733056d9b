// SPDX-License-Identifier: Apache-2.0
// The session settings PgStore sends at connect (PostgreSQL's `options` startup parameter), merged
// with any the database URL carries. node-postgres lets a URL's parameters replace the settings
// given beside it, so `postgres://host/db?options=-c%20search_path%3Dx` would silently drop ours
// (the planner's settings, the store's schema). Merged, every setting of both reaches the server; where
// both set one, PostgreSQL takes the later, and the order below says who wins.
/** One `-c name=value` per setting; values are plain names and words here, never spaces. */
const setting = (name: string, value: string) => `-c ${name}=${value}`;

export interface SessionOptions {
  /** The URL without its `options` parameter. */
  connectionString: string;
  /** Every setting, for the pool's `options`. */
  options: string;
}

/**
 * How the store's sessions plan. Generic plans: planning the transfer afresh on every payment cost
 * more than running it. And no sequential scans, hash joins or merge joins while an index serves:
 * a connection keeps a plan until PostgreSQL invalidates it, and the planner prices a join by the
 * table's size at the time; on a young database, or with stale statistics, the statements that
 * serve a whole group over arrays were planned to scan all of `payments`, `accounts` or the unused
 * codes, once per group, for as long as the connection lived, a cost that grows with every payment.
 * Every statement of the payment path reaches its rows through a unique index; the rest (reports,
 * totals) still scan where no index serves. pg-plans.test.ts checks the plans. And no JIT: a scan
 * priced out still runs where nothing else serves, and its price, far past jit_above_cost, had
 * PostgreSQL compile the statement with LLVM on every execution (40 ms for a query of a millisecond).
 */
const PLANNER = [
  setting('plan_cache_mode', 'force_generic_plan'),
  setting('enable_seqscan', 'off'),
  setting('enable_hashjoin', 'off'),
  setting('enable_mergejoin', 'off'),
  setting('jit', 'off'),
];

/**
 * The store's own settings and the URL's, in this order: the planner's (the URL may choose
 * otherwise), then the URL's, then search_path when the store was given a schema (the schema the
 * store migrates is the one it must use). A URL that is not a URL (a bare socket path) is left as is.
 */
export function sessionOptions(connectionString: string, schema: string | undefined): SessionOptions {
  let url: URL | undefined;
  try {
    url = new URL(connectionString);
  } catch {
    url = undefined;
  }
  const fromUrl = url?.searchParams.get('options') ?? '';
  url?.searchParams.delete('options');
  const options = [...PLANNER, fromUrl, schema === undefined ? '' : setting('search_path', schema)]
    .filter((s) => s.trim() !== '')
    .join(' ');
  return { connectionString: url?.toString() ?? connectionString, options };
}
