// SPDX-License-Identifier: Apache-2.0
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeWorld, T0, type World } from '../testing/world.ts';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import { signCredential } from '../../shared/codes/credential.ts';
import { makeOfflineCode } from '../../shared/codes/offline-code.ts';
import { kioskReply, SETTLE_ITEMS_MAX } from '../../shared/kiosk-messages.ts';
import { merchantAccountId, shopperAccountId, issuanceAccountId } from './ids.ts';
import { tamperCode } from '../../shared/codes/test-fixtures.ts';
import { CommitUnknownError } from '../ports/store.ts';

let w: World;
beforeEach(async () => {
  w = await makeWorld();
});
afterEach(async () => {
  await w.close();
});

const shop = merchantAccountId('shop');

async function expectConserved() {
  const totals = await w.totals();
  for (const [, total] of totals) expect(total).toBe(0);
}

describe('online codes', () => {
  it('approves a fresh code, moves the money and consumes the code', async () => {
    const p = await w.phone(10_000);
    const code = await w.onlineCode(p);
    const r = await w.pay('k1', code, 1_200);
    expect(r).toMatchObject({ status: 'approved', kind: 'online', amount: { value: 1_200, currency: 'JPY' } });
    expect(await w.balance(shopperAccountId(p.walletId))).toBe(8_800);
    expect(await w.balance(shop)).toBe(1_200);
    expect(await w.balance(issuanceAccountId('JPY'))).toBe(-10_000);
    await expectConserved();
    expect((await w.pay('k1', code, 100)).reason).toBe('CODE_USED');
  });

  it('declines an unknown code', async () => {
    expect((await w.pay('k1', '31000000000000000000'.slice(0, 19) + '0', 100)).reason).toMatch(/CODE_UNKNOWN|CODE_MALFORMED/);
    const p = await w.phone();
    const code = await w.onlineCode(p);
    const other = code.slice(0, 2) + (code[2] === '9' ? '8' : '9') + code.slice(3);
    const r = await w.pay('k1', other, 100);
    expect(['CODE_UNKNOWN', 'CODE_MALFORMED']).toContain(r.reason);
  });

  it('declines an expired code', async () => {
    const p = await w.phone();
    const code = await w.onlineCode(p);
    w.clock.advance(w.config.onlineCodeTtlMs + 1);
    expect((await w.pay('k1', code, 100)).reason).toBe('CODE_EXPIRED');
  });

  it('declines when funds are short and leaves the code usable', async () => {
    const p = await w.phone(500);
    const code = await w.onlineCode(p);
    expect((await w.pay('k1', code, 501)).reason).toBe('INSUFFICIENT_FUNDS');
    expect((await w.pay('k1', code, 500)).status).toBe('approved');
  });

  it('declines a currency other than the account currency', async () => {
    const p = await w.phone(500);
    const code = await w.onlineCode(p);
    expect((await w.pay('k1', code, 100, 'tx-usd', 'USD')).reason).toBe('CURRENCY_MISMATCH');
  });

  it('takes the code typed as the wallet shows it, in groups with spaces or hyphens: the same code', async () => {
    const p = await w.phone(10_000);
    const code = await w.onlineCode(p);
    const grouped = code.replace(/(\d{4})(?=\d)/g, '$1 ');
    expect(await w.pay('k1', grouped, 1_200)).toMatchObject({ status: 'approved', kind: 'online' });
    // Used is used, however it is written.
    expect((await w.pay('k1', code.replace(/(\d{4})(?=\d)/g, '$1-'), 100, 'tx-hyphens')).reason).toBe('CODE_USED');
    expect((await w.pay('k1', code, 100, 'tx-plain')).reason).toBe('CODE_USED');
  });

  it('declines text that is no code at all', async () => {
    expect((await w.pay('k1', 'hello', 100)).reason).toBe('CODE_MALFORMED');
  });

  it('caps the number of unused one-time codes per wallet', async () => {
    const p = await w.phone();
    for (let i = 0; i < w.config.onlineCodesPerWalletMax; i++) await w.onlineCode(p);
    await expect(w.onlineCode(p)).rejects.toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterMs: w.config.onlineCodeTtlMs } });
  });
});

