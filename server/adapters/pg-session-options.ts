// SPDX-License-Identifier: Apache-2.0
// The session settings PgStore sends at connect (PostgreSQL's `options` startup parameter), merged
// with any the database URL carries. node-postgres lets a URL's parameters replace the settings
// given beside it, so `postgres://host/db?options=-c%20search_path%3Dx` would silently drop ours
// (the generic plans, the store's schema). Merged, every setting of both reaches the server; where
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
 * The store's own settings and the URL's, in this order: plan_cache_mode (the URL may choose
 * another), then the URL's, then search_path when the store was given a schema (the schema the
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
  const options = [setting('plan_cache_mode', 'force_generic_plan'), fromUrl, schema === undefined ? '' : setting('search_path', schema)]
    .filter((s) => s.trim() !== '')
    .join(' ');
  return { connectionString: url?.toString() ?? connectionString, options };
}
