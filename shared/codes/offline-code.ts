// SPDX-License-Identifier: Apache-2.0
// Offline code, QR form (claims 2 and 3): made and signed on the phone with the key its credential
// certifies, so a kiosk can check it with nothing but the issuer's public keys. Bytes v1:
//   [0] version = 1, [1..136] credential, [137..142] timestamp ms uint48, [143..146] counter uint32,
//   [147..210] phone Ed25519 signature over utf8("kioskpay/offline-code/v1\0") ++ bytes[0..146].
// Text: "KP1." + base64url(211 bytes), 286 characters, no padding, no CR/LF.
// Bytes v2 add the shopper's amount cap (the most a kiosk may claim for this code), signed:
//   [0] version = 2, [1..146] as v1, [147..150] amount cap uint32 minor units (credential currency),
//   [151..214] phone signature over utf8("kioskpay/offline-code/v2\0") ++ bytes[0..150].
// Text: "KP2." + base64url(215 bytes), 291 characters. docs/codes.md specifies both.
import { assert } from '../assert.ts';
import { bytesEqual, concatBytes, fromBase64url, toBase64url, utf8 } from '../bytes.ts';
import { ED25519_SECRET_KEY_BYTES, ED25519_SEED_BYTES, type Ed25519 } from '../crypto/ed25519.ts';
import { CREDENTIAL_BYTES, parseCredential, type OfflineCredential } from './credential.ts';

export const OFFLINE_QR_PREFIX = 'KP1.';
export const OFFLINE_CODE_VERSION = 1;
export const OFFLINE_CODE_BYTES = 211;
/** The part the phone signs (after the domain string): version, credential, timestamp, counter. */
export const OFFLINE_CODE_SIGNED_BYTES = 147;
export const OFFLINE_QR_TEXT_LENGTH = OFFLINE_QR_PREFIX.length + Math.ceil((OFFLINE_CODE_BYTES * 4) / 3); // 286
export const OFFLINE_CODE_SIGNATURE_DOMAIN = 'kioskpay/offline-code/v1\0';
const DOMAIN_BYTES = utf8(OFFLINE_CODE_SIGNATURE_DOMAIN);

/** Version 2: v1 plus the amount cap the shopper signed. */
export const OFFLINE_QR_V2_PREFIX = 'KP2.';
export const OFFLINE_CODE_V2_BYTES = 215;
export const OFFLINE_CODE_V2_SIGNED_BYTES = 151;
export const OFFLINE_QR_V2_TEXT_LENGTH = OFFLINE_QR_V2_PREFIX.length + Math.ceil((OFFLINE_CODE_V2_BYTES * 4) / 3); // 291
export const OFFLINE_CODE_V2_SIGNATURE_DOMAIN = 'kioskpay/offline-code/v2\0';
const DOMAIN_V2_BYTES = utf8(OFFLINE_CODE_V2_SIGNATURE_DOMAIN);
const CAP_OFFSET = OFFLINE_CODE_SIGNED_BYTES; // 147

/** Layout per version: signed length, whole length, text length, prefix, signing domain. */
const LAYOUT = {
  1: { signed: OFFLINE_CODE_SIGNED_BYTES, bytes: OFFLINE_CODE_BYTES, textLength: OFFLINE_QR_TEXT_LENGTH, prefix: OFFLINE_QR_PREFIX, domain: DOMAIN_BYTES },
  2: { signed: OFFLINE_CODE_V2_SIGNED_BYTES, bytes: OFFLINE_CODE_V2_BYTES, textLength: OFFLINE_QR_V2_TEXT_LENGTH, prefix: OFFLINE_QR_V2_PREFIX, domain: DOMAIN_V2_BYTES },
} as const;

const TIMESTAMP_OFFSET = 1 + CREDENTIAL_BYTES; // 137
const COUNTER_OFFSET = TIMESTAMP_OFFSET + 6; // 143
const UINT48_MAX = 2 ** 48 - 1;
const UINT32_MAX = 0xffff_ffff;

export interface DecodedOfflineQr {
  kind: 'offline-qr';
  /** The code text as decoded (surrounding whitespace removed). */
  text: string;
  /** bytes[1..136]: the credential exactly as the issuer signed it. */
  credentialBytes: Uint8Array;
  credential: OfflineCredential;
  /** The phone's clock when it made the code, Unix ms. */
  timestampMs: number;
  counter: number;
  /** Version 2: the most a kiosk may claim, minor units of the credential's currency; v1: null. */
  amountCap: number | null;
  /** bytes[0..146] (v2: [0..150]): what the phone signed, after the domain string (see offlineCodeSigningMessage). */
  signedBytes: Uint8Array;
  /** bytes[147..210] (v2: [151..214]). */
  signature: Uint8Array;
}

/** The message the phone signs: the domain string of the code's version, then the signed bytes. */
export function offlineCodeSigningMessage(signedBytes: Uint8Array): Uint8Array {
  const v2 = signedBytes[0] === 2 && signedBytes.length === OFFLINE_CODE_V2_SIGNED_BYTES;
  return concatBytes(v2 ? DOMAIN_V2_BYTES : DOMAIN_BYTES, signedBytes);
}

