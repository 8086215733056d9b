// SPDX-License-Identifier: Apache-2.0
// Matrix rows against the kiosk's offline pre-check, through the real offline desk: the kiosk's
// uplink is down and it must decide alone. A declined code never reaches the outbox, so it can
// never be claimed at settlement.
import { decodeCode, type DecodedCode } from '../../shared/codes/decode.ts';
import { CODE_TEXT_MAX } from '../../shared/schemas.ts';
import { makeWorld } from '../../server/testing/world.ts';
import type { KioskEnv } from './kiosk-env.ts';
import type { AttackRow } from './matrix.ts';
import { tamper } from './server-env.ts';

/** A code as the kiosk decodes a scan. */
function decoded(text: string): DecodedCode {
  const d = decodeCode(text);
  if (!d.ok) throw new Error(`not a code: ${d.detail}`);
  return d.code;
}

export const kioskOfflineRows: AttackRow<KioskEnv>[] = [
  {
    name: 'kiosk offline: forged phone signature on an offline QR code',
    outcome: 'SIGNATURE_INVALID',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const forged = tamper(e.w.offlineCode(p));
      return () => e.scan(forged, 1_000);
    },
  },
  {
    name: 'kiosk offline: offline credential signed by another issuer key',
    outcome: 'CREDENTIAL_INVALID',
    async arrange(e) {
      const other = await makeWorld({}, 99);
      try {
        const stranger = await other.phone(20_000);
        await other.credential(stranger);
        const code = other.offlineCode(stranger);
        return () => e.scan(code, 1_000);
      } finally {
        await other.close();
      }
    },
  },
  {
    name: 'kiosk offline: expired offline credential',
    outcome: 'CREDENTIAL_EXPIRED',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      e.w.clock.advance(e.w.config.credentialTtlMs + 1_000);
      await e.reconnect();
      return () => e.scan(e.w.offlineCode(p), 1_000);
    },
  },
  {
    name: 'kiosk offline: credential on the signed revocation list',
    outcome: 'CREDENTIAL_REVOKED',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      await e.w.ctx.store.unit((tx) => tx.revokeCredential(p.credential!.credentialId, e.w.clock.nowMs(), 'lost phone'));
      await e.reconnect();
      return () => e.scan(e.w.offlineCode(p), 1_000);
    },
  },
  {
    name: 'kiosk offline: code replayed at the same kiosk after it settled',
    outcome: 'COUNTER_REUSED',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const code = e.w.offlineCode(p);
      if ((await e.scan(code, 1_000)) !== 'ACCEPTED') throw new Error('the first use of the code was not accepted');
      await e.reconnect(); // settled and acknowledged: the outbox keeps only the counter
      return () => e.scan(code, 1_000);
    },
  },
  {
    name: 'kiosk offline: code replayed after this kiosk sent it online',
    outcome: 'COUNTER_REUSED',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const code = e.w.offlineCode(p);
      e.desk.noteSentOnline(decoded(code));
      await e.w.pay('k1', code, 1_000);
      return () => e.scan(code, 1_000);
    },
  },
  {
    name: 'kiosk offline: offline code stamped outside the time window',
    outcome: 'TIME_OUT_OF_WINDOW',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      e.w.clock.advance(2 * e.w.config.offlineWindowMs);
      const stale = e.w.offlineCode(p, { timestampMs: e.w.clock.nowMs() - e.w.config.offlineWindowMs - 1 });
      return () => e.scan(stale, 1_000);
    },
  },
  {
    name: 'kiosk offline: kiosk clock never synced since boot',
    outcome: 'KIOSK_OFFLINE_UNAVAILABLE/CLOCK_UNTRUSTED',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      e.clockTrusted = false;
      return () => e.scan(e.w.offlineCode(p), 1_000);
    },
  },
  {
    name: 'kiosk offline: revocation list older than its maximum age',
    outcome: 'KIOSK_OFFLINE_UNAVAILABLE/REVOCATIONS_STALE',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      // Past the fresh age the kiosk sells under reduced caps; past the policy's hard bound, not at all.
      e.w.clock.advance(e.policy.staleRevocations.maxAgeMs + 1);
      return () => e.scan(e.w.offlineCode(p), 1_000);
    },
  },
  {
    name: 'kiosk offline: payment over the per-payment limit',
    outcome: 'OFFLINE_LIMIT_PER_PAYMENT',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      return () => e.scan(e.w.offlineCode(p), p.credential!.limits.perPayment + 1);
    },
  },
  {
    name: "kiosk offline: payment past the kiosk's stored-amount cap",
    outcome: 'KIOSK_OFFLINE_UNAVAILABLE/STORED_AMOUNT_CAP',
    async arrange(e) {
      e.policy = { ...e.policy, caps: { ...e.policy.caps, storedAmountMax: 1_500 } };
      const p = await e.phoneWithCredential();
      if ((await e.scan(e.w.offlineCode(p), 1_000)) !== 'ACCEPTED') throw new Error('the first payment was not accepted');
      return () => e.scan(e.w.offlineCode(p), 1_000);
    },
  },
  {
    name: "kiosk offline: payment past the kiosk's stored-count cap",
    outcome: 'KIOSK_OFFLINE_UNAVAILABLE/STORED_COUNT_CAP',
    async arrange(e) {
      e.policy = { ...e.policy, caps: { ...e.policy.caps, storedCountMax: 1 } };
      const p = await e.phoneWithCredential();
      if ((await e.scan(e.w.offlineCode(p), 100)) !== 'ACCEPTED') throw new Error('the first payment was not accepted');
      return () => e.scan(e.w.offlineCode(p), 100);
    },
  },
  {
    name: 'kiosk offline: tampered amount of zero',
    outcome: 'AMOUNT_INVALID',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      return () => e.scan(e.w.offlineCode(p), 0);
    },
  },
  {
    name: 'kiosk offline: payment in a currency the kiosk does not sell in',
    outcome: 'CURRENCY_MISMATCH',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      return () => e.scan(e.w.offlineCode(p), { value: 1_000, currency: 'USD' });
    },
  },
  {
    name: 'kiosk offline: text that is no kioskpay code',
    outcome: 'CODE_MALFORMED',
    async arrange(e) {
      await e.phoneWithCredential();
      return () => e.scan('KP1:not-a-code', 1_000);
    },
  },
  {
    name: 'kiosk offline: code text over the 512-character limit',
    outcome: 'CODE_MALFORMED',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const long = e.w.offlineCode(p) + 'A'.repeat(CODE_TEXT_MAX);
      return () => e.scan(long, 1_000);
    },
  },
  {
    name: 'kiosk offline: one-time online code shown while offline',
    outcome: 'OFFLINE_FORM_REQUIRED',
    async arrange(e) {
      const code = await e.w.onlineCode(await e.phone());
      return () => e.scan(code, 1_000);
    },
  },
];
