// SPDX-License-Identifier: Apache-2.0
// Matrix rows against settlement: a kiosk forwards the offline payments it stored while its uplink
// was down, and the server decides each one (server/domain/settlement.ts).
import { SETTLE_ITEMS_MAX } from '../../shared/kiosk-messages.ts';
import type { AttackRow } from './matrix.ts';
import { jpy, ofReply, ofSettle } from './reply-outcome.ts';
import { tamper, type ServerEnv } from './server-env.ts';

const item = (txId: string, code: string, value: number, capturedAt: number) => ({ txId, code, amount: jpy(value), capturedAt });

export const serverSettlementRows: AttackRow<ServerEnv>[] = [
  {
    name: 'settlement: stored payment with a forged phone signature',
    outcome: 'SIGNATURE_INVALID',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const forged = tamper(e.w.offlineCode(p), 5);
      return async () => ofSettle(await e.w.settle('k1', [item('o-1', forged, 1_000, e.w.clock.nowMs())]));
    },
  },
  {
    name: 'settlement: stored payment on a credential revoked long before capture',
    outcome: 'CREDENTIAL_REVOKED',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      await e.w.ctx.store.unit((tx) => tx.revokeCredential(p.credential!.credentialId, e.w.clock.nowMs(), 'lost phone'));
      e.w.clock.advance(e.w.config.revocationMaxAgeMs + 120_000);
      const at = e.w.clock.nowMs() - 60_000;
      const code = e.w.offlineCode(p, { timestampMs: at });
      return async () => ofSettle(await e.w.settle('k1', [item('o-1', code, 100, at)]));
    },
  },
  {
    name: 'settlement: stored payment captured in the future',
    outcome: 'TIME_OUT_OF_WINDOW',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const future = e.w.clock.nowMs() + e.w.config.offlineWindowMs + 60_000;
      const code = e.w.offlineCode(p, { timestampMs: future });
      return async () => ofSettle(await e.w.settle('k1', [item('o-1', code, 1_000, future)]));
    },
  },
  {
    name: 'settlement: stored code stamped outside the window of its capture time',
    outcome: 'TIME_OUT_OF_WINDOW',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const stamped = e.w.clock.nowMs();
      const code = e.w.offlineCode(p, { timestampMs: stamped });
      e.w.clock.advance(3_600_000);
      return async () => ofSettle(await e.w.settle('k1', [item('o-1', code, 1_000, stamped + e.w.config.offlineWindowMs + 1)]));
    },
  },
  {
    name: 'settlement: stored payment over the per-payment limit',
    outcome: 'OFFLINE_LIMIT_PER_PAYMENT',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const perPayment = p.credential!.limits.perPayment;
      return async () => ofSettle(await e.w.settle('k1', [item('o-1', e.w.offlineCode(p), perPayment + 1, e.w.clock.nowMs())]));
    },
  },
  {
    name: 'settlement: one-time online code stored as if offline',
    outcome: 'OFFLINE_FORM_REQUIRED',
    async arrange(e) {
      const code = await e.w.onlineCode(await e.phone());
      return async () => ofSettle(await e.w.settle('k1', [item('o-1', code, 1_000, e.w.clock.nowMs())]));
    },
  },
  {
    name: 'settlement: copy of an offline code at a third kiosk',
    outcome: 'COUNTER_REUSED',
    async arrange(e) {
      // Two kiosks, both offline, took the same code: the earlier capture settles, the later one is
      // a copy its merchant bears, and the credential is revoked. A third copy moves nothing either.
      const p = await e.phoneWithCredential();
      const at = e.w.clock.nowMs();
      const code = e.w.offlineCode(p);
      await e.w.settle('k1', [item('a-1', code, 1_000, at)]);
      await e.w.settle('k2', [item('b-1', code, 1_000, at + 1_000)]);
      return async () => ofSettle(await e.w.settle('k3', [item('c-1', code, 1_000, at + 2_000)]));
    },
  },
  {
    name: 'settlement: batch over the item limit',
    outcome: 'MALFORMED_MESSAGE',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const at = e.w.clock.nowMs();
      const code = e.w.offlineCode(p);
      const items = Array.from({ length: SETTLE_ITEMS_MAX + 1 }, (_, i) => item(`o-${i}`, code, 100, at));
      return async () => ofReply(await e.w.send('k1', { v: 1, type: 'settle', id: 's-big', items }));
    },
  },
  {
    name: 'settlement: stored payment resent under its txId with a tampered amount',
    outcome: 'TX_CONFLICT',
    async arrange(e) {
      const p = await e.phoneWithCredential();
      const at = e.w.clock.nowMs();
      const code = e.w.offlineCode(p);
      await e.w.settle('k1', [item('o-1', code, 1_000, at)]);
      return async () => ofSettle(await e.w.settle('k1', [item('o-1', code, 4_000, at)]));
    },
  },
];
