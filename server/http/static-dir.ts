// SPDX-License-Identifier: Apache-2.0
// Serves a built directory (the wallet web app) under a path prefix, e.g. /wallet/ -> wallet/web/dist.
// Read-only and deny by default: GET and HEAD only, regular files only, no dot-files, no path that
// leaves the directory (encoded or not), a closed list of content types. Every answer says how it may
// be cached: the service worker and the HTML must be revalidated on each load, so an update reaches
// phones on their next visit; the other files are revalidated too (names are stable), with an ETag.
import { createReadStream, promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import type { StaticHandler } from './wallet-http.ts';

/** Types of the files a build may contain; anything else is not served. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** Longest URL path accepted under the prefix, in characters. */
export const STATIC_PATH_CHARS_MAX = 512;
/** Largest file served, in bytes: a build never holds one bigger. */
export const STATIC_FILE_BYTES_MAX = 16 * 1024 * 1024;

/**
 * Pages are scripts' only source; connections go to this origin only (the API is same-origin).
 * `style-src 'self'` keeps inline style attributes out; the app sets styles through the CSSOM.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export interface StaticDirOptions {
  /** The directory to serve; resolved once. */
  dir: string;
  /** URL path prefix without a trailing slash, e.g. "/wallet". */
  prefix: string;
  /** Served for the prefix itself ("/wallet/"). */
  index?: string;
  /** Called when a read fails for a reason other than "not there" (the host logs it). */
  onError?: (err: unknown) => void;
}

type Resolved = { ok: true; file: string } | { ok: false; status: 400 | 404 };

/** Maps a URL path under `prefix` to a file inside `root`, or says why not. Pure; exported for tests. */
export function resolveStaticPath(root: string, prefix: string, urlPath: string, index = 'index.html'): Resolved {
  if (urlPath.length > STATIC_PATH_CHARS_MAX) return { ok: false, status: 400 };
  let rest = urlPath.slice(prefix.length + 1);
  if (rest === '') rest = index;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    return { ok: false, status: 400 };
  }
  // Backslashes and NUL have no business in our file names; "..", "." and dot-files neither.
  if (decoded.includes('\0') || decoded.includes('\\')) return { ok: false, status: 400 };
  const parts = decoded.split('/');
  if (parts.some((p) => p === '' || p.startsWith('.'))) return { ok: false, status: 404 };
  const file = resolve(root, ...parts);
  if (!file.startsWith(root + sep)) return { ok: false, status: 404 };
  if (CONTENT_TYPES[extname(file).toLowerCase()] === undefined) return { ok: false, status: 404 };
  return { ok: true, file };
}

/** A handler for wallet-http's static hook: claims every request under the prefix, ignores the rest. */
export function createStaticDirHandler(o: StaticDirOptions): StaticHandler {
  const root = resolve(o.dir);
  const prefix = o.prefix.replace(/\/+$/, '');
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === prefix) {
      // The service worker's scope is "<prefix>/": send the bare prefix there.
      res.writeHead(308, { location: `${prefix}/`, 'content-length': 0 });
      res.end();
      return true;
    }
    if (!path.startsWith(`${prefix}/`)) return false;
    void serveFile(root, prefix, path, o, req, res).catch((err: unknown) => {
      o.onError?.(err);
      if (!res.headersSent) plain(res, 500, 'internal error');
      else res.destroy();
    });
    return true;
  };
}

async function serveFile(
  root: string,
  prefix: string,
  path: string,
  o: StaticDirOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return plain(res, 405, 'method not allowed');
  }
  const r = resolveStaticPath(root, prefix, path, o.index);
  if (!r.ok) return plain(res, r.status, r.status === 400 ? 'bad path' : 'not found');
  let stat;
  try {
    stat = await fs.stat(r.file);
  } catch (e) {
    if (isMissing(e)) return plain(res, 404, 'not found');
    throw e;
  }
  if (!stat.isFile() || stat.size > STATIC_FILE_BYTES_MAX) return plain(res, 404, 'not found');
  const etag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
  const headers: Record<string, string | number> = {
    'content-type': CONTENT_TYPES[extname(r.file).toLowerCase()]!,
    'cache-control': 'no-cache',
    etag,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'content-security-policy': CONTENT_SECURITY_POLICY,
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': stat.size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await new Promise<void>((done, fail) => {
    const stream = createReadStream(r.file);
    stream.once('error', fail);
    res.once('close', () => {
      stream.destroy();
      done();
    });
    stream.pipe(res).once('finish', done);
  });
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG';
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}
