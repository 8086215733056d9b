// SPDX-License-Identifier: Apache-2.0
// Ed25519 over tweetnacl: pure JavaScript, runs in browsers and phones. Slow (tens of milliseconds
// per verification here). tweetnacl alone accepts a few malleable signatures that node:crypto
// rejects (S >= L; docs/codes.md, "Ed25519 implementations"): this adapter checks S < L and
// small-order keys first, so it agrees with nodeEd25519 on all Wycheproof vectors. Signatures are
// byte-identical to node's.
import nacl from 'tweetnacl';
import { assert } from '../assert.ts';
import { bytesEqual } from '../bytes.ts';
import {
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SECRET_KEY_BYTES,
  ED25519_SEED_BYTES,
  ED25519_SIGNATURE_BYTES,
  hasCanonicalS,
  isSmallOrderPublicKey,
  type Ed25519,
  type Ed25519KeyPair,
} from './ed25519.ts';

/**
 * Secret keys whose public half was checked against the seed, each with a copy of the bytes that
 * were checked (a caller may overwrite its array). Deriving the public key costs as much as signing
 * in tweetnacl, so keys from keyPairFromSeed are registered here at birth. A WeakMap keeps no key
 * alive longer than its owner does.
 */
const checkedSecretKeys = new WeakMap<Uint8Array, Uint8Array>();

function checkSecretKey(secretKey: Uint8Array): void {
  const checked = checkedSecretKeys.get(secretKey);
  if (checked && bytesEqual(checked, secretKey)) return;
  const derived = nacl.sign.keyPair.fromSeed(secretKey.slice(0, ED25519_SEED_BYTES)).publicKey;
  assert(bytesEqual(derived, secretKey.subarray(ED25519_SEED_BYTES)), 'Ed25519 secret key: public half does not match the seed');
  checkedSecretKeys.set(secretKey, secretKey.slice());
}

export const naclEd25519: Ed25519 = {
  keyPairFromSeed(seed: Uint8Array): Ed25519KeyPair {
    assert(seed instanceof Uint8Array && seed.length === ED25519_SEED_BYTES, 'Ed25519 seed must be 32 bytes');
    const kp = nacl.sign.keyPair.fromSeed(seed);
    const pair = { publicKey: kp.publicKey.slice(), secretKey: kp.secretKey.slice() };
    checkedSecretKeys.set(pair.secretKey, pair.secretKey.slice());
    return pair;
  },

  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
    assert(message instanceof Uint8Array, 'message must be a Uint8Array');
    assert(secretKey instanceof Uint8Array && secretKey.length === ED25519_SECRET_KEY_BYTES, 'Ed25519 secret key must be 64 bytes');
    checkSecretKey(secretKey);
    return nacl.sign.detached(message, secretKey).slice();
  },

  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
    if (!(message instanceof Uint8Array) || !(signature instanceof Uint8Array) || !(publicKey instanceof Uint8Array)) return false;
    if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return false;
    if (isSmallOrderPublicKey(publicKey) || !hasCanonicalS(signature)) return false;
    try {
      return nacl.sign.detached.verify(message, signature, publicKey);
    } catch {
      return false;
    }
  },
};
