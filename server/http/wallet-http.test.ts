// SPDX-License-Identifier: Apache-2.0
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toBase64url } from '../../shared/bytes.ts';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import {
  credentialResponse,
  enrollResponse,
  historyResponse,
  onlineCodeResponse,
  paymentCharge,
  walletInfo,
} from '../../shared/wallet-messages.ts';
import { operatorRefund } from '../domain/refunds.ts';
import { makeWorld, type World } from '../testing/world.ts';
import { createWalletHttpServer } from './wallet-http.ts';

let w: World;
let server: Server;
let base: string;

async function start(overrides: Record<string, unknown> = {}) {
  w = await makeWorld(overrides);
  server = createWalletHttpServer(w.ctx);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  await new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
  await w.close();
});

async function call(method: string, path: string, body?: unknown, token?: string) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('wallet HTTP API', () => {
  beforeEach(async () => {
    await start();
  });

  it('enrolls, tops up, issues codes and credentials, and lists history', async () => {
    const e = enrollResponse.parse((await call('POST', '/v1/wallets', {})).body);
    const t = e.token;
    expect(
      walletInfo.parse((await call('POST', '/v1/wallet/topup', { amount: { value: 3_000, currency: 'JPY' } }, t)).body).balance.value,
    ).toBe(3_000);
    const code = onlineCodeResponse.parse((await call('POST', '/v1/wallet/codes', undefined, t)).body);
    expect(code.expiresAt - code.issuedAt).toBe(300_000);
    const pub = naclEd25519.keyPairFromSeed(new Uint8Array(32).fill(1)).publicKey;
    const cred = credentialResponse.parse((await call('POST', '/v1/wallet/credentials', { publicKey: toBase64url(pub) }, t)).body);
    expect(cred.notAfter - cred.notBefore).toBe(7 * 86_400_000);
    expect(cred.renewAfter).toBeLessThan(cred.notAfter);
    await w.pay('k1', code.code, 1_000);
    const h = historyResponse.parse((await call('GET', '/v1/wallet/payments?limit=10', undefined, t)).body);
    expect(h.payments).toHaveLength(1);
    expect(h.payments[0]).toMatchObject({ status: 'approved', kind: 'online', kioskId: 'k1', amount: { value: 1_000 } });
  });

  it('lists what an operator refunded of each sale, and the balance holds the refund', async () => {
    const e = enrollResponse.parse((await call('POST', '/v1/wallets', {})).body);
    const t = e.token;
    await call('POST', '/v1/wallet/topup', { amount: { value: 3_000, currency: 'JPY' } }, t);
    const code = async () => onlineCodeResponse.parse((await call('POST', '/v1/wallet/codes', undefined, t)).body).code;
    const kept = await w.pay('k1', await code(), 1_000);
    const voided = await w.pay('k1', await code(), 500);
    const untouched = await w.pay('k1', await code(), 200);
    const refund = (paymentId: string, action: 'refund' | 'void', amount: number | null, key: string) =>
      operatorRefund(w.ctx, { paymentId, action, amount, reason: 'test', operator: 'alice', requestKey: key.padEnd(16, '-') });
    await refund(kept.paymentId!, 'refund', 300, 'a');
    await refund(kept.paymentId!, 'refund', 50, 'b');
    await refund(voided.paymentId!, 'refund', 100, 'c');
    await refund(voided.paymentId!, 'void', null, 'd');
    const h = historyResponse.parse((await call('GET', '/v1/wallet/payments', undefined, t)).body);
    const byId = new Map(h.payments.map((p) => [p.paymentId, p]));
    expect(byId.get(kept.paymentId!)).toMatchObject({
      status: 'approved',
      amount: { value: 1_000 },
      refunded: { value: 350, currency: 'JPY' },
    });
    expect(paymentCharge(byId.get(kept.paymentId!)!)).toBe(650);
    // A voided payment is charged nothing; it lists no refund of its own.
    expect(byId.get(voided.paymentId!)).toMatchObject({ status: 'voided' });
    expect(byId.get(voided.paymentId!)).not.toHaveProperty('refunded');
    expect(paymentCharge(byId.get(voided.paymentId!)!)).toBe(0);
    expect(byId.get(untouched.paymentId!)).not.toHaveProperty('refunded');
    const charged = h.payments.reduce((sum, p) => sum + paymentCharge(p), 0);
    const info = walletInfo.parse((await call('GET', '/v1/wallet', undefined, t)).body);
    expect(charged).toBe(650 + 200);
    expect(info.balance.value).toBe(3_000 - charged);
  });

  it('answers the four-timestamp time sync', async () => {
    const r = await call('POST', '/v1/time', { t0: 123 });
    expect(r.body).toEqual({ t0: 123, t1: w.clock.nowMs(), t2: w.clock.nowMs() });
  });

  it('refuses missing and wrong tokens with UNAUTHORIZED', async () => {
    expect(await call('GET', '/v1/wallet')).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    expect(await call('GET', '/v1/wallet', undefined, 'x'.repeat(43))).toMatchObject({ status: 401 });
  });

  it('stops a client that guesses tokens', async () => {
    for (let i = 0; i < w.config.authFailuresPerMinuteMax; i++) await call('GET', '/v1/wallet', undefined, `guess-${i}-${'y'.repeat(40)}`);
    const e = enrollResponse.parse((await call('POST', '/v1/wallets', {})).body);
    expect(await call('GET', '/v1/wallet', undefined, e.token)).toMatchObject({ status: 429, body: { error: { code: 'RATE_LIMITED' } } });
    w.clock.advance(60_000);
    expect((await call('GET', '/v1/wallet', undefined, e.token)).status).toBe(200);
  });

  it('rejects malformed, oversized and unknown requests with typed errors', async () => {
    const e = enrollResponse.parse((await call('POST', '/v1/wallets', {})).body);
    expect(await call('POST', '/v1/wallet/topup', '{not json', e.token)).toMatchObject({
      status: 400,
      body: { error: { code: 'MALFORMED_MESSAGE' } },
    });
    expect(await call('POST', '/v1/wallet/topup', { amount: { value: 0.5, currency: 'JPY' } }, e.token)).toMatchObject({ status: 400 });
    expect(await call('POST', '/v1/wallet/topup', { amount: { value: 5, currency: 'JPY' }, extra: 1 }, e.token)).toMatchObject({
      status: 400,
    });
    expect(await call('POST', '/v1/wallet/credentials', { publicKey: 'short' }, e.token)).toMatchObject({ status: 400 });
    expect(await call('POST', '/v1/wallet/credentials', { publicKey: toBase64url(new Uint8Array(32)) }, e.token)).toMatchObject({
      status: 400,
      body: { error: { code: 'MALFORMED_MESSAGE' } },
    });
    expect(await call('POST', '/v1/wallets', 'x'.repeat(20_000))).toMatchObject({
      status: 413,
      body: { error: { code: 'MESSAGE_TOO_LARGE' } },
    });
    expect(await call('GET', '/v1/nothing')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect(await call('GET', '/v1/wallet/payments?limit=9999', undefined, e.token)).toMatchObject({ status: 400 });
  });
});

describe('wallet HTTP API in production mode', () => {
  beforeEach(async () => {
    await start({ topupEnabled: false });
  });

  it('refuses the demo top-up', async () => {
    const e = enrollResponse.parse((await call('POST', '/v1/wallets', {})).body);
    expect(await call('POST', '/v1/wallet/topup', { amount: { value: 5, currency: 'JPY' } }, e.token)).toMatchObject({
      status: 403,
      body: { error: { code: 'TOPUP_DISABLED' } },
    });
  });
});
