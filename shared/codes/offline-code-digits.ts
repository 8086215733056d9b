// SPDX-License-Identifier: Apache-2.0
// Offline QR code version 3: the same information as version 2, written as one decimal number so
// that a QR code holds it in numeric mode (10 bits for 3 digits, about 8.03 bits a byte of data,
// where version 1 and 2 cost 10.67 bits a byte as base64url in byte mode). The text is "33" and 507
// digits, 509 in all: QR version 10 at error correction M (docs/codes.md, section 6.2).
//
// The number packs the fields in mixed radix, first field most significant:
//   A    credential bytes 1..55 (key id, credential id, phone key, alias, notBefore, notAfter)  2^440
//   cur  currency index (JPY 0, USD 1, EUR 2)                                                   3
//   B    credential bytes 58..103 (the four limits, the issuer signature's R)                   2^368
//   S1   the issuer signature's S (credential bytes 104..135, little-endian)                     L
//   C    timestamp (uint48 ms) and counter (uint32), 10 bytes                                    2^80
//   cap  0 for no cap, else the cap + 1                                                         2^32 + 1
//   R2   the phone signature's R                                                                2^256
//   S2   the phone signature's S (little-endian)                                                 L
// N = ((((((A·3 + cur)·2^368 + B)·L + S1)·2^80 + C)·(2^32+1) + cap)·2^256 + R2)·L + S2, with L the
// Ed25519 group order. Byte strings are read big-endian, except S, which RFC 8032 stores
// little-endian. Every field is below its radix, so N is below their product (about 10^506.2) and
// each code has exactly one text. The credential's version byte (1) and the code's version are not
// written: the prefix says them. S < L is part of the format: a signature with S >= L (which every
// verifier refuses anyway) cannot be written at all.
import { assert } from '../assert.ts';
import { concatBytes, fromHex, toHex } from '../bytes.ts';
import { CREDENTIAL_BYTES, CREDENTIAL_VERSION } from './credential.ts';

export const OFFLINE_QR_V3_PREFIX = '33';
/** Digits of the number after the prefix. */
export const OFFLINE_QR_V3_NUMBER_DIGITS = 507;
export const OFFLINE_QR_V3_TEXT_LENGTH = OFFLINE_QR_V3_PREFIX.length + OFFLINE_QR_V3_NUMBER_DIGITS; // 509
/** What the phone signs after the domain string: version 3, credential, timestamp, counter, cap flag, cap. */
export const OFFLINE_CODE_V3_SIGNED_BYTES = 152;
const SIGNATURE_BYTES = 64;

/** The Ed25519 group order: S of a valid signature is below it (RFC 8032, section 5.1.7). */
export const ED25519_GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;
/** ISO 4217 numeric codes a credential may carry, in the order of their index in the number. */
export const V3_CURRENCIES: readonly number[] = [392, 840, 978];

const CAP_NONE = 0n;
const CAP_RADIX = 2n ** 32n + 1n;
/** Offsets in the signed bytes: [0] version, [1..136] credential, then the code's own fields. */
const CRED = 1;
const TIME_AND_COUNTER = CRED + CREDENTIAL_BYTES; // 137
const CAP_FLAG = TIME_AND_COUNTER + 10; // 147
const CAP = CAP_FLAG + 1; // 148

const beToBig = (b: Uint8Array): bigint => (b.length === 0 ? 0n : BigInt('0x' + toHex(b)));
const leToBig = (b: Uint8Array): bigint => beToBig(b.slice().reverse());
function bigToBe(n: bigint, bytes: number): Uint8Array {
  const out = fromHex(n.toString(16).padStart(bytes * 2, '0'));
  assert(out !== undefined && out.length === bytes, 'number does not fit its bytes');
  return out;
}
const bigToLe = (n: bigint, bytes: number): Uint8Array => bigToBe(n, bytes).reverse();

