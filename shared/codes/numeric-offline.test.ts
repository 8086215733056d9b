// SPDX-License-Identifier: Apache-2.0
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeCode, type DecodedNumericOffline } from './decode.ts';
import { luhnCheckDigit, luhnValid } from './luhn.ts';
import { makeNumericOfflineCode, NUMERIC_STEP_MS_DEFAULT, numericMac, verifyNumericOfflineCode } from './numeric-offline.ts';
import { checkOfflineTerms } from './offline-terms.ts';
import { fixture, T0_MS } from './test-fixtures.ts';

const STEP = NUMERIC_STEP_MS_DEFAULT;
const WINDOW = 120_000;
const secret = Uint8Array.from({ length: 32 }, (_, i) => i);
const handle = '20250101';

function decodeNumeric(text: string): DecodedNumericOffline {
  const d = decodeCode(text);
  if (!d.ok || d.code.kind !== 'offline-numeric') throw new Error(`not a numeric offline code: ${d.ok ? d.code.kind : d.detail}`);
  return d.code;
}
const make = (timeMs: number, s = secret, h = handle) => makeNumericOfflineCode({ handle: h, secret: s, timeMs, stepMs: STEP });

/** The MAC computed independently with node:crypto, straight from the spec's words. */
function referenceMac(key: Uint8Array, h: string, step: number): string {
  const stepBytes = Buffer.alloc(8);
  stepBytes.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha512', key)
    .update(Buffer.concat([Buffer.from('kioskpay/numeric/v1\0', 'utf8'), Buffer.from(h, 'utf8'), stepBytes]))
    .digest();
  return String(mac.readUIntBE(0, 5) % 100_000_000).padStart(8, '0');
}

