// SPDX-License-Identifier: Apache-2.0
// Issue 12, finding 8: strict input, over real sockets (a broker and the payment server on port 0,
// MQTT clients and fetch). Each case failed before: duplicate keys were read (the last one won),
// any content type was parsed as JSON, only `Bearer ` with that spelling worked, a pay after a void
// answered TX_CONFLICT, and the issuer keys were not served over HTTP.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollWallet, issueOnlineCode, topUp } from '../../server/domain/wallets.ts';
import { ISSUER_KEYS_PATH, ISSUER_KEYS_SIGNING_PREFIX } from '../../server/http/issuer-keys-route.ts';
import { concatBytes, fromBase64url, toBase64url, utf8 } from '../../shared/bytes.ts';
import { nodeEd25519 } from '../../shared/crypto/ed25519-node.ts';
import { money } from '../../shared/money.ts';
import { topics } from '../../shared/topics.ts';
import { issuerKeysDocument } from '../../shared/wallet-messages.ts';
import { WalletApiClient } from '../../wallet/core/api-client.ts';
import { connectAs, startTestSystem, type TestSystem } from '../system-kit.ts';
import { eventually } from '../../shared/testing/wait.ts';

let system: TestSystem;
let kiosk: MqttClient;
const replies: Record<string, unknown>[] = [];

beforeAll(async () => {
  system = await startTestSystem('strict', ['k1']);
  const k = system.kiosks[0]!;
  kiosk = await connectAs(k, 'strict');
  kiosk.on('message', (_t, p) => replies.push(JSON.parse(p.toString()) as Record<string, unknown>));
  await kiosk.subscribeAsync(topics.kioskReplies(k.kioskId), { qos: 1 });
}, 20_000);

afterAll(async () => {
  await kiosk?.endAsync(true);
  await system?.close();
});

/** Publishes `text` as k1's request and resolves with the reply whose `re` is `id`. */
async function ask(text: string, id: string | null): Promise<Record<string, unknown>> {
  const from = replies.length;
  await kiosk.publishAsync(topics.kioskRequests('k1'), text, { qos: 1 });
  return eventually(() => replies.slice(from).find((m) => m['re'] === id), { what: `the reply to ${id}` });
}

const http = (path: string, init: RequestInit = {}) => fetch(`${system.server.httpUrl}${path}`, init);

describe('strict input over MQTT', () => {
  it('refuses a kiosk request with a duplicate key (MALFORMED_MESSAGE) instead of reading the last one', async () => {
    const reply = await ask('{"v":1,"type":"time","id":"dup-1","t0":1,"t0":2}', null);
    expect(reply).toMatchObject({ type: 'error', code: 'MALFORMED_MESSAGE' });
    expect(String(reply['message'])).toContain('duplicate key');
    expect(await ask('{"v":1,"type":"time","id":"ok-1","t0":1}', 'ok-1')).toMatchObject({ type: 'time.result' });
  });

  it('answers a pay for a voided txId with TX_VOIDED (protocol 3.4), not TX_CONFLICT', async () => {
    const ctx = system.server.ctx;
    const w = await enrollWallet(ctx);
    await topUp(ctx, w.walletId, money(5_000));
    const { code } = await issueOnlineCode(ctx, w.walletId);
    expect(await ask(JSON.stringify({ v: 1, type: 'void', id: 'v-1', txId: 'late-1' }), 'v-1')).toMatchObject({
      txId: 'late-1',
      status: 'voided',
    });
    const late = await ask(
      JSON.stringify({ v: 1, type: 'pay', id: 'p-1', txId: 'late-1', code, amount: { value: 100, currency: 'JPY' } }),
      'p-1',
    );
    expect(late).toMatchObject({ status: 'declined', reason: 'TX_VOIDED' });
  });
});

describe('strict input over HTTP', () => {
  it('refuses a body with a duplicate key, and one that is not declared application/json (415)', async () => {
    const enroll = (body: string, type?: string) =>
      http('/v1/wallets', { method: 'POST', body, headers: type ? { 'content-type': type } : {} });
    const dup = await enroll('{"currency":"JPY","currency":"USD"}', 'application/json');
    expect(dup.status).toBe(400);
    expect(await dup.json()).toMatchObject({ error: { code: 'MALFORMED_MESSAGE' } });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', undefined]) {
      const r = await enroll('{"currency":"JPY"}', type);
      expect(r.status, String(type)).toBe(415);
      expect(await r.json()).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    }
    expect((await enroll('{"currency":"JPY"}', 'Application/JSON; charset=utf-8')).status).toBe(200);
  });

  it('takes the Bearer scheme in any case', async () => {
    const { token } = await enrollWallet(system.server.ctx);
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      expect((await http('/v1/wallet', { headers: { authorization: `${scheme} ${token}` } })).status, scheme).toBe(200);
    }
    expect((await http('/v1/wallet', { headers: { authorization: `Basic ${token}` } })).status).toBe(401);
  });

  it('serves the issuer public keys, signed by the issuer, with validity and cache headers', async () => {
    const r = await http(ISSUER_KEYS_PATH);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    expect(r.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
    expect(Date.parse(r.headers.get('expires') ?? '')).toBeGreaterThan(Date.now());
    const doc = issuerKeysDocument.parse(await r.json());
    const body = JSON.parse(doc.body) as { keys: { keyId: number; publicKey: string }[]; issuedAt: number; validUntil: number };
    const issuer = system.server.ctx.issuer;
    expect(body.keys).toEqual([{ keyId: issuer.keyId, publicKey: toBase64url(issuer.publicKey) }]);
    expect(body.validUntil).toBeGreaterThan(body.issuedAt);
    const signed = concatBytes(utf8(ISSUER_KEYS_SIGNING_PREFIX), utf8(doc.body));
    expect(nodeEd25519.verify(signed, fromBase64url(doc.sig)!, issuer.publicKey)).toBe(true);
    expect(nodeEd25519.verify(concatBytes(signed, utf8(' ')), fromBase64url(doc.sig)!, issuer.publicKey)).toBe(false);
    // The wallet's API client reads the same document through the route written once in shared/.
    const viaClient = await new WalletApiClient({ baseUrl: system.server.httpUrl }).issuerKeys();
    expect(JSON.parse(viaClient.body).keys).toEqual(body.keys);
  });
});
