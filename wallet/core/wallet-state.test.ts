// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { timeSample } from '../../shared/time-sync.ts';
import type { PaymentRecord } from '../../shared/wallet-messages.ts';
import { DAY_MS, SERVER_URL, T0, testWalletState } from '../testing/fixtures.ts';
import {
  CLOCK_SYNC_AGE_MS_MAX,
  PENDING_CODES_MAX,
  PENDING_CODE_AGE_MS_MAX,
  clockSyncDue,
  correctedNowMs,
  credentialRenewalDue,
  newWalletState,
  reconcilePending,
  redactState,
  walletStateSchema,
  withClockSync,
  withEnrollment,
  withPendingCode,
  withPhoneKeySeed,
  withoutCredential,
} from './wallet-state.ts';

const payment = (over: Partial<PaymentRecord>): PaymentRecord => ({
  paymentId: 'p1',
  kind: 'offline-qr',
  status: 'settled',
  amount: { value: 100, currency: 'JPY' },
  kioskId: 'k1',
  at: T0,
  ...over,
});

describe('wallet state', () => {
  it('starts unenrolled with counter 1 and no pending codes, and matches its own schema', () => {
    const s = newWalletState(SERVER_URL);
    expect(s).toEqual({ version: 1, serverUrl: SERVER_URL, nextCounter: 1, pending: [] });
    expect(walletStateSchema.parse(s)).toEqual(s);
    expect(walletStateSchema.parse(testWalletState())).toBeDefined();
  });

  it('refuses to enroll twice or to replace the phone key seed', () => {
    const s = testWalletState();
    expect(() => withEnrollment(s, { walletId: 'w2', token: 't'.repeat(30), currency: 'JPY' }, T0)).toThrow(/already enrolled/);
    expect(() => withPhoneKeySeed(s, new Uint8Array(32))).toThrow(/already set/);
  });

  it('applies the clock offset to get server time, and knows when it never synced', () => {
    const s = testWalletState({ offsetMs: 5_000 });
    expect(correctedNowMs(s, T0 + 100)).toBe(T0 + 5_100);
    expect(correctedNowMs(testWalletState({ synced: false }), T0)).toBeUndefined();
  });

  it('wants a clock sync when never synced, older than an hour, or when the local clock went backwards', () => {
    const never = testWalletState({ synced: false });
    expect(clockSyncDue(never, T0)).toBe(true);
    const s = withClockSync(never, timeSample(T0, T0, T0, T0), T0);
    expect(clockSyncDue(s, T0 + CLOCK_SYNC_AGE_MS_MAX)).toBe(false);
    expect(clockSyncDue(s, T0 + CLOCK_SYNC_AGE_MS_MAX + 1)).toBe(true);
    expect(clockSyncDue(s, T0 - 1)).toBe(true);
  });

  it('wants a credential renewal only once past renewAfter in server time', () => {
    const s = testWalletState({ offsetMs: 60_000 });
    const renewAfter = s.credential!.renewAfterMs;
    expect(credentialRenewalDue(s, renewAfter - 60_001)).toBe(false);
    expect(credentialRenewalDue(s, renewAfter - 60_000)).toBe(true);
    expect(credentialRenewalDue(withoutCredential(s), renewAfter + DAY_MS)).toBe(false);
  });

  it('keeps only the newest pending codes', () => {
    let s = testWalletState();
    for (let i = 1; i <= PENDING_CODES_MAX + 5; i++)
      s = withPendingCode(s, { form: 'qr', credentialId: 'c', counter: i, shownAtMs: T0 + i });
    expect(s.pending).toHaveLength(PENDING_CODES_MAX);
    expect(s.pending[0]!.counter).toBe(6);
    expect(walletStateSchema.safeParse(s).success).toBe(true);
  });

  it('forgets pending codes that history shows, and those older than every limit window', () => {
    let s = testWalletState();
    const id = s.credential!.credentialId;
    s = withPendingCode(s, { form: 'qr', credentialId: id, counter: 1, shownAtMs: T0 });
    s = withPendingCode(s, { form: 'qr', credentialId: id, counter: 2, shownAtMs: T0 });
    s = withPendingCode(s, { form: 'numeric', credentialId: id, counter: 2, shownAtMs: T0 });
    s = withPendingCode(s, { form: 'qr', credentialId: id, counter: 3, shownAtMs: T0 - PENDING_CODE_AGE_MS_MAX - 1 });
    const r = reconcilePending(s, [payment({ offline: { credentialId: id, counter: 2 } }), payment({ kind: 'online' })], T0);
    expect(r.pending.map((c) => `${c.form}${c.counter}`)).toEqual(['qr1', 'numeric2']);
    expect(reconcilePending(r, [], T0)).toBe(r);
  });

  it('redacts the token, the phone key seed and the numeric secret', () => {
    const s = testWalletState();
    const text = JSON.stringify(redactState(s));
    expect(text).not.toContain(s.enrollment!.token);
    expect(text).not.toContain(s.phoneKeySeed!);
    expect(text).not.toContain(s.credential!.numeric.secret);
    expect(text).toContain(s.credential!.credentialId);
  });
});