describe('idempotency by kiosk transaction id', () => {
  it('a repeated request gets the first answer and charges once', async () => {
    const p = await w.phone(10_000);
    const code = await w.onlineCode(p);
    const a = await w.pay('k1', code, 1_000, 'tx-same');
    const b = await w.pay('k1', code, 1_000, 'tx-same');
    expect(b).toMatchObject({ status: 'approved', paymentId: a.paymentId });
    expect(await w.balance(shopperAccountId(p.walletId))).toBe(9_000);
  });

  it('the same txId with another amount is a conflict and changes nothing', async () => {
    const p = await w.phone(10_000);
    const code = await w.onlineCode(p);
    await w.pay('k1', code, 1_000, 'tx-same');
    expect((await w.pay('k1', code, 2_000, 'tx-same')).reason).toBe('TX_CONFLICT');
    expect(await w.balance(shopperAccountId(p.walletId))).toBe(9_000);
  });

  it('txIds are per kiosk', async () => {
    const p = await w.phone(10_000);
    await w.pay('k1', await w.onlineCode(p), 1_000, 'tx-1');
    expect((await w.pay('k2', await w.onlineCode(p), 1_000, 'tx-1')).status).toBe('approved');
  });

  it('status reports unknown, then the decision', async () => {
    const r = await w.send('k1', { v: 1, type: 'status', id: 's1', txId: 'nope' });
    expect(r).toMatchObject({ type: 'pay.result', status: 'unknown', txId: 'nope' });
    const p = await w.phone(10_000);
    await w.pay('k1', await w.onlineCode(p), 700, 'tx-s');
    expect(await w.send('k1', { v: 1, type: 'status', id: 's2', txId: 'tx-s' })).toMatchObject({ status: 'approved', re: 's2' });
  });

  it('void refunds an approved payment once, and a voided txId is never approved later', async () => {
    const p = await w.phone(10_000);
    await w.pay('k1', await w.onlineCode(p), 700, 'tx-v');
    expect(await w.send('k1', { v: 1, type: 'void', id: 'v1', txId: 'tx-v' })).toMatchObject({ status: 'voided' });
    expect(await w.send('k1', { v: 1, type: 'void', id: 'v2', txId: 'tx-v' })).toMatchObject({ status: 'voided' });
    expect(await w.balance(shopperAccountId(p.walletId))).toBe(10_000);
    await expectConserved();
    // A void that overtook its payment request: the late request must not charge.
    expect(await w.send('k1', { v: 1, type: 'void', id: 'v3', txId: 'tx-late' })).toMatchObject({ status: 'voided' });
    const late = await w.pay('k1', await w.onlineCode(p), 700, 'tx-late');
    expect(late).toMatchObject({ status: 'declined' });
    expect(await w.balance(shopperAccountId(p.walletId))).toBe(10_000);
  });
});

