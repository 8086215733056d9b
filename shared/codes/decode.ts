// SPDX-License-Identifier: Apache-2.0
// Any scanned or typed text in, a typed code out. The one entry point for the server, the kiosk and
// tests. It never throws, and it refuses anything longer than CODE_TEXT_MAX before looking at it.
// Which code is which:
//   20 ASCII digits, Luhn-valid, "31..."  online one-time code        (online-code.ts)
//   20 ASCII digits, Luhn-valid, "32..."  numeric offline code        (numeric-offline.ts)
//   509 ASCII digits, "33..."              offline QR code, version 3 (offline-code-digits.ts)
//   "KP1." + 282 base64url characters      offline QR code, version 1 (offline-code.ts)
//   "KP2." + 287 base64url characters      offline QR code, version 2: with the shopper's amount cap
// Surrounding spaces, tabs, CR and LF are removed (scanners end a scan with CR/LF). Digits written
// in groups, as the wallet shows them or a person types them ("3162 8705 ..." or "3162-8705-..."),
// lose the spaces and hyphens between the groups (normalizeCodeText); nothing else is removed.
import type { ErrorCode } from '../errors.ts';
import { CODE_TEXT_MAX } from '../schemas.ts';
import { luhnValid } from './luhn.ts';
import { parseNumericOfflineText, NUMERIC_OFFLINE_PREFIX, type DecodedNumericOffline } from './numeric-offline.ts';
import {
  OFFLINE_QR_PREFIX,
  OFFLINE_QR_V2_PREFIX,
  OFFLINE_QR_V3_PREFIX,
  OFFLINE_QR_V3_TEXT_LENGTH,
  parseOfflineQrText,
  type DecodedOfflineQr,
} from './offline-code.ts';
import { ONLINE_CODE_DIGITS, ONLINE_CODE_PREFIX } from './online-code.ts';

export type { DecodedNumericOffline } from './numeric-offline.ts';
export type { DecodedOfflineQr } from './offline-code.ts';

export type DecodedOnline = { kind: 'online'; text: string };
export type DecodedCode = DecodedOnline | DecodedOfflineQr | DecodedNumericOffline;
/** Reasons are keys of ERRORS (a compile error otherwise). */
type Reasons<T extends ErrorCode> = T;
export type DecodeResult = { ok: true; code: DecodedCode } | { ok: false; reason: Reasons<'CODE_MALFORMED'>; detail: string };

/**
 * Counters for tests and metrics: `parsed` counts inputs that got past the type and length checks
 * (so a test can prove an over-long input never reached a parser); `faults` counts exceptions
 * caught inside the parsers, which would be bugs (the fuzz test asserts it stays 0).
 */
export const decodeStats = { parsed: 0, faults: 0 };

const DIGITS = /^[0-9]+$/;
/** Runs of digits with spaces or hyphens between them (never at the ends, which are trimmed first). */
const GROUPED_DIGITS = /^[0-9]+(?:[ -]+[0-9]+)+$/;
const OTHER_QR_VERSION = /^KP[0-9]+\./;

const malformed = (detail: string): DecodeResult => ({ ok: false, reason: 'CODE_MALFORMED', detail });

export function decodeCode(text: unknown): DecodeResult {
  if (typeof text !== 'string') return malformed('code is not a string');
  if (text.length > CODE_TEXT_MAX) return malformed(`code too long: ${text.length} characters, at most ${CODE_TEXT_MAX}`);
  decodeStats.parsed++;
  try {
    return decodeNormalized(normalizeCodeText(text));
  } catch {
    decodeStats.faults++;
    return malformed('code could not be decoded');
  }
}

function isEndSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/**
 * The text a code is decoded from: spaces, tabs, CR and LF removed at both ends; then, when what is
 * left is digits in groups separated by spaces or hyphens (ASCII 0x20, 0x2D), the separators
 * removed. Anything else is returned as it is: base64url ("KP1.", "KP2.") uses hyphens and case as
 * data, so nothing is removed from it. The caller bounds the length (decodeCode checks
 * CODE_TEXT_MAX on the text as given, before this).
 */
export function normalizeCodeText(text: string): string {
  const trimmed = trimEnds(text);
  return GROUPED_DIGITS.test(trimmed) ? trimmed.replace(/[ -]/g, '') : trimmed;
}

/** Removes spaces, tabs, CR and LF at both ends only. */
function trimEnds(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isEndSpace(s.charCodeAt(start))) start++;
  while (end > start && isEndSpace(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

function decodeNormalized(text: string): DecodeResult {
  if (text.length === 0) return malformed('code is empty');
  if (DIGITS.test(text)) return decodeDigits(text);
  if (text.startsWith(OFFLINE_QR_PREFIX) || text.startsWith(OFFLINE_QR_V2_PREFIX)) {
    const parsed = parseOfflineQrText(text);
    return parsed.ok ? { ok: true, code: parsed.code } : malformed(parsed.detail);
  }
  if (OTHER_QR_VERSION.test(text)) return malformed(`unsupported offline code version ${text.slice(0, text.indexOf('.'))}`);
  return malformed('not a kioskpay code');
}

function decodeDigits(text: string): DecodeResult {
  if (text.length > ONLINE_CODE_DIGITS && text.startsWith(OFFLINE_QR_V3_PREFIX)) {
    const parsed = parseOfflineQrText(text);
    return parsed.ok ? { ok: true, code: parsed.code } : malformed(parsed.detail);
  }
  if (text.length === OFFLINE_QR_V3_TEXT_LENGTH) return malformed(`unknown numeric code prefix ${text.slice(0, 2)}`);
  if (text.length !== ONLINE_CODE_DIGITS) return malformed(`numeric code must have ${ONLINE_CODE_DIGITS} digits, got ${text.length}`);
  if (!luhnValid(text)) return malformed('numeric code check digit is wrong');
  if (text.startsWith(ONLINE_CODE_PREFIX)) return { ok: true, code: { kind: 'online', text } };
  if (text.startsWith(NUMERIC_OFFLINE_PREFIX)) return { ok: true, code: parseNumericOfflineText(text) };
  return malformed(`unknown numeric code prefix ${text.slice(0, 2)}`);
}
