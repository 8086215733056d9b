// SPDX-License-Identifier: Apache-2.0
// The server over the real broker: kiosk requests and replies, retained issuer keys, and a signed
// revocation list that is re-published when a double spend revokes a credential.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MqttUplink } from '../device/uplink/mqtt-uplink.ts';
import { concatBytes, fromBase64url, utf8 } from '../shared/bytes.ts';
import { makeOfflineCode } from '../shared/codes/offline-code.ts';
import { naclEd25519 } from '../shared/crypto/ed25519-nacl.ts';
import { nodeEd25519 } from '../shared/crypto/ed25519-node.ts';
import { issuerKeysMessage, revocationsBody, revocationsMessage, type RevocationsMessage } from '../shared/kiosk-messages.ts';
import { money } from '../shared/money.ts';
import { topics } from '../shared/topics.ts';
import { enrollWallet, issueCredential, issueOnlineCode, topUp } from '../server/domain/wallets.ts';
import { connectAs, startTestSystem, type TestSystem } from './system-kit.ts';
import { eventually } from '../shared/testing/wait.ts';

let system: TestSystem;
const uplinks: MqttUplink[] = [];

beforeEach(async () => {
  system = await startTestSystem('srv-mqtt', ['k1', 'k2']);
  for (const k of system.kiosks) uplinks.push(await MqttUplink.connect({ ...k, requestTimeoutMs: 5000 }));
});

afterEach(async () => {
  await Promise.all(uplinks.splice(0).map((u) => u.close()));
  await system.close();
});

/** Subscribes as kiosk k1 to a retained topic and collects what arrives. */
async function watch(topic: string) {
  const k = system.kiosks[0]!;
  const client = await connectAs(k, `watch-${Math.random()}`);
  const seen: Buffer[] = [];
  client.on('message', (_t, p) => seen.push(p));
  await client.subscribeAsync(topic, { qos: 1 });
  /** The first message that satisfies `pred` (the first of all by default). */
  const next = (what: string, pred: (m: Buffer) => boolean = () => true) => eventually(() => seen.find(pred), { what });
  return { next, close: () => client.endAsync() };
}

function verifyRevocations(m: RevocationsMessage, issuerKey: Uint8Array): boolean {
  return nodeEd25519.verify(concatBytes(utf8('kioskpay/revocations/v1\0'), utf8(m.body)), fromBase64url(m.sig)!, issuerKey);
}

describe('server over MQTT', () => {
  it('answers a kiosk payment on the kiosk reply topic', async () => {
    const ctx = system.server.ctx;
    const w = await enrollWallet(ctx);
    await topUp(ctx, w.walletId, money(5_000));
    const { code } = await issueOnlineCode(ctx, w.walletId);
    const r = await uplinks[0]!.request({ v: 1, type: 'pay', id: 'c1', txId: 't1', code, amount: money(1_000) });
    expect(r).toMatchObject({ type: 'pay.result', re: 'c1', status: 'approved' });
    const again = await uplinks[0]!.request({ v: 1, type: 'pay', id: 'c2', txId: 't1', code, amount: money(1_000) });
    expect(again).toMatchObject({ status: 'approved', paymentId: (r as { paymentId: string }).paymentId });
  });

  it('publishes retained issuer keys and a signed revocation list, re-published after a double spend', async () => {
    const keys = await watch(topics.issuerKeys);
    const keyMsg = await keys.next('the retained issuer keys');
    const parsedKeys = issuerKeysMessage.parse(JSON.parse(keyMsg.toString()));
    const issuerKey = fromBase64url(parsedKeys.keys[0]!.publicKey)!;
    await keys.close();

    const rev = await watch(topics.revocations);
    const first = await rev.next('the retained revocation list');
    const firstMsg = revocationsMessage.parse(JSON.parse(first.toString()));
    expect(verifyRevocations(firstMsg, issuerKey)).toBe(true);
    expect(
      verifyRevocations({ ...firstMsg, body: firstMsg.body.replace('"credentials":[]', '"credentials":["0000000000000000"]') }, issuerKey),
    ).toBe(false);
    expect(revocationsBody.parse(JSON.parse(firstMsg.body)).credentials).toEqual([]);

    // The same offline code stored by two offline kiosks and settled by both: a double spend.
    const ctx = system.server.ctx;
    const w = await enrollWallet(ctx);
    await topUp(ctx, w.walletId, money(5_000));
    const phone = naclEd25519.keyPairFromSeed(new Uint8Array(32).fill(9));
    const cred = await issueCredential(ctx, w.walletId, phone.publicKey);
    const now = Date.now();
    const code = makeOfflineCode(
      { credential: fromBase64url(cred.credential)!, timestampMs: now, counter: 1, phoneSecretKey: phone.secretKey },
      naclEd25519,
    );
    for (const [i, u] of uplinks.entries()) {
      const r = await u.request({
        v: 1,
        type: 'settle',
        id: `s${i}`,
        items: [{ txId: `o${i}`, code, amount: money(100), capturedAt: now }],
      });
      // The first to settle is paid; the copy is declined and its merchant bears it (docs/protocol.md 3.6).
      expect(r).toMatchObject({
        type: 'settle.result',
        items: [i === 0 ? { status: 'settled' } : { status: 'declined', reason: 'COUNTER_REUSED' }],
      });
    }
    // Waits for the list that revokes the credential, whatever else is re-published meanwhile.
    const revokes = (m: Buffer) => revocationsMessage.parse(JSON.parse(m.toString())).body.includes(cred.credentialId);
    const latest = revocationsMessage.parse(JSON.parse((await rev.next('the list revoking the credential', revokes)).toString()));
    expect(verifyRevocations(latest, issuerKey)).toBe(true);
    const body = revocationsBody.parse(JSON.parse(latest.body));
    expect(body.credentials).toEqual([cred.credentialId]);
    expect(body.seq).toBeGreaterThan(revocationsBody.parse(JSON.parse(firstMsg.body)).seq);
    await rev.close();
  });
});
