// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.ts';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import type { PaymentRecord } from '../../shared/wallet-messages.ts';
import { T0, testWalletState } from '../testing/fixtures.ts';
import { nextOfflineCode } from './offline-codes.ts';
import { SESSION_GAP_MS_MAX, offlineSessions, sessionPayment, settleOfflineSessions } from './offline-sessions.ts';
import { PENDING_CODE_AGE_MS_MAX, type WalletState } from './wallet-state.ts';

/** Shows `n` offline QR codes `everyMs` apart, as the offline screen does (one sitting, refreshed). */
function showCodes(s: WalletState, clock: ManualClock, n: number, everyMs: number): WalletState {
  for (let i = 0; i < n; i++) {
    const r = nextOfflineCode(s, clock, naclEd25519, { sameSitting: i > 0 });
    if (!r.ok) throw new Error(r.reason);
    s = r.state;
    clock.advance(everyMs);
  }
  return s;
}

const paidWith = (credentialId: string, counter: number, status: PaymentRecord['status'] = 'approved'): PaymentRecord => ({
  paymentId: `p${counter}`,
  kind: 'offline-qr',
  status,
  amount: { value: 1200, currency: 'JPY' },
  kioskId: 'kiosk-1',
  at: T0,
  offline: { credentialId, counter },
});

describe('offline sessions', () => {
  it('groups codes shown a few seconds apart into one sitting, and a later sitting into another', () => {
    const clock = new ManualClock(T0);
    let s = showCodes(testWalletState(), clock, 4, 5_000);
    clock.advance(SESSION_GAP_MS_MAX + 1);
    s = showCodes(s, clock, 2, 5_000);
    const sessions = offlineSessions(s.pending);
    expect(sessions.map((x) => x.codes.map((c) => c.counter))).toEqual([
      [1, 2, 3, 4],
      [5, 6],
    ]);
    expect(sessions[0]!.lastShownAtMs - sessions[0]!.firstShownAtMs).toBe(15_000);
  });

  it('settles the whole sitting when history shows any one of its codes, and keeps the other sittings', () => {
    const clock = new ManualClock(T0);
    let s = showCodes(testWalletState(), clock, 3, 5_000);
    clock.advance(SESSION_GAP_MS_MAX + 1);
    s = showCodes(s, clock, 2, 5_000);
    const id = s.credential!.credentialId;
    const payments = [paidWith(id, 2, 'declined')];
    expect(sessionPayment(offlineSessions(s.pending)[0]!, payments)?.paymentId).toBe('p2');
    const settled = settleOfflineSessions(s, payments, clock.nowMs());
    expect(settled.pending.map((c) => c.counter)).toEqual([4, 5]);
    expect(settleOfflineSessions(settled, payments, clock.nowMs())).toBe(settled);
  });

  it('ignores payments of another credential or form, and drops sittings past the age limit', () => {
    const clock = new ManualClock(T0);
    const s = showCodes(testWalletState(), clock, 2, 5_000);
    const other = [paidWith('0000000000000000', 1), { ...paidWith(s.credential!.credentialId, 1), kind: 'offline-numeric' as const }];
    expect(settleOfflineSessions(s, other, clock.nowMs())).toBe(s);
    expect(settleOfflineSessions(s, [], T0 + PENDING_CODE_AGE_MS_MAX + 10_000).pending).toEqual([]);
  });
});