describe('offline QR codes with the kiosk online (claims 8, 9)', () => {
  it('approves a valid code and records its counter', async () => {
    const p = await w.phone(20_000);
    await w.credential(p);
    const r = await w.pay('k1', w.offlineCode(p), 3_000);
    expect(r).toMatchObject({ status: 'approved', kind: 'offline-qr' });
    expect(await w.balance(shopperAccountId(p.walletId))).toBe(17_000);
  });

  it('declines a replayed code (same counter), at the same or another kiosk', async () => {
    const p = await w.phone(20_000);
    await w.credential(p);
    const code = w.offlineCode(p);
    await w.pay('k1', code, 1_000);
    expect((await w.pay('k1', code, 1_000)).reason).toBe('COUNTER_REUSED');
    expect((await w.pay('k2', code, 1_000)).reason).toBe('COUNTER_REUSED');
  });

  it('declines a timestamp outside the window of server time', async () => {
    const p = await w.phone(20_000);
    await w.credential(p);
    w.clock.advance(2 * w.config.offlineWindowMs);
    const stale = w.offlineCode(p, { timestampMs: w.clock.nowMs() - w.config.offlineWindowMs - 1 });
    expect((await w.pay('k1', stale, 100)).reason).toBe('TIME_OUT_OF_WINDOW');
    const future = w.offlineCode(p, { timestampMs: w.clock.nowMs() + w.config.offlineWindowMs + 1 });
    expect((await w.pay('k1', future, 100)).reason).toBe('TIME_OUT_OF_WINDOW');
  });

  it('declines after the credential expired', async () => {
    const p = await w.phone(20_000);
    await w.credential(p);
    w.clock.advance(w.config.credentialTtlMs + 1_000);
    expect((await w.pay('k1', w.offlineCode(p), 100)).reason).toBe('CREDENTIAL_EXPIRED');
  });

  it('declines over the per-payment limit', async () => {
    const p = await w.phone(20_000);
    await w.credential(p);
    expect((await w.pay('k1', w.offlineCode(p), 5_001)).reason).toBe('OFFLINE_LIMIT_PER_PAYMENT');
  });

  it('declines past the daily count and amount limits, then the monthly ones', async () => {
    const p = await w.phone(100_000);
    await w.credential(p);
    expect((await w.pay('k1', w.offlineCode(p), 1_000)).status).toBe('approved');
    expect((await w.pay('k1', w.offlineCode(p), 1_000)).status).toBe('approved');
    expect((await w.pay('k1', w.offlineCode(p), 1_000)).reason).toBe('OFFLINE_LIMIT_DAILY');
    w.clock.advance(86_400_001);
    expect((await w.pay('k1', w.offlineCode(p), 5_000)).status).toBe('approved');
    expect((await w.pay('k1', w.offlineCode(p), 5_000)).status).toBe('approved');
    w.clock.advance(86_400_001);
    const q = await w.phone(100_000);
    await w.credential(q);
    expect((await w.pay('k1', w.offlineCode(q), 5_000)).status).toBe('approved');
    expect((await w.pay('k1', w.offlineCode(q), 5_001 - 1)).status).toBe('approved');
    expect((await w.pay('k1', w.offlineCode(q), 1)).reason).toBe('OFFLINE_LIMIT_DAILY');
  });

  it('declines past the monthly count limit', async () => {
    const p = await w.phone(1_000_000);
    await w.credential(p);
    for (let i = 0; i < 10; i++) {
      expect((await w.pay('k1', w.offlineCode(p), 100)).status).toBe('approved');
      if (i % 2 === 1) w.clock.advance(86_400_001);
    }
    expect((await w.pay('k1', w.offlineCode(p), 100)).reason).toBe('OFFLINE_LIMIT_MONTHLY');
  });

  it('declines when the balance does not cover the amount', async () => {
    const p = await w.phone(5_000);
    await w.credential(p);
    await w.pay('k1', await w.onlineCode(p), 4_500);
    expect((await w.pay('k1', w.offlineCode(p), 1_000)).reason).toBe('INSUFFICIENT_FUNDS');
  });

  it('caps credential amount limits at the balance when issued', async () => {
    const p = await w.phone(3_000);
    const c = await w.credential(p);
    expect(c.limits.perPayment).toBe(3_000);
    expect(c.limits.daily.amount).toBe(3_000);
  });

  it('declines a revoked credential', async () => {
    const p = await w.phone(20_000);
    await w.credential(p);
    const code = w.offlineCode(p);
    await w.ctx.store.unit((tx) => tx.revokeCredential(p.credential!.credentialId, w.clock.nowMs(), 'test'));
    expect((await w.pay('k1', code, 100)).reason).toBe('CREDENTIAL_REVOKED');
  });

  it('declines a credential signed by our key that this server never stored (claim 9)', async () => {
    const phone = naclEd25519.keyPairFromSeed(new Uint8Array(32).fill(7));
    const bytes = signCredential(
      {
        keyId: w.ctx.issuer.keyId,
        credentialId: '00112233445566ff',
        publicKey: phone.publicKey,
        accountAlias: '0000000000aa',
        notBeforeMs: Math.floor(T0 / 1000) * 1000,
        notAfterMs: Math.floor(T0 / 1000) * 1000 + 86_400_000,
        limits: { currency: 'JPY', perPayment: 5_000, daily: { amount: 10_000, count: 2 }, monthly: { amount: 50_000, count: 10 } },
      },
      w.ctx.issuer.secretKey,
      naclEd25519,
    );
    const code = makeOfflineCode({ credential: bytes, timestampMs: T0, counter: 1, phoneSecretKey: phone.secretKey }, naclEd25519);
    expect((await w.pay('k1', code, 100)).reason).toBe('CREDENTIAL_INVALID');
  });

  it('declines a credential from another issuer', async () => {
    const other = await makeWorld({}, 99);
    const f = await other.phone(20_000);
    await other.credential(f);
    expect((await w.pay('k1', other.offlineCode(f), 100)).reason).toBe('CREDENTIAL_INVALID');
    await other.close();
  });

  it('declines a tampered code', async () => {
    const p = await w.phone(20_000);
    await w.credential(p);
    const code = w.offlineCode(p);
    const tampered = tamperCode(code, 10);
    expect((await w.pay('k1', tampered, 100)).reason).toBe('SIGNATURE_INVALID');
  });
});

