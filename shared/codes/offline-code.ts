// SPDX-License-Identifier: Apache-2.0
// Offline code, QR form (claims 2 and 3): made and signed on the phone with the key its credential
// certifies, so a kiosk can check it with nothing but the issuer's public keys. Bytes v1:
//   [0] version = 1, [1..136] credential, [137..142] timestamp ms uint48, [143..146] counter uint32,
//   [147..210] phone Ed25519 signature over utf8("kioskpay/offline-code/v1\0") ++ bytes[0..146].
// Text: "KP1." + base64url(211 bytes), 286 characters, no padding, no CR/LF.
// Bytes v2 add the shopper's amount cap (the most a kiosk may claim for this code), signed:
//   [0] version = 2, [1..146] as v1, [147..150] amount cap uint32 minor units (credential currency),
//   [151..214] phone signature over utf8("kioskpay/offline-code/v2\0") ++ bytes[0..150].
// Text: "KP2." + base64url(215 bytes), 291 characters.
// Version 3 (what wallets make): the v2 information as 509 digits, "33" + a 507-digit number
// (offline-code-digits.ts), so the QR code is version 10 at ECC M. The phone signs
// utf8("kioskpay/offline-code/v3\0") ++ [3] ++ credential ++ timestamp ++ counter ++ cap flag (0|1)
// ++ cap uint32 (0 when absent): 152 bytes. Verifiers accept all three. docs/codes.md specifies them.
import { assert } from '../assert.ts';
import { bytesEqual, concatBytes, fromBase64url, toBase64url, utf8 } from '../bytes.ts';
import { ED25519_SECRET_KEY_BYTES, ED25519_SEED_BYTES, type Ed25519 } from '../crypto/ed25519.ts';
import { CREDENTIAL_BYTES, parseCredential, type OfflineCredential } from './credential.ts';
import {
  OFFLINE_CODE_V3_SIGNED_BYTES,
  OFFLINE_QR_V3_NUMBER_DIGITS,
  OFFLINE_QR_V3_PREFIX,
  OFFLINE_QR_V3_TEXT_LENGTH,
  packV3Number,
  unpackV3Number,
} from './offline-code-digits.ts';

export { OFFLINE_CODE_V3_SIGNED_BYTES, OFFLINE_QR_V3_PREFIX, OFFLINE_QR_V3_TEXT_LENGTH } from './offline-code-digits.ts';

export type OfflineCodeVersion = 1 | 2 | 3;
/** The version wallets make. Verifiers accept every version in OFFLINE_CODE_VERSIONS. */
export const OFFLINE_CODE_VERSION_CURRENT: OfflineCodeVersion = 3;
export const OFFLINE_CODE_VERSIONS: readonly OfflineCodeVersion[] = [1, 2, 3];

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

/** Version 3: the v2 information in digits, with a cap flag. */
export const OFFLINE_CODE_V3_SIGNATURE_DOMAIN = 'kioskpay/offline-code/v3\0';
const DOMAIN_V3_BYTES = utf8(OFFLINE_CODE_V3_SIGNATURE_DOMAIN);

/** Signed length and signing domain per version. */
const SIGNED = {
  1: { length: OFFLINE_CODE_SIGNED_BYTES, domain: DOMAIN_BYTES },
  2: { length: OFFLINE_CODE_V2_SIGNED_BYTES, domain: DOMAIN_V2_BYTES },
  3: { length: OFFLINE_CODE_V3_SIGNED_BYTES, domain: DOMAIN_V3_BYTES },
} as const;
/** The base64url forms: whole length, text length, prefix. */
const BASE64_LAYOUT = {
  1: { bytes: OFFLINE_CODE_BYTES, textLength: OFFLINE_QR_TEXT_LENGTH, prefix: OFFLINE_QR_PREFIX },
  2: { bytes: OFFLINE_CODE_V2_BYTES, textLength: OFFLINE_QR_V2_TEXT_LENGTH, prefix: OFFLINE_QR_V2_PREFIX },
} as const;

const TIMESTAMP_OFFSET = 1 + CREDENTIAL_BYTES; // 137
const COUNTER_OFFSET = TIMESTAMP_OFFSET + 6; // 143
const CAP_OFFSET = OFFLINE_CODE_SIGNED_BYTES; // 147 (v2: the cap; v3: the cap flag, then the cap at 148)
const UINT48_MAX = 2 ** 48 - 1;
const UINT32_MAX = 0xffff_ffff;

