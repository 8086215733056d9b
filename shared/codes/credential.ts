// SPDX-License-Identifier: Apache-2.0
// The offline credential (the patent's "offline key"): the server certifies a phone's Ed25519
// public key with its validity period and offline limits. 136 bytes, layout v1 (big-endian):
//   [0]       version = 1             [52..55]  notAfter, uint32 Unix seconds
//   [1]       issuer key id           [56..57]  currency, ISO 4217 numeric
//   [2..9]    credential id           [58..61]  per-payment limit, uint32 minor units
//   [10..41]  phone public key        [62..65]  daily amount limit, uint32 minor units
//   [42..47]  account alias           [66]      daily count limit, uint8
//   [48..51]  notBefore, uint32 s     [67..70]  monthly amount limit, uint32   [71] monthly count, uint8
//   [72..135] issuer Ed25519 signature over utf8("kioskpay/credential/v1\0") ++ bytes[0..71]
// docs/codes.md is the full specification.
import { assert } from '../assert.ts';
import { bytesEqual, concatBytes, fromHex, toHex, utf8 } from '../bytes.ts';
import { ED25519_PUBLIC_KEY_BYTES, isSmallOrderPublicKey, type Ed25519 } from '../crypto/ed25519.ts';
import { CURRENCY_NUMERIC, currencyFromNumeric, isCurrency } from '../money.ts';
import type { OfflineLimits } from '../wallet-messages.ts';

export const CREDENTIAL_VERSION = 1;
export const CREDENTIAL_BYTES = 136;
/** The signed part: everything before the signature. */
export const CREDENTIAL_BODY_BYTES = 72;
/** Domain separation: an issuer signature over a credential can never pass for any other message. */
export const CREDENTIAL_SIGNATURE_DOMAIN = 'kioskpay/credential/v1\0';
const DOMAIN_BYTES = utf8(CREDENTIAL_SIGNATURE_DOMAIN);

const UINT32_MAX = 0xffff_ffff;
const CREDENTIAL_ID = /^[0-9a-f]{16}$/;
const ACCOUNT_ALIAS = /^[0-9a-f]{12}$/;

export interface OfflineCredential {
  /** Issuer key id, 0..255. */
  keyId: number;
  /** 16 lowercase hex characters (8 random bytes). */
  credentialId: string;
  /** The phone's Ed25519 public key, 32 bytes. */
  publicKey: Uint8Array;
  /** 12 lowercase hex characters (6 bytes, server-assigned, not personal data). */
  accountAlias: string;
  /** Whole seconds * 1000 (encoded as uint32 Unix seconds). */
  notBeforeMs: number;
  notAfterMs: number;
  limits: OfflineLimits;
}

export type ParsedCredential =
  | { ok: true; credential: OfflineCredential; body: Uint8Array; signature: Uint8Array }
  | { ok: false; detail: string };

const isUint = (x: unknown, max: number): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 && x <= max;
const isWholeSecondsMs = (x: unknown): x is number => isUint(x, UINT32_MAX * 1000) && x % 1000 === 0;

/** The 72 signed bytes. Throws (programmer error) when a field is out of range. */
export function encodeCredentialBody(c: OfflineCredential): Uint8Array {
  assert(isUint(c.keyId, 255), 'credential keyId must be an integer in [0, 255]');
  assert(typeof c.credentialId === 'string' && CREDENTIAL_ID.test(c.credentialId), 'credentialId must be 16 lowercase hex characters');
  assert(c.publicKey instanceof Uint8Array && c.publicKey.length === ED25519_PUBLIC_KEY_BYTES, 'credential publicKey must be 32 bytes');
  assert(!isSmallOrderPublicKey(c.publicKey), 'credential publicKey is a small-order point: anyone could sign for it');
  assert(typeof c.accountAlias === 'string' && ACCOUNT_ALIAS.test(c.accountAlias), 'accountAlias must be 12 lowercase hex characters');
  assert(isWholeSecondsMs(c.notBeforeMs), 'notBeforeMs must be whole seconds within uint32 seconds');
  assert(isWholeSecondsMs(c.notAfterMs), 'notAfterMs must be whole seconds within uint32 seconds');
  assert(c.notBeforeMs <= c.notAfterMs, 'notBeforeMs must not be after notAfterMs');
  const l = c.limits;
  assert(isCurrency(l.currency), 'limits.currency must be a supported currency');
  assert(isUint(l.perPayment, UINT32_MAX), 'limits.perPayment must fit uint32');
  assert(isUint(l.daily.amount, UINT32_MAX) && isUint(l.daily.count, 255), 'limits.daily must be uint32 amount and uint8 count');
  assert(isUint(l.monthly.amount, UINT32_MAX) && isUint(l.monthly.count, 255), 'limits.monthly must be uint32 amount and uint8 count');

  const body = new Uint8Array(CREDENTIAL_BODY_BYTES);
  const v = new DataView(body.buffer);
  body[0] = CREDENTIAL_VERSION;
  body[1] = c.keyId;
  body.set(fromHex(c.credentialId)!, 2);
  body.set(c.publicKey, 10);
  body.set(fromHex(c.accountAlias)!, 42);
  v.setUint32(48, c.notBeforeMs / 1000);
  v.setUint32(52, c.notAfterMs / 1000);
  v.setUint16(56, CURRENCY_NUMERIC[l.currency]);
  v.setUint32(58, l.perPayment);
  v.setUint32(62, l.daily.amount);
  body[66] = l.daily.count;
  v.setUint32(67, l.monthly.amount);
  body[71] = l.monthly.count;
  return body;
}