describe('numeric offline codes', () => {
  it('approves once per time step and declines the replay', async () => {
    const p = await w.phone(20_000);
    await w.credential(p);
    const code = w.numericCode(p);
    expect(await w.pay('k1', code, 1_000)).toMatchObject({ status: 'approved', kind: 'offline-numeric' });
    expect((await w.pay('k2', code, 1_000)).reason).toBe('COUNTER_REUSED');
  });

  it('takes a numeric offline code typed in groups, and its replay in another form is still a replay', async () => {
    const p = await w.phone(20_000);
    await w.credential(p);
    const code = w.numericCode(p);
    expect(await w.pay('k1', code.replace(/(\d{4})(?=\d)/g, '$1 '), 1_000)).toMatchObject({ status: 'approved', kind: 'offline-numeric' });
    expect((await w.pay('k2', code, 1_000)).reason).toBe('COUNTER_REUSED');
  });

  it('declines a wrong MAC and a stale step', async () => {
    const p = await w.phone(20_000);
    await w.credential(p);
    const stale = w.numericCode(p, w.clock.nowMs() - 2 * w.config.offlineWindowMs);
    expect(['TIME_OUT_OF_WINDOW', 'SIGNATURE_INVALID']).toContain((await w.pay('k1', stale, 100)).reason);
    const q = await w.phone(20_000);
    await w.credential(q);
    // q's handle with p's secret: the MAC does not match.
    const pc = w.numericCode(p);
    const mixed = pc.slice(0, 2) + q.credential!.numeric.handle + pc.slice(10);
    const r = await w.pay('k1', mixed, 100);
    expect(['SIGNATURE_INVALID', 'CODE_MALFORMED']).toContain(r.reason);
  });

  it('declines an unknown handle', async () => {
    const p = await w.phone(20_000);
    await w.credential(p);
    await w.ctx.store.unit(async (tx) => {
      await tx.revokeCredential(p.credential!.credentialId, 0, 'x');
    });
    expect((await w.pay('k1', w.numericCode(p), 100)).reason).toBe('CREDENTIAL_REVOKED');
  });
});

