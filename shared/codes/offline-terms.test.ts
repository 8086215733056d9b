// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import type { Money } from '../money.ts';
import { checkOfflineTerms, type OfflineTermsInput } from './offline-terms.ts';
import { fixture, T0_MS } from './test-fixtures.ts';

const WINDOW = 300_000;

function input(over: Partial<OfflineTermsInput> = {}): OfflineTermsInput {
  const f = fixture();
  return {
    credential: f.credential,
    timestampMs: T0_MS,
    amount: { value: 1_000, currency: 'JPY' },
    referenceTimeMs: T0_MS + 10_000,
    windowMs: WINDOW,
    ...over,
  };
}

describe('checkOfflineTerms', () => {
  const c = fixture().credential;

  it('accepts a code inside validity and window, in the credential currency, within the per-payment limit', () => {
    expect(checkOfflineTerms(input())).toEqual({ ok: true });
  });

  it('CREDENTIAL_EXPIRED outside [notBefore, notAfter], both ends inclusive', () => {
    const at = (timestampMs: number) => checkOfflineTerms(input({ timestampMs, referenceTimeMs: timestampMs }));
    expect(at(c.notBeforeMs)).toEqual({ ok: true });
    expect(at(c.notAfterMs)).toEqual({ ok: true });
    expect(at(c.notBeforeMs - 1)).toEqual({ ok: false, reason: 'CREDENTIAL_EXPIRED' });
    expect(at(c.notAfterMs + 1)).toEqual({ ok: false, reason: 'CREDENTIAL_EXPIRED' });
  });

  it('TIME_OUT_OF_WINDOW when |timestamp - reference| exceeds the window, either direction', () => {
    expect(checkOfflineTerms(input({ referenceTimeMs: T0_MS + WINDOW }))).toEqual({ ok: true });
    expect(checkOfflineTerms(input({ referenceTimeMs: T0_MS - WINDOW }))).toEqual({ ok: true });
    expect(checkOfflineTerms(input({ referenceTimeMs: T0_MS + WINDOW + 1 }))).toEqual({ ok: false, reason: 'TIME_OUT_OF_WINDOW' });
    expect(checkOfflineTerms(input({ referenceTimeMs: T0_MS - WINDOW - 1 }))).toEqual({ ok: false, reason: 'TIME_OUT_OF_WINDOW' });
  });

  it("widens the window by the checker's clock uncertainty", () => {
    expect(checkOfflineTerms(input({ referenceTimeMs: T0_MS + WINDOW + 500, uncertaintyMs: 500 }))).toEqual({ ok: true });
    expect(checkOfflineTerms(input({ referenceTimeMs: T0_MS + WINDOW + 501, uncertaintyMs: 500 }))).toEqual({
      ok: false,
      reason: 'TIME_OUT_OF_WINDOW',
    });
  });

  it('CURRENCY_MISMATCH when the amount is not in the credential currency', () => {
    expect(checkOfflineTerms(input({ amount: { value: 1_000, currency: 'USD' } }))).toEqual({ ok: false, reason: 'CURRENCY_MISMATCH' });
  });

  it('OFFLINE_LIMIT_PER_PAYMENT above the per-payment limit; the limit itself is allowed', () => {
    expect(checkOfflineTerms(input({ amount: { value: c.limits.perPayment, currency: 'JPY' } }))).toEqual({ ok: true });
    expect(checkOfflineTerms(input({ amount: { value: c.limits.perPayment + 1, currency: 'JPY' } }))).toEqual({
      ok: false,
      reason: 'OFFLINE_LIMIT_PER_PAYMENT',
    });
  });

  it('answers the first failing condition in the documented order', () => {
    const everythingWrong = input({ timestampMs: c.notAfterMs + 1, referenceTimeMs: 0, amount: { value: 10 ** 9, currency: 'EUR' } });
    expect(checkOfflineTerms(everythingWrong)).toEqual({ ok: false, reason: 'CREDENTIAL_EXPIRED' });
    expect(checkOfflineTerms({ ...everythingWrong, timestampMs: T0_MS })).toEqual({ ok: false, reason: 'TIME_OUT_OF_WINDOW' });
    expect(checkOfflineTerms({ ...everythingWrong, timestampMs: T0_MS, referenceTimeMs: T0_MS })).toEqual({
      ok: false,
      reason: 'CURRENCY_MISMATCH',
    });
  });

  it("fails closed on NaN in the code's timestamp or the amount", () => {
    expect(checkOfflineTerms(input({ timestampMs: NaN })).ok).toBe(false);
    expect(checkOfflineTerms(input({ amount: { value: NaN, currency: 'JPY' } as Money }))).toEqual({
      ok: false,
      reason: 'OFFLINE_LIMIT_PER_PAYMENT',
    });
  });

  it('throws (programmer error) on a negative or non-finite window, uncertainty or reference time', () => {
    expect(() => checkOfflineTerms(input({ windowMs: -1 }))).toThrow();
    expect(() => checkOfflineTerms(input({ windowMs: Infinity }))).toThrow();
    expect(() => checkOfflineTerms(input({ uncertaintyMs: -1 }))).toThrow();
    expect(() => checkOfflineTerms(input({ referenceTimeMs: NaN }))).toThrow();
  });
});