describe('numeric offline code', () => {
  it('is "32" + handle + step digit + MAC + Luhn digit, 20 digits', () => {
    const code = make(T0_MS);
    const step = Math.floor(T0_MS / STEP);
    expect(code).toMatch(/^32[0-9]{18}$/);
    expect(luhnValid(code)).toBe(true);
    expect(code.slice(2, 10)).toBe(handle);
    expect(code[10]).toBe(String(step % 10));
    expect(code.slice(11, 19)).toBe(referenceMac(secret, handle, step));
  });

  it('computes the MAC exactly as node:crypto HMAC-SHA-512 does, for large steps too', () => {
    for (const step of [0, 1, 9, 10, 56_666_666, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12_345, Number.MAX_SAFE_INTEGER]) {
      expect(numericMac(secret, handle, step), `step ${step}`).toBe(referenceMac(secret, handle, step));
    }
  });

  it('verifies at the time it was made, and reports the step', () => {
    const code = decodeNumeric(make(T0_MS));
    const step = Math.floor(T0_MS / STEP);
    expect(verifyNumericOfflineCode(code, secret, T0_MS, STEP, WINDOW)).toEqual({ ok: true, step, timestampMs: T0_MS });
  });

  it('verifies anywhere within the window, with a timestamp the offline terms accept', () => {
    const f = fixture();
    const made = T0_MS + 12_345;
    const code = decodeNumeric(make(made));
    for (const delta of [-WINDOW, -WINDOW + 1, -1, 0, 1, 29_999, WINDOW - 1, WINDOW]) {
      const now = made + delta;
      const r = verifyNumericOfflineCode(code, secret, now, STEP, WINDOW);
      expect(r.ok, `delta ${delta}`).toBe(true);
      if (!r.ok) continue;
      expect(r.step).toBe(Math.floor(made / STEP));
      expect(Math.abs(r.timestampMs - now)).toBeLessThanOrEqual(WINDOW);
      expect(Math.floor(r.timestampMs / STEP)).toBe(r.step);
      expect(
        checkOfflineTerms({
          credential: f.credential,
          timestampMs: r.timestampMs,
          amount: { value: 100, currency: 'JPY' },
          referenceTimeMs: now,
          windowMs: WINDOW,
        }),
      ).toEqual({ ok: true });
    }
  });

  it('SIGNATURE_INVALID when the code was made outside the window (no step in the window matches)', () => {
    const stepStart = Math.floor(T0_MS / STEP) * STEP;
    const code = decodeNumeric(make(stepStart));
    // The step [stepStart, stepStart + STEP) no longer overlaps [now - WINDOW, now + WINDOW].
    expect(verifyNumericOfflineCode(code, secret, stepStart + STEP + WINDOW, STEP, WINDOW)).toEqual({
      ok: false,
      reason: 'SIGNATURE_INVALID',
    });
    expect(verifyNumericOfflineCode(code, secret, stepStart + STEP - 1 + WINDOW, STEP, WINDOW).ok).toBe(true);
    expect(verifyNumericOfflineCode(code, secret, stepStart - WINDOW - 1, STEP, WINDOW)).toEqual({
      ok: false,
      reason: 'SIGNATURE_INVALID',
    });
    expect(verifyNumericOfflineCode(code, secret, stepStart - WINDOW, STEP, WINDOW).ok).toBe(true);
    expect(verifyNumericOfflineCode(code, secret, T0_MS + 86_400_000, STEP, WINDOW)).toEqual({ ok: false, reason: 'SIGNATURE_INVALID' });
  });

  it('SIGNATURE_INVALID for the wrong secret, the wrong handle or a changed MAC', () => {
    const code = decodeNumeric(make(T0_MS));
    expect(
      verifyNumericOfflineCode(
        code,
        secret.map((b) => b ^ 1),
        T0_MS,
        STEP,
        WINDOW,
      ),
    ).toEqual({ ok: false, reason: 'SIGNATURE_INVALID' });
    const otherHandle = decodeNumeric(withLuhn(code.text.slice(0, 2) + '20250102' + code.text.slice(10, 19)));
    expect(verifyNumericOfflineCode(otherHandle, secret, T0_MS, STEP, WINDOW)).toEqual({ ok: false, reason: 'SIGNATURE_INVALID' });
    for (let i = 11; i < 19; i++) {
      const mac = code.text.slice(0, i) + String((Number(code.text[i]) + 1) % 10) + code.text.slice(i + 1, 19);
      expect(verifyNumericOfflineCode(decodeNumeric(withLuhn(mac)), secret, T0_MS, STEP, WINDOW)).toEqual({
        ok: false,
        reason: 'SIGNATURE_INVALID',
      });
    }
  });

  it('SIGNATURE_INVALID when the step digit is changed (a neighbouring step is not accepted)', () => {
    const code = decodeNumeric(make(T0_MS));
    const text = code.text.slice(0, 10) + String((code.stepDigit + 1) % 10) + code.text.slice(11, 19);
    expect(verifyNumericOfflineCode(decodeNumeric(withLuhn(text)), secret, T0_MS, STEP, WINDOW)).toEqual({
      ok: false,
      reason: 'SIGNATURE_INVALID',
    });
  });

  it('uses the step digit to pick the right step in a window wider than ten steps, nearest to now first', () => {
    const wide = 20 * STEP; // 41 candidate steps, about 4 per digit
    const made = T0_MS - 7 * STEP;
    const code = decodeNumeric(make(made));
    const r = verifyNumericOfflineCode(code, secret, T0_MS, STEP, wide);
    expect(r.ok && r.step).toBe(Math.floor(made / STEP));
  });

  it('throws (programmer error) on bad inputs to make and verify', () => {
    expect(() => makeNumericOfflineCode({ handle: '1234567', secret, timeMs: T0_MS, stepMs: STEP })).toThrow();
    expect(() => makeNumericOfflineCode({ handle: '1234567a', secret, timeMs: T0_MS, stepMs: STEP })).toThrow();
    expect(() => makeNumericOfflineCode({ handle, secret: secret.subarray(0, 15), timeMs: T0_MS, stepMs: STEP })).toThrow();
    expect(() => makeNumericOfflineCode({ handle, secret, timeMs: -1, stepMs: STEP })).toThrow();
    expect(() => makeNumericOfflineCode({ handle, secret, timeMs: T0_MS, stepMs: 0 })).toThrow();
    const code = decodeNumeric(make(T0_MS));
    expect(() => verifyNumericOfflineCode(code, secret, T0_MS, 0, WINDOW)).toThrow();
    expect(() => verifyNumericOfflineCode(code, secret, T0_MS, STEP, -1)).toThrow();
    expect(() => verifyNumericOfflineCode(code, secret, T0_MS, 1_000, 10_000 * 1_000)).toThrow(/more than 10000 steps/);
  });
});

function withLuhn(body19: string): string {
  return body19 + luhnCheckDigit(body19);
}
