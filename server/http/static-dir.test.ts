// SPDX-License-Identifier: Apache-2.0
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaticDirHandler, resolveStaticPath } from './static-dir.ts';

let root: string;
let dist: string;
let server: Server;
let port: number;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'kp-static-'));
  dist = join(root, 'dist');
  mkdirSync(join(dist, 'chunks'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>w</title>');
  writeFileSync(join(dist, 'app.js'), 'console.log(1)');
  writeFileSync(join(dist, 'chunks', 'a b.js'), 'x');
  writeFileSync(join(dist, '.secret.json'), '{}');
  writeFileSync(join(dist, 'notes.md'), '# not served');
  writeFileSync(join(root, 'outside.txt'), 'outside the served directory');
  const handler = createStaticDirHandler({ dir: dist, prefix: '/wallet' });
  server = createServer((req, res) => {
    if (handler(req, res)) return;
    res.writeHead(418);
    res.end('not mine');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
  rmSync(root, { recursive: true, force: true });
});

/** A raw request: the path goes on the wire exactly as written (fetch would normalise ".."). */
function get(
  path: string,
  o: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: o.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('static directory under a prefix', () => {
  it('serves index.html for the prefix, files by name, with their types and no-cache plus an ETag', async () => {
    const index = await get('/wallet/');
    expect(index).toMatchObject({ status: 200, body: '<!doctype html><title>w</title>' });
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");
    const js = await get('/wallet/app.js?v=1');
    expect(js).toMatchObject({ status: 200, body: 'console.log(1)' });
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await get('/wallet/chunks/a%20b.js')).body).toBe('x');
    const again = await get('/wallet/app.js', { headers: { 'if-none-match': String(js.headers.etag) } });
    expect(again).toMatchObject({ status: 304, body: '' });
    const head = await get('/wallet/app.js', { method: 'HEAD' });
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers['content-length']).toBe('14');
  });

  it('redirects the bare prefix into the service worker scope and leaves other paths to the next handler', async () => {
    const bare = await get('/wallet');
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe('/wallet/');
    expect((await get('/walletx/app.js')).status).toBe(418);
    expect((await get('/v1/wallet')).status).toBe(418);
  });

  it('never leaves the directory, and serves no dot-files, unknown types, directories or missing files', async () => {
    for (const path of [
      '/wallet/../outside.txt',
      '/wallet/%2e%2e/outside.txt',
      '/wallet/chunks/..%2f..%2foutside.txt',
      '/wallet/.secret.json',
      '/wallet/notes.md',
      '/wallet/chunks',
      '/wallet/chunks/',
      '/wallet/nope.js',
      '/wallet//app.js',
    ]) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      expect(r.body, path).not.toContain('outside the served directory');
    }
    for (const path of ['/wallet/%zz', '/wallet/a%00.js', '/wallet/..%5coutside.txt', `/wallet/${'a'.repeat(600)}.js`])
      expect((await get(path)).status, path).toBe(400);
  });

  it('answers only GET and HEAD', async () => {
    const r = await get('/wallet/app.js', { method: 'POST' });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD');
  });

  it('resolves paths purely, inside the root only', () => {
    expect(resolveStaticPath('/srv/d', '/wallet', '/wallet/')).toEqual({ ok: true, file: '/srv/d/index.html' });
    expect(resolveStaticPath('/srv/d', '/wallet', '/wallet/chunks/x.js')).toEqual({ ok: true, file: '/srv/d/chunks/x.js' });
    expect(resolveStaticPath('/srv/d', '/wallet', '/wallet/%2e%2e/d2/x.js')).toEqual({ ok: false, status: 404 });
  });
});
