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
  /** An offline QR code made at T0_MS + 1 s with counter 1. */
  offlineCode: string;
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
  const offlineCode = makeOfflineCode({ credential: credentialBytes, timestampMs: T0_MS + 1_000, counter: 1, phoneSecretKey: phone.secretKey }, nodeEd25519);
  return { issuer, issuerKeys: new Map([[ISSUER_KEY_ID, issuer.publicKey]]), phone, credential, credentialBytes, offlineCode };
}
