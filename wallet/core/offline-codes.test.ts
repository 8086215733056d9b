// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { fromBase64url } from '../../shared/bytes.ts';
import { ManualClock } from '../../shared/clock.ts';
import { parseNumericOfflineText, verifyNumericOfflineCode } from '../../shared/codes/numeric-offline.ts';
import { OFFLINE_QR_V3_TEXT_LENGTH, parseOfflineQrText } from '../../shared/codes/offline-code.ts';
import { checkOfflineTerms } from '../../shared/codes/offline-terms.ts';
import { verifyOfflineQr } from '../../shared/codes/verify-offline.ts';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import { T0, testIssuer, testWalletState } from '../testing/fixtures.ts';
import { nextNumericCode, nextOfflineCode, offlineAvailability } from './offline-codes.ts';
import { newWalletState, withoutCredential } from './wallet-state.ts';

const ed = naclEd25519;

describe('offlineAvailability', () => {
  it('names the first missing ingredient', () => {
    expect(offlineAvailability(newWalletState('http://x'), T0)).toEqual({ available: false, reason: 'never-enrolled' });
    expect(offlineAvailability(withoutCredential(testWalletState()), T0)).toEqual({ available: false, reason: 'no-credential' });
    expect(offlineAvailability(testWalletState({ synced: false }), T0)).toEqual({ available: false, reason: 'clock-never-synced' });
  });

  it('judges the validity period on corrected time, inclusive at both ends', () => {
    // The phone's clock is 10 minutes slow; the server's time decides.
    const s = testWalletState({ offsetMs: 600_000 });
    const { notBeforeMs, notAfterMs } = s.credential!;
    const local = (serverMs: number) => serverMs - 600_000;
    expect(offlineAvailability(s, local(notBeforeMs - 1))).toEqual({ available: false, reason: 'credential-not-yet-valid' });
    expect(offlineAvailability(s, local(notBeforeMs)).available).toBe(true);
    expect(offlineAvailability(s, local(notAfterMs)).available).toBe(true);
    expect(offlineAvailability(s, local(notAfterMs + 1))).toEqual({ available: false, reason: 'credential-expired' });
  });
});

describe('nextOfflineCode', () => {
  it('signs a code with the corrected time and the next counter that a kiosk can verify', () => {
    const s = testWalletState({ offsetMs: 4_321 });
    const clock = new ManualClock(T0 + 1_000);
    const r = nextOfflineCode(s, clock, ed);
    if (!r.ok) throw new Error(r.reason);
    expect(r.text).toHaveLength(OFFLINE_QR_V3_TEXT_LENGTH);
    expect(r.text).toMatch(/^33[0-9]{507}$/); // version 3
    expect(parseOfflineQrText(r.text)).toMatchObject({ ok: true, code: { version: 3, amountCap: null } });
    expect(r.counter).toBe(1);
    expect(r.timestampMs).toBe(T0 + 1_000 + 4_321);
    const decoded = parseOfflineQrText(r.text);
    if (!decoded.ok) throw new Error(decoded.detail);
    expect(decoded.code.counter).toBe(1);
    expect(decoded.code.timestampMs).toBe(T0 + 5_321);
    expect(verifyOfflineQr(decoded.code, testIssuer.keys, ed)).toEqual({ ok: true });
    // The server, whose clock is the reference, accepts it within a small window.
    expect(
      checkOfflineTerms({
        credential: decoded.code.credential,
        timestampMs: decoded.code.timestampMs,
        amount: { value: 100, currency: 'JPY' },
        referenceTimeMs: T0 + 5_400,
        windowMs: 1_000,
      }),
    ).toEqual({ ok: true });
  });

  it('advances the counter in the returned state, records the code as pending, and leaves the input untouched', () => {
    const s0 = testWalletState();
    const clock = new ManualClock(T0);
    const a = nextOfflineCode(s0, clock, ed);
    if (!a.ok) throw new Error(a.reason);
    const b = nextOfflineCode(a.state, clock, ed);
    if (!b.ok) throw new Error(b.reason);
    expect([a.counter, b.counter]).toEqual([1, 2]);
    expect(b.state.nextCounter).toBe(3);
    expect(b.state.pending.map((p) => p.counter)).toEqual([1, 2]);
    expect(s0.nextCounter).toBe(1);
    expect(s0.pending).toEqual([]);
    // Same instant, same credential: only the counter tells the codes apart.
    expect(a.text).not.toBe(b.text);
  });

  it('reports why no code can be made instead of signing one', () => {
    expect(nextOfflineCode(testWalletState({ synced: false }), new ManualClock(T0), ed)).toEqual({
      ok: false,
      reason: 'clock-never-synced',
    });
  });

  it('refuses (as a programmer error) to go past the 32-bit counter', () => {
    const s = { ...testWalletState(), nextCounter: 0xffff_ffff + 1 };
    expect(() => nextOfflineCode(s, new ManualClock(T0), ed)).toThrow(/counter/);
  });
});

describe('nextNumericCode', () => {
  it('makes a 20-digit code the server verifies with the shared secret at its own time', () => {
    const s = testWalletState({ offsetMs: -2_000 });
    const clock = new ManualClock(T0 + 45_000);
    const r = nextNumericCode(s, clock);
    if (!r.ok) throw new Error(r.reason);
    expect(r.text).toMatch(/^\d{20}$/);
    const n = s.credential!.numeric;
    expect(r.step).toBe(Math.floor((T0 + 43_000) / n.stepMs));
    expect(r.stepEndsAtMs).toBe((r.step + 1) * n.stepMs);
    const v = verifyNumericOfflineCode(parseNumericOfflineText(r.text), fromBase64url(n.secret)!, T0 + 43_500, n.stepMs, 60_000);
    expect(v).toMatchObject({ ok: true, step: r.step });
    expect(r.state.pending.at(-1)).toMatchObject({ form: 'numeric', counter: r.step });
  });

  it('never shows the code of one time step twice, and says when the next one comes', () => {
    const clock = new ManualClock(T0 + 10_000);
    const a = nextNumericCode(testWalletState(), clock);
    if (!a.ok) throw new Error(a.reason);
    clock.advance(5_000);
    expect(nextNumericCode(a.state, clock)).toEqual({
      ok: false,
      reason: 'numeric-step-used',
      retryAfterMs: a.stepEndsAtMs - (T0 + 15_000),
    });
    clock.advance(a.stepEndsAtMs - clock.nowMs());
    const b = nextNumericCode(a.state, clock);
    if (!b.ok) throw new Error(b.reason);
    expect(b.step).toBe(a.step + 1);
    expect(b.text).not.toBe(a.text);
  });
});
