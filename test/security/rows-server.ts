// SPDX-License-Identifier: Apache-2.0
// Matrix rows against the server's domain while a kiosk asks at the till. Requests go through the
// real kiosk dispatcher as raw payloads (server/testing/world.ts).
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import { signCredential } from '../../shared/codes/credential.ts';
import { luhnCheckDigit } from '../../shared/codes/luhn.ts';
import { makeOfflineCode } from '../../shared/codes/offline-code.ts';
import { CODE_TEXT_MAX } from '../../shared/schemas.ts';
import { KIOSK_MESSAGE_BYTES_MAX } from '../../shared/kiosk-messages.ts';
import { makeWorld, T0 } from '../../server/testing/world.ts';
import type { AttackRow } from './matrix.ts';
import { DAY_MS, jpy, ofPay, ofReply } from './reply-outcome.ts';
import { tamper, type ServerEnv } from './server-env.ts';

/** A pay request with everything right but the part a row changes. */
const payMessage = (fields: Record<string, unknown>) => ({
  v: 1,
  type: 'pay',
  id: 'c-attack',
  txId: 't-attack',
  code: 'x',
  amount: jpy(100),
  ...fields,
});

export const serverOnlineRows: AttackRow<ServerEnv>[] = [
  {
    name: 'online: forged phone signature on an offline QR code',
    outcome: 'SIGNATURE_INVALID',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const forged = tamper(e.w.offlineCode(p));
      return async () => ofPay(await e.w.pay('k1', forged, 1_000));
    },
  },
  {
    name: 'online: offline credential signed by another issuer key',
    outcome: 'CREDENTIAL_INVALID',
    async arrange(e) {
      const other = await makeWorld({}, 99);
      try {
        const stranger = await other.phone(20_000);
        await other.credential(stranger);
        const code = other.offlineCode(stranger);
        return async () => ofPay(await e.w.pay('k1', code, 1_000));
      } finally {
        await other.close();
      }
    },
  },
  {
    name: 'online: credential signed with our issuer key that this server never issued',
    outcome: 'CREDENTIAL_INVALID',
    async arrange(e) {
      const phone = naclEd25519.keyPairFromSeed(new Uint8Array(32).fill(7));
      const notBeforeMs = Math.floor(T0 / 1000) * 1000;
      const bytes = signCredential(
        {
          keyId: e.w.ctx.issuer.keyId,
          credentialId: '00112233445566ff',
          publicKey: phone.publicKey,
          accountAlias: '0000000000aa',
          notBeforeMs,
          notAfterMs: notBeforeMs + DAY_MS,
          limits: { currency: 'JPY', perPayment: 5_000, daily: { amount: 10_000, count: 2 }, monthly: { amount: 50_000, count: 10 } },
        },
        e.w.ctx.issuer.secretKey,
        naclEd25519,
      );
      const code = makeOfflineCode({ credential: bytes, timestampMs: T0, counter: 1, phoneSecretKey: phone.secretKey }, naclEd25519);
      return async () => ofPay(await e.w.pay('k1', code, 1_000));
    },
  },
  {
    name: 'online: numeric offline code with a forged MAC',
    outcome: 'SIGNATURE_INVALID',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const real = e.w.numericCode(p);
      // Change one MAC digit and recompute the check digit, so the code still reads as well-formed.
      const body = real.slice(0, 18) + ((Number(real[18]) + 1) % 10).toString();
      const forged = body + luhnCheckDigit(body);
      return async () => ofPay(await e.w.pay('k1', forged, 1_000));
    },
  },
  {
    name: 'online: expired offline credential',
    outcome: 'CREDENTIAL_EXPIRED',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      e.w.clock.advance(e.w.config.credentialTtlMs + 1_000);
      return async () => ofPay(await e.w.pay('k1', e.w.offlineCode(p), 1_000));
    },
  },
  {
    name: 'online: revoked offline credential',
    outcome: 'CREDENTIAL_REVOKED',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const code = e.w.offlineCode(p);
      await e.w.ctx.store.unit((tx) => tx.revokeCredential(p.credential!.credentialId, e.w.clock.nowMs(), 'lost phone'));
      return async () => ofPay(await e.w.pay('k1', code, 1_000));
    },
  },
  {
    name: 'online: offline QR code replayed at the same kiosk',
    outcome: 'COUNTER_REUSED',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const code = e.w.offlineCode(p);
      await e.w.pay('k1', code, 1_000);
      return async () => ofPay(await e.w.pay('k1', code, 1_000));
    },
  },
  {
    name: 'online: offline QR code replayed at another kiosk',
    outcome: 'COUNTER_REUSED',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const code = e.w.offlineCode(p);
      await e.w.pay('k1', code, 1_000);
      return async () => ofPay(await e.w.pay('k2', code, 1_000));
    },
  },
  {
    name: 'online: numeric offline code replayed at another kiosk',
    outcome: 'COUNTER_REUSED',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const code = e.w.numericCode(p);
      await e.w.pay('k1', code, 1_000);
      return async () => ofPay(await e.w.pay('k2', code, 1_000));
    },
  },
  {
    name: 'online: one-time code replayed at another kiosk',
    outcome: 'CODE_USED',
    async arrange(e) {
      const p = await e.phone();
      const code = await e.w.onlineCode(p);
      await e.w.pay('k1', code, 1_000);
      return async () => ofPay(await e.w.pay('k2', code, 1_000));
    },
  },
  {
    name: 'online: one-time code used after it expired',
    outcome: 'CODE_EXPIRED',
    async arrange(e) {
      const code = await e.w.onlineCode(await e.phone());
      e.w.clock.advance(e.w.config.onlineCodeTtlMs + 1);
      return async () => ofPay(await e.w.pay('k1', code, 1_000));
    },
  },
  {
    name: 'online: offline code stamped before the time window',
    outcome: 'TIME_OUT_OF_WINDOW',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      e.w.clock.advance(2 * e.w.config.offlineWindowMs);
      const stale = e.w.offlineCode(p, { timestampMs: e.w.clock.nowMs() - e.w.config.offlineWindowMs - 1 });
      return async () => ofPay(await e.w.pay('k1', stale, 1_000));
    },
  },
  {
    name: 'online: offline code stamped after the time window',
    outcome: 'TIME_OUT_OF_WINDOW',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const future = e.w.offlineCode(p, { timestampMs: e.w.clock.nowMs() + e.w.config.offlineWindowMs + 1 });
      return async () => ofPay(await e.w.pay('k1', future, 1_000));
    },
  },
  {
    name: 'online: offline payment over the per-payment limit',
    outcome: 'OFFLINE_LIMIT_PER_PAYMENT',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const perPayment = p.credential!.limits.perPayment;
      return async () => ofPay(await e.w.pay('k1', e.w.offlineCode(p), perPayment + 1));
    },
  },
  {
    name: 'online: offline payment past the daily count limit',
    outcome: 'OFFLINE_LIMIT_DAILY',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      for (let i = 0; i < p.credential!.limits.daily.count; i++) await e.w.pay('k1', e.w.offlineCode(p), 100);
      return async () => ofPay(await e.w.pay('k1', e.w.offlineCode(p), 100));
    },
  },
  {
    name: 'online: offline payment past the daily amount limit',
    outcome: 'OFFLINE_LIMIT_DAILY',
    async arrange(e) {
      const p = await e.phoneWithCredential(3_000); // amount limits are capped at the balance: 3,000 a day
      await e.w.pay('k1', e.w.offlineCode(p), 2_000);
      return async () => ofPay(await e.w.pay('k1', e.w.offlineCode(p), 1_500));
    },
  },
  {
    name: 'online: offline payment past the monthly count limit',
    outcome: 'OFFLINE_LIMIT_MONTHLY',
    async arrange(e) {
      const p = await e.phoneWithCredential(1_000_000);
      const { daily, monthly } = p.credential!.limits;
      for (let i = 0; i < monthly.count; i++) {
        await e.w.pay('k1', e.w.offlineCode(p), 100);
        if ((i + 1) % daily.count === 0) e.w.clock.advance(DAY_MS + 1);
      }
      return async () => ofPay(await e.w.pay('k1', e.w.offlineCode(p), 100));
    },
  },
  {
    name: 'online: payment over the wallet balance',
    outcome: 'INSUFFICIENT_FUNDS',
    async arrange(e) {
      const code = await e.w.onlineCode(await e.phone(500));
      return async () => ofPay(await e.w.pay('k1', code, 501));
    },
  },
  {
    name: 'online: payment retried under its txId with a tampered amount',
    outcome: 'TX_CONFLICT',
    async arrange(e) {
      const code = await e.w.onlineCode(await e.phone(10_000));
      await e.w.pay('k1', code, 1_000, 'tx-same');
      return async () => ofPay(await e.w.pay('k1', code, 9_000, 'tx-same'));
    },
  },
  {
    name: 'online: payment in a currency other than the account currency',
    outcome: 'CURRENCY_MISMATCH',
    async arrange(e) {
      const code = await e.w.onlineCode(await e.phone(10_000));
      return async () => ofPay(await e.w.pay('k1', code, 100, 'tx-usd', 'USD'));
    },
  },
  {
    name: 'online: pay request with a fractional amount',
    outcome: 'MALFORMED_MESSAGE',
    async arrange(e) {
      const code = await e.w.onlineCode(await e.phone(10_000));
      return async () => ofReply(await e.w.send('k1', payMessage({ code, amount: jpy(1.5) })));
    },
  },
  {
    name: 'online: pay request with a negative amount',
    outcome: 'MALFORMED_MESSAGE',
    async arrange(e) {
      const code = await e.w.onlineCode(await e.phone(10_000));
      return async () => ofReply(await e.w.send('k1', payMessage({ code, amount: jpy(-1_000) })));
    },
  },
  {
    name: 'online: text that is no kioskpay code',
    outcome: 'CODE_MALFORMED',
    async arrange(e) {
      await e.phone();
      return async () => ofPay(await e.w.pay('k1', 'KP1:not-a-code', 100));
    },
  },
  {
    name: 'online: code text over the 512-character limit',
    outcome: 'MALFORMED_MESSAGE',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const long = e.w.offlineCode(p) + 'A'.repeat(CODE_TEXT_MAX);
      return async () => ofReply(await e.w.send('k1', payMessage({ code: long })));
    },
  },
  {
    name: 'online: kiosk payload that is not JSON',
    outcome: 'MALFORMED_MESSAGE',
    async arrange(e) {
      await e.phone();
      return async () => ofReply(await e.w.send('k1', '{"v":1,"type":"pay",'));
    },
  },
  {
    name: 'online: kiosk payload of an unknown message type',
    outcome: 'UNKNOWN_MESSAGE_TYPE',
    async arrange(e) {
      const code = await e.w.onlineCode(await e.phone());
      return async () => ofReply(await e.w.send('k1', payMessage({ type: 'refund', code })));
    },
  },
  {
    name: 'online: kiosk payload over the size limit',
    outcome: 'MESSAGE_TOO_LARGE',
    async arrange(e) {
      const code = await e.w.onlineCode(await e.phone());
      return async () => ofReply(await e.w.send('k1', payMessage({ code, pad: 'x'.repeat(KIOSK_MESSAGE_BYTES_MAX) })));
    },
  },
  {
    name: 'online: pay request from an unregistered kiosk',
    outcome: 'UNKNOWN_KIOSK',
    async arrange(e) {
      const code = await e.w.onlineCode(await e.phone());
      return async () => ofReply(await e.w.send('k9', payMessage({ code, amount: jpy(1_000) })));
    },
  },
  {
    name: 'online: late copy of a payment its kiosk already voided',
    outcome: 'TX_VOIDED',
    async arrange(e) {
      const p = await e.phone();
      await e.w.send('k1', { v: 1, type: 'void', id: 'v-1', txId: 'tx-late' });
      const code = await e.w.onlineCode(p);
      return async () => ofPay(await e.w.pay('k1', code, 1_000, 'tx-late'));
    },
  },
];