export interface DecodedOfflineQr {
  kind: 'offline-qr';
  /** 1 ("KP1."), 2 ("KP2.") or 3 (509 digits starting "33"). */
  version: OfflineCodeVersion;
  /** The code text as decoded (surrounding whitespace removed). */
  text: string;
  /** The 136 credential bytes exactly as the issuer signed them. */
  credentialBytes: Uint8Array;
  credential: OfflineCredential;
  /** The phone's clock when it made the code, Unix ms. */
  timestampMs: number;
  counter: number;
  /** Versions 2 and 3: the most a kiosk may claim, minor units of the credential's currency; null when there is none. */
  amountCap: number | null;
  /** What the phone signed, after the domain string (see offlineCodeSigningMessage): v1 147 bytes, v2 151, v3 152. */
  signedBytes: Uint8Array;
  /** The phone's 64-byte signature. */
  signature: Uint8Array;
}

const isVersion = (v: number | undefined): v is OfflineCodeVersion => v === 1 || v === 2 || v === 3;

/** The message the phone signs: the domain string of the code's version, then the signed bytes. */
export function offlineCodeSigningMessage(signedBytes: Uint8Array): Uint8Array {
  const v = signedBytes[0];
  const domain = isVersion(v) && signedBytes.length === SIGNED[v].length ? SIGNED[v].domain : DOMAIN_BYTES;
  return concatBytes(domain, signedBytes);
}

/**
 * Makes the QR text of an offline code. `version` defaults to OFFLINE_CODE_VERSION_CURRENT (3); a
 * cap is optional in version 3, required in version 2 and impossible in version 1. Throws
 * (programmer error) on out-of-range input.
 */
export function makeOfflineCode(
  p: {
    credential: Uint8Array;
    timestampMs: number;
    counter: number;
    phoneSecretKey: Uint8Array;
    amountCap?: number | undefined;
    version?: OfflineCodeVersion | undefined;
  },
  ed: Ed25519,
): string {
  const credential = parseCredential(p.credential);
  assert(credential.ok, `offline code needs a well-formed credential: ${credential.ok ? '' : credential.detail}`);
  assert(
    p.phoneSecretKey instanceof Uint8Array && p.phoneSecretKey.length === ED25519_SECRET_KEY_BYTES,
    'phone secret key must be 64 bytes',
  );
  // A code signed by any other key is one the kiosk will decline; catch it here.
  assert(
    bytesEqual(p.phoneSecretKey.subarray(ED25519_SEED_BYTES), credential.credential.publicKey),
    'phone secret key is not the key the credential certifies',
  );
  assert(
    Number.isSafeInteger(p.timestampMs) && p.timestampMs >= 0 && p.timestampMs <= UINT48_MAX,
    'timestampMs must be an integer in uint48',
  );
  assert(Number.isSafeInteger(p.counter) && p.counter >= 0 && p.counter <= UINT32_MAX, 'counter must be an integer in uint32');
  const version = p.version ?? OFFLINE_CODE_VERSION_CURRENT;
  assert(isVersion(version), 'version must be 1, 2 or 3');
  assert(version !== 1 || p.amountCap === undefined, 'version 1 has no amount cap');
  assert(version !== 2 || p.amountCap !== undefined, 'version 2 needs an amount cap');
  if (p.amountCap !== undefined)
    assert(Number.isSafeInteger(p.amountCap) && p.amountCap >= 0 && p.amountCap <= UINT32_MAX, 'amountCap must be an integer in uint32');

  const signed = new Uint8Array(SIGNED[version].length);
  const v = new DataView(signed.buffer);
  signed[0] = version;
  signed.set(p.credential, 1);
  v.setUint16(TIMESTAMP_OFFSET, Math.floor(p.timestampMs / 2 ** 32));
  v.setUint32(TIMESTAMP_OFFSET + 2, p.timestampMs % 2 ** 32);
  v.setUint32(COUNTER_OFFSET, p.counter);
  if (version === 2) v.setUint32(CAP_OFFSET, p.amountCap!);
  if (version === 3 && p.amountCap !== undefined) {
    signed[CAP_OFFSET] = 1;
    v.setUint32(CAP_OFFSET + 1, p.amountCap);
  }
  const signature = ed.sign(offlineCodeSigningMessage(signed), p.phoneSecretKey);
  if (version === 3) {
    const text = OFFLINE_QR_V3_PREFIX + packV3Number(signed, signature);
    assert(text.length === OFFLINE_QR_V3_TEXT_LENGTH, 'offline code text has the wrong length');
    return text;
  }
  const layout = BASE64_LAYOUT[version];
  const text = layout.prefix + toBase64url(concatBytes(signed, signature));
  assert(text.length === layout.textLength, 'offline code text has the wrong length');
  return text;
}