/** Radices of the fields, most significant first (the table above). */
const RADICES: readonly bigint[] = [2n ** 440n, 3n, 2n ** 368n, ED25519_GROUP_ORDER, 2n ** 80n, CAP_RADIX, 2n ** 256n, ED25519_GROUP_ORDER];

/**
 * The 507 digits of a version-3 code from its signed bytes (152) and the phone's signature (64).
 * Throws (programmer error) when something cannot be written: a wrong length or version, an unknown
 * currency, a cap flag other than 0 or 1, or an S that is not below L.
 */
export function packV3Number(signed: Uint8Array, signature: Uint8Array): string {
  assert(signed.length === OFFLINE_CODE_V3_SIGNED_BYTES && signed[0] === 3, 'version-3 signed bytes are 152 bytes starting with 3');
  assert(signature.length === SIGNATURE_BYTES, 'signature must be 64 bytes');
  assert(signed[CRED] === CREDENTIAL_VERSION, 'credential version must be 1');
  const currency = V3_CURRENCIES.indexOf((signed[CRED + 56]! << 8) | signed[CRED + 57]!);
  assert(currency >= 0, 'credential currency has no version-3 index');
  const flag = signed[CAP_FLAG];
  assert(flag === 0 || flag === 1, 'cap flag must be 0 or 1');
  const capValue = beToBig(signed.subarray(CAP, CAP + 4));
  assert(flag === 1 || capValue === 0n, 'an absent cap must be written as zero');
  const fields = [
    beToBig(signed.subarray(CRED + 1, CRED + 56)),
    BigInt(currency),
    beToBig(signed.subarray(CRED + 58, CRED + 104)),
    leToBig(signed.subarray(CRED + 104, CRED + CREDENTIAL_BYTES)),
    beToBig(signed.subarray(TIME_AND_COUNTER, CAP_FLAG)),
    flag === 1 ? capValue + 1n : CAP_NONE,
    beToBig(signature.subarray(0, 32)),
    leToBig(signature.subarray(32, 64)),
  ];
  let n = 0n;
  fields.forEach((f, i) => {
    assert(
      f < RADICES[i]!,
      i === 3
        ? "the credential's issuer signature has S >= L: not a valid signature"
        : i === 7
          ? 'the phone signature has S >= L'
          : 'field out of range',
    );
    n = n * RADICES[i]! + f;
  });
  const digits = n.toString(10).padStart(OFFLINE_QR_V3_NUMBER_DIGITS, '0');
  assert(digits.length === OFFLINE_QR_V3_NUMBER_DIGITS, 'version-3 number has too many digits');
  return digits;
}

/**
 * The signed bytes and signature written in a version-3 number (exactly 507 ASCII digits, checked
 * by the caller). Never throws; a number at or above the product of the radices is refused, so no
 * two texts give the same code.
 */
export function unpackV3Number(digits: string): { ok: true; signed: Uint8Array; signature: Uint8Array } | { ok: false; detail: string } {
  let n = BigInt(digits);
  const fields: bigint[] = new Array<bigint>(RADICES.length);
  for (let i = RADICES.length - 1; i >= 0; i--) {
    fields[i] = n % RADICES[i]!;
    n /= RADICES[i]!;
  }
  if (n !== 0n) return { ok: false, detail: 'offline code number is out of range' };
  const [a, currency, b, s1, c, cap, r2, s2] = fields as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  const numeric = V3_CURRENCIES[Number(currency)]!;
  const credential = concatBytes(
    Uint8Array.of(CREDENTIAL_VERSION),
    bigToBe(a, 55),
    Uint8Array.of(numeric >> 8, numeric & 0xff),
    bigToBe(b, 46),
    bigToLe(s1, 32),
  );
  const signed = concatBytes(
    Uint8Array.of(3),
    credential,
    bigToBe(c, 10),
    Uint8Array.of(cap === CAP_NONE ? 0 : 1),
    bigToBe(cap === CAP_NONE ? 0n : cap - 1n, 4),
  );
  return { ok: true, signed, signature: concatBytes(bigToBe(r2, 32), bigToLe(s2, 32)) };
}
