// SPDX-License-Identifier: Apache-2.0
// Deterministic keys, credentials and codes for the tests of shared/codes and test/. Not used by
// production code. Keys come from fixed seeds; the node adapter signs (fast, and byte-identical
// to the tweetnacl one, which test/vectors.test.ts proves).
import type { Ed25519KeyPair } from '../crypto/ed25519.ts';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import { signCredential, type OfflineCredential } from './credential.ts';
import { makeOfflineCode } from './offline-code.ts';

/** 2023-11-14T22:13:20Z: a fixed "now" for tests. */
export const T0_MS = 1_700_000_000_000;
export const DAY_MS = 86_400_000;
export const ISSUER_KEY_ID = 3;

export function seed(byte: number): Uint8Array {
  return new Uint8Array(32).fill(byte);
}

export interface Fixture {
  issuer: Ed25519KeyPair;
  issuerKeys: ReadonlyMap<number, Uint8Array>;
  phone: Ed25519KeyPair;
  credential: OfflineCredential;
  credentialBytes: Uint8Array;
  /** A version-1 offline QR code ("KP1.", as older wallets make it) made at T0_MS + 1 s with counter 1. */
  offlineCode: string;
  /** The same code in version 3 (509 digits, what wallets make now). */
  offlineCodeV3: string;
}

export function fixture(): Fixture {
  const issuer = nodeEd25519.keyPairFromSeed(seed(0x11));
  const phone = nodeEd25519.keyPairFromSeed(seed(0x22));
  const credential: OfflineCredential = {
    keyId: ISSUER_KEY_ID,
    credentialId: '0123456789abcdef',
    publicKey: phone.publicKey,
    accountAlias: 'a1b2c3d4e5f6',
    notBeforeMs: T0_MS - DAY_MS,
    notAfterMs: T0_MS + 7 * DAY_MS,
    limits: { currency: 'JPY', perPayment: 5_000, daily: { amount: 20_000, count: 10 }, monthly: { amount: 100_000, count: 60 } },
  };
  const credentialBytes = signCredential(credential, issuer.secretKey, nodeEd25519);
  const code = { credential: credentialBytes, timestampMs: T0_MS + 1_000, counter: 1, phoneSecretKey: phone.secretKey };
  const offlineCode = makeOfflineCode({ ...code, version: 1 }, nodeEd25519);
  const offlineCodeV3 = makeOfflineCode({ ...code, version: 3 }, nodeEd25519);
  return {
    issuer,
    issuerKeys: new Map([[ISSUER_KEY_ID, issuer.publicKey]]),
    phone,
    credential,
    credentialBytes,
    offlineCode,
    offlineCodeV3,
  };
}

/**
 * The same offline QR code text with one character changed `fromEnd` characters from its end (inside
 * the phone's signature for small values), staying in its alphabet: a digit of a version-3 code
 * becomes the next digit, a base64url character of a "KP1."/"KP2." code flips between A and B. The
 * result decodes and fails the phone signature check.
 */
export function tamperCode(code: string, fromEnd = 10): string {
  const i = code.length - fromEnd;
  const c = code[i]!;
  const changed = /[0-9]/.test(c) && /^[0-9]+$/.test(code) ? String((Number(c) + 1) % 10) : c === 'A' ? 'B' : 'A';
  return code.slice(0, i) + changed + code.slice(i + 1);
}