/**
 * Makes the QR text of an offline code: version 1, or version 2 when `amountCap` is given. Throws
 * (programmer error) on out-of-range input.
 */
export function makeOfflineCode(
  p: { credential: Uint8Array; timestampMs: number; counter: number; phoneSecretKey: Uint8Array; amountCap?: number | undefined },
  ed: Ed25519,
): string {
  const credential = parseCredential(p.credential);
  assert(credential.ok, `offline code needs a well-formed credential: ${credential.ok ? '' : credential.detail}`);
  assert(p.phoneSecretKey instanceof Uint8Array && p.phoneSecretKey.length === ED25519_SECRET_KEY_BYTES, 'phone secret key must be 64 bytes');
  // A code signed by any other key is one the kiosk will decline; catch it here.
  assert(bytesEqual(p.phoneSecretKey.subarray(ED25519_SEED_BYTES), credential.credential.publicKey), 'phone secret key is not the key the credential certifies');
  assert(Number.isSafeInteger(p.timestampMs) && p.timestampMs >= 0 && p.timestampMs <= UINT48_MAX, 'timestampMs must be an integer in uint48');
  assert(Number.isSafeInteger(p.counter) && p.counter >= 0 && p.counter <= UINT32_MAX, 'counter must be an integer in uint32');

  const version = p.amountCap === undefined ? 1 : 2;
  const layout = LAYOUT[version];
  const signed = new Uint8Array(layout.signed);
  const v = new DataView(signed.buffer);
  signed[0] = version;
  if (p.amountCap !== undefined) {
    assert(Number.isSafeInteger(p.amountCap) && p.amountCap >= 0 && p.amountCap <= UINT32_MAX, 'amountCap must be an integer in uint32');
    v.setUint32(CAP_OFFSET, p.amountCap);
  }
  signed.set(p.credential, 1);
  v.setUint16(TIMESTAMP_OFFSET, Math.floor(p.timestampMs / 2 ** 32));
  v.setUint32(TIMESTAMP_OFFSET + 2, p.timestampMs % 2 ** 32);
  v.setUint32(COUNTER_OFFSET, p.counter);
  const signature = ed.sign(offlineCodeSigningMessage(signed), p.phoneSecretKey);
  const text = layout.prefix + toBase64url(concatBytes(signed, signature));
  assert(text.length === layout.textLength, 'offline code text has the wrong length');
  return text;
}

/**
 * Parses the text of an offline QR code (already known to start with OFFLINE_QR_PREFIX and to be
 * trimmed). Checks structure only, no signature. Never throws.
 */
export function parseOfflineQrText(text: string): { ok: true; code: DecodedOfflineQr } | { ok: false; detail: string } {
  const version = text.startsWith(OFFLINE_QR_V2_PREFIX) ? 2 : 1;
  const layout = LAYOUT[version];
  if (text.length !== layout.textLength) return { ok: false, detail: `offline code must be ${layout.textLength} characters, got ${text.length}` };
  const bytes = fromBase64url(text.slice(layout.prefix.length));
  if (bytes === undefined) return { ok: false, detail: 'offline code is not canonical base64url' };
  if (bytes.length !== layout.bytes) return { ok: false, detail: `offline code must be ${layout.bytes} bytes, got ${bytes.length}` };
  if (bytes[0] !== version) return { ok: false, detail: `unsupported offline code version ${bytes[0]}` };
  const credentialBytes = bytes.slice(1, 1 + CREDENTIAL_BYTES);
  const credential = parseCredential(credentialBytes);
  if (!credential.ok) return { ok: false, detail: `offline code credential: ${credential.detail}` };
  const signedBytes = bytes.slice(0, layout.signed);
  const { timestampMs, counter, amountCap } = readSignedFields(signedBytes);
  return {
    ok: true,
    code: {
      kind: 'offline-qr',
      text,
      credentialBytes,
      credential: credential.credential,
      timestampMs,
      counter,
      amountCap,
      signedBytes,
      signature: bytes.slice(layout.signed),
    },
  };
}

/** The signed length of a code of this version byte; undefined for an unknown version. */
export function offlineSignedLength(version: number | undefined): number | undefined {
  return version === 1 || version === 2 ? LAYOUT[version].signed : undefined;
}

/** Reads the timestamp, counter and (v2) amount cap out of the signed bytes (length checked by the caller). */
export function readSignedFields(signedBytes: Uint8Array): { timestampMs: number; counter: number; amountCap: number | null } {
  const v = new DataView(signedBytes.buffer, signedBytes.byteOffset, signedBytes.byteLength);
  return {
    timestampMs: v.getUint16(TIMESTAMP_OFFSET) * 2 ** 32 + v.getUint32(TIMESTAMP_OFFSET + 2),
    counter: v.getUint32(COUNTER_OFFSET),
    amountCap: signedBytes[0] === 2 ? v.getUint32(CAP_OFFSET) : null,
  };
}