/** The message the issuer signs: the domain string, then the 72-byte body. */
export function credentialSigningMessage(body: Uint8Array): Uint8Array {
  return concatBytes(DOMAIN_BYTES, body);
}

/** Encodes and signs a credential: 136 bytes. Throws (programmer error) when a field is out of range. */
export function signCredential(c: OfflineCredential, issuerSecretKey: Uint8Array, ed: Ed25519): Uint8Array {
  const body = encodeCredentialBody(c);
  const bytes = concatBytes(body, ed.sign(credentialSigningMessage(body), issuerSecretKey));
  // The encoding must read back as exactly what was asked for.
  const back = parseCredential(bytes);
  assert(back.ok && sameCredential(back.credential, c), 'credential does not round-trip through its encoding');
  return bytes;
}

/** Reads a credential's fields. Never throws; checks structure only, not the signature. */
export function parseCredential(bytes: Uint8Array): ParsedCredential {
  if (!(bytes instanceof Uint8Array)) return { ok: false, detail: 'credential is not bytes' };
  if (bytes.length !== CREDENTIAL_BYTES) return { ok: false, detail: `credential must be ${CREDENTIAL_BYTES} bytes, got ${bytes.length}` };
  if (bytes[0] !== CREDENTIAL_VERSION) return { ok: false, detail: `unsupported credential version ${bytes[0]}` };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const currencyNumeric = v.getUint16(56);
  const currency = currencyFromNumeric(currencyNumeric);
  if (currency === undefined) return { ok: false, detail: `unsupported credential currency ${currencyNumeric}` };
  const notBeforeMs = v.getUint32(48) * 1000;
  const notAfterMs = v.getUint32(52) * 1000;
  if (notBeforeMs > notAfterMs) return { ok: false, detail: 'credential notBefore is after notAfter' };
  const credential: OfflineCredential = {
    keyId: bytes[1]!,
    credentialId: toHex(bytes.subarray(2, 10)),
    publicKey: bytes.slice(10, 42),
    accountAlias: toHex(bytes.subarray(42, 48)),
    notBeforeMs,
    notAfterMs,
    limits: {
      currency,
      perPayment: v.getUint32(58),
      daily: { amount: v.getUint32(62), count: bytes[66]! },
      monthly: { amount: v.getUint32(67), count: bytes[71]! },
    },
  };
  return { ok: true, credential, body: bytes.slice(0, CREDENTIAL_BODY_BYTES), signature: bytes.slice(CREDENTIAL_BODY_BYTES) };
}

/** True when the credential parses and its signature verifies under the issuer key its keyId names. Never throws. */
export function verifyCredential(bytes: Uint8Array, issuerKeys: ReadonlyMap<number, Uint8Array>, ed: Ed25519): boolean {
  const parsed = parseCredential(bytes);
  if (!parsed.ok) return false;
  const issuerKey = issuerKeys.get(parsed.credential.keyId);
  if (issuerKey === undefined) return false;
  return ed.verify(credentialSigningMessage(parsed.body), parsed.signature, issuerKey);
}

/** Field-by-field equality of two credentials. */
export function sameCredential(a: OfflineCredential, b: OfflineCredential): boolean {
  return (
    a.keyId === b.keyId &&
    a.credentialId === b.credentialId &&
    bytesEqual(a.publicKey, b.publicKey) &&
    a.accountAlias === b.accountAlias &&
    a.notBeforeMs === b.notBeforeMs &&
    a.notAfterMs === b.notAfterMs &&
    a.limits.currency === b.limits.currency &&
    a.limits.perPayment === b.limits.perPayment &&
    a.limits.daily.amount === b.limits.daily.amount &&
    a.limits.daily.count === b.limits.daily.count &&
    a.limits.monthly.amount === b.limits.monthly.amount &&
    a.limits.monthly.count === b.limits.monthly.count
  );
}