describe('bad input from kiosks', () => {
  it('answers typed errors, never throws', async () => {
    expect(await w.send('k1', 'not json')).toMatchObject({ type: 'error', code: 'MALFORMED_MESSAGE', re: null });
    expect(await w.send('k1', { v: 1, type: 'nope', id: 'x' })).toMatchObject({ type: 'error', code: 'UNKNOWN_MESSAGE_TYPE', re: 'x' });
    expect(await w.send('k1', { v: 1, type: 'pay', id: 'x', txId: 't', code: 'c', amount: { value: 1.5, currency: 'JPY' } })).toMatchObject(
      { code: 'MALFORMED_MESSAGE', re: 'x' },
    );
    expect(await w.send('k1', { v: 1, type: 'pay', id: 'x', txId: 't', code: 'c', amount: { value: -1, currency: 'JPY' } })).toMatchObject({
      code: 'MALFORMED_MESSAGE',
    });
    expect(await w.send('k1', { v: 1, type: 'pay', id: 'x', txId: 't', code: 'c', amount: { value: 1, currency: 'XXX' } })).toMatchObject({
      code: 'MALFORMED_MESSAGE',
    });
    expect(await w.send('k1', { v: 2, type: 'time', id: 'x', t0: 1 })).toMatchObject({ code: 'MALFORMED_MESSAGE' });
    expect(await w.send('k1', 'x'.repeat(300_000))).toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    expect(await w.send('nobody', { v: 1, type: 'time', id: 'x', t0: 1 })).toMatchObject({ type: 'time.result' });
    expect(await w.send('nobody', { v: 1, type: 'status', id: 'x', txId: 'a' })).toMatchObject({ type: 'error', code: 'UNKNOWN_KIOSK' });
  });

  it('answers time requests with its receive and send times', async () => {
    expect(await w.send('k1', { v: 1, type: 'time', id: 't', t0: 5 })).toMatchObject({
      type: 'time.result',
      re: 't',
      t0: 5,
      t1: w.clock.nowMs(),
      t2: w.clock.nowMs(),
    });
  });
});

describe('a full store queue', () => {
  it('refuses pay requests past the bound with RATE_LIMITED and a retryAfterMs; a refused pay charged nothing and goes through when sent again', async () => {
    const small = await makeWorld({ storeQueuedUnitsMax: SETTLE_ITEMS_MAX });
    try {
      // Set up one at a time (the bound applies to the setup as well).
      const phones = [];
      const codes: string[] = [];
      for (let i = 0; i < SETTLE_ITEMS_MAX + 10; i++) {
        phones.push(await small.phone(5_000));
        codes.push(await small.onlineCode(phones[i]!));
      }
      const pay = (i: number) => ({
        v: 1,
        type: 'pay',
        id: `p-${i}`,
        txId: `tx-q${i}`,
        code: codes[i]!,
        amount: { value: 100, currency: 'JPY' },
      });
      // More at once than the queue holds (its smallest bound: one full settle batch).
      const replies = await Promise.all(phones.map((_, i) => small.send('k1', pay(i))));
      const refused = replies.flatMap((r, i) => (r.type === 'error' ? [i] : []));
      expect(refused.length).toBeGreaterThan(0);
      for (const i of refused) {
        expect(replies[i]).toMatchObject({ type: 'error', code: 'RATE_LIMITED', retryAfterMs: 200 });
        expect(kioskReply.safeParse(replies[i]).success).toBe(true);
        expect(await small.balance(shopperAccountId(phones[i]!.walletId))).toBe(5_000);
      }
      for (const [i, r] of replies.entries()) if (!refused.includes(i)) expect(r).toMatchObject({ type: 'pay.result', status: 'approved' });
      // The same requests again, one at a time: each is now handled, and charged once.
      for (const i of refused) expect(await small.send('k1', pay(i))).toMatchObject({ type: 'pay.result', status: 'approved' });
      for (const p of phones) expect(await small.balance(shopperAccountId(p.walletId))).toBe(4_900);
      expect(await small.balance(shop)).toBe(100 * phones.length);
    } finally {
      await small.close();
    }
  });
});

describe('a store that cannot tell whether the payment committed', () => {
  it('answers the pay `unknown` (the kiosk voids it), not an error that says nothing was charged; other requests get the error', async () => {
    const p = await w.phone(10_000);
    const code = await w.onlineCode(p);
    const store = w.ctx.store as { unit: (fn: never) => Promise<unknown> };
    store.unit = () => Promise.reject(new CommitUnknownError({ cause: new Error('Connection terminated unexpectedly') }));
    expect(await w.pay('k1', code, 100, 'tx-lost')).toEqual({
      v: 1,
      type: 'pay.result',
      re: expect.any(String),
      txId: 'tx-lost',
      status: 'unknown',
    });
    expect(await w.send('k1', { v: 1, type: 'status', id: 's-1', txId: 'tx-lost' })).toMatchObject({ type: 'error', code: 'INTERNAL' });
  });
});
