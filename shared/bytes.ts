// SPDX-License-Identifier: Apache-2.0
// Byte helpers for the code formats. Browser-safe: Uint8Array, TextEncoder and DataView only.
// Every decoder here is strict and total: it returns undefined on bad input and never throws.

const B64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** char code -> 6-bit value, or -1 for characters outside the base64url alphabet. */
const B64URL_VALUES: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < B64URL_ALPHABET.length; i++) t[B64URL_ALPHABET.charCodeAt(i)] = i;
  return t;
})();

/** Base64url (RFC 4648, section 5) without padding. */
export function toBase64url(b: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 3 <= b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out += B64URL_ALPHABET[n >>> 18]! + B64URL_ALPHABET[(n >>> 12) & 63]! + B64URL_ALPHABET[(n >>> 6) & 63]! + B64URL_ALPHABET[n & 63]!;
  }
  const rest = b.length - i;
  if (rest === 1) {
    const n = b[i]! << 16;
    out += B64URL_ALPHABET[n >>> 18]! + B64URL_ALPHABET[(n >>> 12) & 63]!;
  } else if (rest === 2) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8);
    out += B64URL_ALPHABET[n >>> 18]! + B64URL_ALPHABET[(n >>> 12) & 63]! + B64URL_ALPHABET[(n >>> 6) & 63]!;
  }
  return out;
}

/**
 * Strict base64url without padding: undefined on any character outside [A-Za-z0-9_-] (including
 * '=', whitespace and '+' '/'), on a length of 1 mod 4, and on non-zero unused trailing bits, so
 * every byte string has exactly one accepted text.
 */
export function fromBase64url(s: string): Uint8Array | undefined {
  if (typeof s !== 'string') return undefined;
  const rest = s.length % 4;
  if (rest === 1) return undefined;
  const out = new Uint8Array(((s.length - rest) / 4) * 3 + (rest === 0 ? 0 : rest - 1));
  let o = 0;
  let i = 0;
  for (; i + 4 <= s.length; i += 4) {
    const a = sextet(s, i),
      b = sextet(s, i + 1),
      c = sextet(s, i + 2),
      d = sextet(s, i + 3);
    if ((a | b | c | d) < 0) return undefined;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  if (rest === 2) {
    const a = sextet(s, i),
      b = sextet(s, i + 1);
    if ((a | b) < 0 || (b & 0x0f) !== 0) return undefined;
    out[o++] = (a << 2) | (b >>> 4);
  } else if (rest === 3) {
    const a = sextet(s, i),
      b = sextet(s, i + 1),
      c = sextet(s, i + 2);
    if ((a | b | c) < 0 || (c & 0x03) !== 0) return undefined;
    out[o++] = (a << 2) | (b >>> 4);
    out[o++] = ((b & 0x0f) << 4) | (c >>> 2);
  }
  return out;
}

/** The 6-bit value of s[i], or -1 (so an OR of several values is negative if any is invalid). */
function sextet(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c < 128 ? B64URL_VALUES[c]! : -1;
}

const HEX = '0123456789abcdef';

/** Lowercase hex. */
export function toHex(b: Uint8Array): string {
  let out = '';
  for (let i = 0; i < b.length; i++) out += HEX[b[i]! >>> 4]! + HEX[b[i]! & 15]!;
  return out;
}

/** Hex of either case; undefined on odd length or any non-hex character. */
export function fromHex(s: string): Uint8Array | undefined {
  if (typeof s !== 'string' || s.length % 2 !== 0) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = nibble(s.charCodeAt(2 * i)),
      lo = nibble(s.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return undefined;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a string (lone surrogates become U+FFFD, as TextEncoder does). */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * Equality whose running time depends only on the lengths, not on where the bytes differ
 * ("constant-time-ish": JavaScript engines promise nothing, but there is no early exit).
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