type Parsed = { ok: true; code: DecodedOfflineQr } | { ok: false; detail: string };

/**
 * Parses the text of an offline QR code: "KP1." or "KP2." and base64url, or (version 3) 509 ASCII
 * digits starting "33". The text is already trimmed and, for version 3, free of separators
 * (decode.ts). Checks structure only, no signature. Never throws.
 */
export function parseOfflineQrText(text: string): Parsed {
  if (text.startsWith(OFFLINE_QR_V3_PREFIX)) return parseDigitsText(text);
  const version = text.startsWith(OFFLINE_QR_V2_PREFIX) ? 2 : 1;
  const layout = BASE64_LAYOUT[version];
  if (text.length !== layout.textLength)
    return { ok: false, detail: `offline code must be ${layout.textLength} characters, got ${text.length}` };
  const bytes = fromBase64url(text.slice(layout.prefix.length));
  if (bytes === undefined) return { ok: false, detail: 'offline code is not canonical base64url' };
  if (bytes.length !== layout.bytes) return { ok: false, detail: `offline code must be ${layout.bytes} bytes, got ${bytes.length}` };
  if (bytes[0] !== version) return { ok: false, detail: `unsupported offline code version ${bytes[0]}` };
  const signedLength = SIGNED[version].length;
  return decoded(version, text, bytes.slice(0, signedLength), bytes.slice(signedLength));
}

function parseDigitsText(text: string): Parsed {
  if (text.length !== OFFLINE_QR_V3_TEXT_LENGTH)
    return { ok: false, detail: `offline code must be ${OFFLINE_QR_V3_TEXT_LENGTH} digits, got ${text.length}` };
  const digits = text.slice(OFFLINE_QR_V3_PREFIX.length);
  if (!/^[0-9]+$/.test(digits) || digits.length !== OFFLINE_QR_V3_NUMBER_DIGITS) return { ok: false, detail: 'offline code is not digits' };
  const parts = unpackV3Number(digits);
  if (!parts.ok) return parts;
  return decoded(3, text, parts.signed, parts.signature);
}

function decoded(version: OfflineCodeVersion, text: string, signedBytes: Uint8Array, signature: Uint8Array): Parsed {
  const credentialBytes = signedBytes.slice(1, 1 + CREDENTIAL_BYTES);
  const credential = parseCredential(credentialBytes);
  if (!credential.ok) return { ok: false, detail: `offline code credential: ${credential.detail}` };
  const { timestampMs, counter, amountCap } = readSignedFields(signedBytes);
  return {
    ok: true,
    code: {
      kind: 'offline-qr',
      version,
      text,
      credentialBytes,
      credential: credential.credential,
      timestampMs,
      counter,
      amountCap,
      signedBytes,
      signature,
    },
  };
}

/** The signed length of a code of this version byte; undefined for an unknown version. */
export function offlineSignedLength(version: number | undefined): number | undefined {
  return isVersion(version) ? SIGNED[version].length : undefined;
}

/**
 * True when signed bytes have their version's length and (version 3) a cap flag of 0 or 1 with a
 * zero cap when the flag is 0: the only forms a code text can carry.
 */
export function offlineSignedBytesWellFormed(signed: Uint8Array): boolean {
  if (!(signed instanceof Uint8Array) || signed.length !== offlineSignedLength(signed[0])) return false;
  if (signed[0] !== 3) return true;
  const flag = signed[CAP_OFFSET];
  return flag === 1 || (flag === 0 && signed.subarray(CAP_OFFSET + 1).every((b) => b === 0));
}

/** Reads the timestamp, counter and (v2, v3) amount cap out of the signed bytes (length checked by the caller). */
export function readSignedFields(signedBytes: Uint8Array): { timestampMs: number; counter: number; amountCap: number | null } {
  const v = new DataView(signedBytes.buffer, signedBytes.byteOffset, signedBytes.byteLength);
  const version = signedBytes[0];
  return {
    timestampMs: v.getUint16(TIMESTAMP_OFFSET) * 2 ** 32 + v.getUint32(TIMESTAMP_OFFSET + 2),
    counter: v.getUint32(COUNTER_OFFSET),
    amountCap:
      version === 2 ? v.getUint32(CAP_OFFSET) : version === 3 && signedBytes[CAP_OFFSET] === 1 ? v.getUint32(CAP_OFFSET + 1) : null,
  };
}
