// SPDX-License-Identifier: Apache-2.0
// Offline code, numeric form (the patent's second offline code image; claim 9): 20 digits a shopper
// can type or a 1D scanner can read, made on the phone from a secret it shares with the server.
// Only the server can check it, so a kiosk must be online to accept one.
//   "32" + handle (8 digits) + (step mod 10) (1 digit) + MAC (8 digits) + Luhn check digit
//   step = floor(timeMs / stepMs)
//   MAC  = uint40(first 5 bytes of HMAC-SHA-512(secret, utf8("kioskpay/numeric/v1\0") ++ utf8(handle) ++ uint64be(step))) mod 10^8
// docs/codes.md specifies it.
import { assert } from '../assert.ts';
import { bytesEqual, concatBytes, utf8 } from '../bytes.ts';
import { hmacSha512 } from '../crypto/hmac.ts';
import type { ErrorCode } from '../errors.ts';
import { luhnCheckDigit } from './luhn.ts';

export const NUMERIC_OFFLINE_PREFIX = '32';
export const NUMERIC_STEP_MS_DEFAULT = 30_000;
export const NUMERIC_MAC_DOMAIN = 'kioskpay/numeric/v1\0';
/** The most time steps one verification may consider (a limit on the work an unknown code can cause). */
export const NUMERIC_CANDIDATE_STEPS_MAX = 10_000;
const DOMAIN_BYTES = utf8(NUMERIC_MAC_DOMAIN);
const HANDLE = /^[0-9]{8}$/;

/** Reasons are keys of ERRORS (a compile error otherwise). */
type Reasons<T extends ErrorCode> = T;
export type NumericOfflineFailure = Reasons<'SIGNATURE_INVALID' | 'TIME_OUT_OF_WINDOW'>;

export interface DecodedNumericOffline {
  kind: 'offline-numeric';
  text: string;
  /** 8 digits: which numeric secret (and so which credential) the server looks up. */
  handle: string;
  /** step mod 10, 0..9. */
  stepDigit: number;
  /** 8 digits. */
  mac: string;
}

/** The 8-digit MAC for one handle and time step. */
export function numericMac(secret: Uint8Array, handle: string, step: number): string {
  assert(Number.isSafeInteger(step) && step >= 0, 'step must be a non-negative safe integer');
  const stepBytes = new Uint8Array(8);
  const v = new DataView(stepBytes.buffer);
  v.setUint32(0, Math.floor(step / 2 ** 32));
  v.setUint32(4, step % 2 ** 32);
  const h = hmacSha512(secret, concatBytes(DOMAIN_BYTES, utf8(handle), stepBytes));
  // uint40 big-endian from the first 5 bytes; at most 2^40 - 1, exact in a double.
  const n = h[0]! * 2 ** 32 + ((h[1]! << 24) >>> 0) + (h[2]! << 16) + (h[3]! << 8) + h[4]!;
  return String(n % 100_000_000).padStart(8, '0');
}

function assertStepMs(stepMs: number): void {
  assert(Number.isSafeInteger(stepMs) && stepMs > 0, 'stepMs must be a positive integer');
}

/** Makes a numeric offline code. Throws (programmer error) on out-of-range input. */
export function makeNumericOfflineCode(p: { handle: string; secret: Uint8Array; timeMs: number; stepMs: number }): string {
  assert(typeof p.handle === 'string' && HANDLE.test(p.handle), 'numeric handle must be 8 digits');
  assert(p.secret instanceof Uint8Array && p.secret.length >= 16, 'numeric secret must be at least 16 bytes');
  assert(Number.isSafeInteger(p.timeMs) && p.timeMs >= 0, 'timeMs must be a non-negative integer');
  assertStepMs(p.stepMs);
  const step = Math.floor(p.timeMs / p.stepMs);
  const body = NUMERIC_OFFLINE_PREFIX + p.handle + String(step % 10) + numericMac(p.secret, p.handle, step);
  return body + luhnCheckDigit(body);
}

/** Splits a 20-digit text already known to be Luhn-valid with the "32" prefix. */
export function parseNumericOfflineText(text: string): DecodedNumericOffline {
  return { kind: 'offline-numeric', text, handle: text.slice(2, 10), stepDigit: text.charCodeAt(10) - 48, mac: text.slice(11, 19) };
}

/**
 * Server side: looks for a time step whose interval [step*stepMs, (step+1)*stepMs) overlaps
 * [nowMs - windowMs, nowMs + windowMs], whose low digit is the code's, and whose MAC is the code's;
 * nearest to nowMs first. `timestampMs` is the instant of that step nearest to nowMs, so that
 * checkOfflineTerms with the same window always accepts it.
 *
 * A code whose MAC matches no step in the window is SIGNATURE_INVALID: v1 does not search outside
 * the window, so it never answers TIME_OUT_OF_WINDOW (the reason stays in the type for a later
 * version that tells "too old" from "forged").
 */
export function verifyNumericOfflineCode(
  code: DecodedNumericOffline,
  secret: Uint8Array,
  nowMs: number,
  stepMs: number,
  windowMs: number,
): { ok: true; step: number; timestampMs: number } | { ok: false; reason: NumericOfflineFailure } {
  assertStepMs(stepMs);
  assert(Number.isSafeInteger(nowMs) && nowMs >= 0, 'nowMs must be a non-negative integer');
  assert(Number.isSafeInteger(windowMs) && windowMs >= 0, 'windowMs must be a non-negative integer');
  const first = Math.max(0, Math.floor((nowMs - windowMs) / stepMs));
  const last = Math.floor((nowMs + windowMs) / stepMs);
  assert(last - first + 1 <= NUMERIC_CANDIDATE_STEPS_MAX, `windowMs / stepMs allows more than ${NUMERIC_CANDIDATE_STEPS_MAX} steps`);

  const nearestInstant = (step: number) => Math.min(Math.max(nowMs, step * stepMs), step * stepMs + stepMs - 1);
  const candidates: number[] = [];
  for (let step = first; step <= last; step++) if (step % 10 === code.stepDigit) candidates.push(step);
  candidates.sort((a, b) => Math.abs(nearestInstant(a) - nowMs) - Math.abs(nearestInstant(b) - nowMs) || a - b);

  const given = utf8(code.mac);
  for (const step of candidates) {
    if (bytesEqual(utf8(numericMac(secret, code.handle, step)), given)) return { ok: true, step, timestampMs: nearestInstant(step) };
  }
  return { ok: false, reason: 'SIGNATURE_INVALID' };
}
