// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { walletRoutes } from '../../shared/wallet-messages.ts';
import { T0, issueTestCredential } from '../testing/fixtures.ts';
import { RESPONSE_BYTES_MAX, WalletApiClient } from './api-client.ts';
import { ManualTimers } from './timers.ts';
import { WalletApiError, WalletNetworkError, WalletProtocolError } from './wallet-errors.ts';

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A fetch that records each request and answers with `answer(request)`. */
function fakeFetch(answer: (req: Seen) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const req: Seen = {
      method: init?.method ?? 'GET',
      url: String(input),
      headers: { ...(init?.headers as Record<string, string>) },
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    seen.push(req);
    return answer(req);
  };
  return { fetch, seen };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const info = { walletId: 'w1', balance: { value: 500, currency: 'JPY' }, offlineEligible: true };

/** A fetch that never answers but, like the real one, rejects when its signal aborts. */
const hangingFetch: typeof globalThis.fetch = (_input, init) =>
  new Promise((_, reject) => {
    init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
  });

describe('WalletApiClient', () => {
  it('calls every route of walletRoutes with its method, path, token and schema-checked body', async () => {
    const pub = new Uint8Array(32).fill(9);
    const answers: Record<string, unknown> = {
      'POST /v1/wallets': { walletId: 'w1', token: 't'.repeat(43), currency: 'JPY' },
      'GET /v1/wallet': info,
      'POST /v1/wallet/topup': info,
      'POST /v1/wallet/codes': { code: '31234567890123456789', issuedAt: T0, expiresAt: T0 + 1 },
      'POST /v1/wallet/credentials': issueTestCredential(pub, T0),
      'GET /v1/wallet/payments': { payments: [] },
      'POST /v1/time': { t0: 5, t1: 6, t2: 7 },
      'GET /v1/issuer-keys': { v: 1, type: 'issuer-keys', body: '{}', keyId: 1, sig: 'c2ln' },
    };
    const { fetch, seen } = fakeFetch((r) => json(200, answers[`${r.method} ${new URL(r.url).pathname}`]));
    const api = new WalletApiClient({ baseUrl: 'http://srv.test/', fetch }).withToken('secret-token');
    await api.enroll('JPY');
    await api.info();
    await api.topup({ value: 100, currency: 'JPY' });
    await api.onlineCode();
    await api.credential('CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk');
    await api.history(10);
    expect(await api.time(5)).toEqual({ t0: 5, t1: 6, t2: 7 });
    expect((await api.issuerKeys()).keyId).toBe(1);
    const called = new Set(seen.map((r) => `${r.method} ${new URL(r.url).pathname}`));
    expect(called).toEqual(new Set(Object.values(walletRoutes).map((r) => `${r.method} ${r.path}`)));
    expect(seen.find((r) => r.url.endsWith('/v1/wallets'))!.headers.authorization).toBeUndefined();
    expect(seen.find((r) => r.url.endsWith('/v1/wallet'))!.headers.authorization).toBe('Bearer secret-token');
    expect(seen.find((r) => r.url.endsWith('/topup'))!.body).toEqual({ amount: { value: 100, currency: 'JPY' } });
    expect(seen.find((r) => r.url.includes('/payments'))!.url).toBe('http://srv.test/v1/wallet/payments?limit=10');
  });

  it('turns an error body into WalletApiError with its code and status', async () => {
    const { fetch } = fakeFetch(() => json(403, { error: { code: 'TOPUP_DISABLED', message: 'no' } }));
    const err = await new WalletApiClient({ baseUrl: 'http://srv.test', fetch, token: 't' })
      .topup({ value: 1, currency: 'JPY' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WalletApiError);
    expect(err).toMatchObject({ code: 'TOPUP_DISABLED', status: 403, message: 'no' });
  });

  it('refuses answers outside the schema, unknown error codes and non-JSON as BAD_RESPONSE', async () => {
    const bodies = [
      json(200, { ...info, extra: 1 }),
      json(200, { ...info, balance: { value: 1.5, currency: 'JPY' } }),
      json(500, { error: { code: 'NO_SUCH_CODE', message: 'x' } }),
      new Response('<html>', { status: 502 }),
    ];
    for (const body of bodies) {
      const { fetch } = fakeFetch(() => body);
      await expect(new WalletApiClient({ baseUrl: 'http://srv.test', fetch, token: 't' }).info()).rejects.toBeInstanceOf(
        WalletProtocolError,
      );
    }
  });

  it('refuses a body larger than its cap', async () => {
    const { fetch } = fakeFetch(() => new Response('x'.repeat(RESPONSE_BYTES_MAX + 1), { status: 200 }));
    await expect(new WalletApiClient({ baseUrl: 'http://srv.test', fetch, token: 't' }).info()).rejects.toMatchObject({
      code: 'BAD_RESPONSE',
    });
  });

  it('reports an unreachable server with the errno, and no secrets', async () => {
    const fetch: typeof globalThis.fetch = async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
    };
    const err = await new WalletApiClient({ baseUrl: 'http://srv.test', fetch, token: 'secret-token' }).info().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WalletNetworkError);
    expect(err).toMatchObject({ code: 'NETWORK_UNREACHABLE', detail: { cause: 'ECONNREFUSED' } });
    expect((err as Error).message).not.toContain('secret-token');
  });

  it('times out on its own timer and tells a timeout from a cancel', async () => {
    const timers = new ManualTimers();
    const api = new WalletApiClient({ baseUrl: 'http://srv.test', fetch: hangingFetch, timers, timeoutMs: 1_000, token: 't' });
    const slow = api.info();
    timers.advance(1_000);
    await expect(slow).rejects.toMatchObject({ code: 'NETWORK_TIMEOUT', detail: { timeoutMs: 1_000 } });
    const controller = new AbortController();
    const cancelled = api.info({ signal: controller.signal });
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ code: 'ABORTED' });
    expect(timers.pendingCount).toBe(0);
  });

  it('treats a request body outside its schema as a programmer error and sends nothing', async () => {
    const { fetch, seen } = fakeFetch(() => json(200, info));
    const api = new WalletApiClient({ baseUrl: 'http://srv.test', fetch, token: 't' });
    await expect(api.topup({ value: 0, currency: 'JPY' })).rejects.toThrow();
    expect(() => api.history(0)).toThrow(/limit/);
    expect(seen).toEqual([]);
  });

  it('accepts only plain http(s) base URLs', () => {
    expect(() => new WalletApiClient({ baseUrl: 'ftp://srv.test' })).toThrow();
    expect(() => new WalletApiClient({ baseUrl: 'http://user:pw@srv.test' })).toThrow();
    expect(() => new WalletApiClient({ baseUrl: 'https://srv.test/base' })).not.toThrow();
  });
});
