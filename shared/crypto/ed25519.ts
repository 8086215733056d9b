// SPDX-License-Identifier: Apache-2.0
// Ed25519 (RFC 8032, pure Ed25519, no context) behind a port, so the server can use node:crypto
// (OpenSSL, fast, strict) and a browser or phone can use tweetnacl. Both adapters produce the same
// bytes: Ed25519 signing is deterministic. Contract tests: test/vectors.test.ts, test/wycheproof.test.ts.

export const ED25519_SEED_BYTES = 32;
export const ED25519_PUBLIC_KEY_BYTES = 32;
/** The tweetnacl form: seed (32 bytes) followed by the public key (32 bytes). */
export const ED25519_SECRET_KEY_BYTES = 64;
export const ED25519_SIGNATURE_BYTES = 64;

export interface Ed25519KeyPair {
  /** 32 bytes. */
  publicKey: Uint8Array;
  /** 64 bytes: seed || publicKey (the tweetnacl form). */
  secretKey: Uint8Array;
}

/**
 * Failure semantics:
 * - `keyPairFromSeed` and `sign` throw (programmer error) on wrong key lengths, and `sign` throws
 *   when the public half of `secretKey` is not the public key of its seed: signing one message
 *   under two public keys with the same seed would reveal the private scalar.
 * - `verify` never throws: wrong lengths, a malformed key or signature, a non-canonical S
 *   (S >= L) and a small-order public key all give false. With these checks both adapters agree on
 *   every Wycheproof vector (docs/codes.md, "Ed25519 implementations"). Still, never use signature
 *   bytes as an identity or dedupe key.
 * - Returned arrays are fresh copies the caller owns.
 */
export interface Ed25519 {
  keyPairFromSeed(seed: Uint8Array): Ed25519KeyPair;
  /** 64-byte signature of `message`. */
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean;
}

/**
 * The y-coordinates (little-endian, sign bit of x cleared) of the points of order 1, 2, 4 and 8,
 * including the non-canonical spellings p and p+1: libsodium's blocklist.
 */
const SMALL_ORDER_Y: readonly (readonly number[])[] = [
  // 0 (order 4)
  [
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  ],
  // 1 (order 1, the identity)
  [
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  ],
  // order 8
  [
    0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
    0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
  ],
  // order 8
  [
    0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
    0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
  ],
  // p-1 (order 2)
  [
    0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
  ],
  // p (= 0, order 4, non-canonical)
  [
    0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
  ],
  // p+1 (= 1, order 1, non-canonical)
  [
    0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
  ],
];

/**
 * True when a 32-byte public key encodes a point of small order (1, 2, 4 or 8). RFC 8032 verifiers
 * (OpenSSL and tweetnacl alike) accept signatures under such a key that ANYONE can forge without a
 * private key, so a small-order key binds nobody to anything. Both adapters' `verify` reject them,
 * and the issuer must never certify one (signCredential asserts it).
 */
export function isSmallOrderPublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return false;
  for (const y of SMALL_ORDER_Y) {
    let diff = (publicKey[31]! & 0x7f) ^ y[31]!;
    for (let i = 0; i < 31; i++) diff |= publicKey[i]! ^ y[i]!;
    if (diff === 0) return true;
  }
  return false;
}

/** L, the order of the Ed25519 base point, little-endian. */
const GROUP_ORDER_LE = [
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
] as const;

/**
 * True when the S half of a 64-byte signature is reduced, 0 <= S < L, as RFC 8032, section 5.1.7
 * requires. OpenSSL checks this; tweetnacl does not, and so accepts S + L, S + 2L, ... for the same
 * message (malleability). The tweetnacl adapter checks it first, so that a kiosk and the server
 * never disagree about an offline code.
 */
export function hasCanonicalS(signature: Uint8Array): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i]!,
      l = GROUP_ORDER_LE[i]!;
    if (s !== l) return s < l;
  }
  return false; // S == L
}
