// SPDX-License-Identifier: Apache-2.0
// Ed25519 over node:crypto (OpenSSL): strict (rejects non-canonical S, passes all Wycheproof
// vectors) and fast. Node only; browsers use ed25519-nacl.ts.
import { createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { assert } from '../assert.ts';
import { bytesEqual, fromBase64url, toBase64url } from '../bytes.ts';
import {
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SECRET_KEY_BYTES,
  ED25519_SEED_BYTES,
  ED25519_SIGNATURE_BYTES,
  isSmallOrderPublicKey,
  type Ed25519,
  type Ed25519KeyPair,
} from './ed25519.ts';

/** Public KeyObjects kept for reuse: importing a key costs about as much as half a verification. */
export const PUBLIC_KEY_CACHE_ENTRIES_MAX = 4096;
const publicKeyCache = new Map<string, KeyObject>();

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const x = toBase64url(publicKey);
  const hit = publicKeyCache.get(x);
  if (hit) {
    // Re-insert so the Map's insertion order is recency order (least recently used first).
    publicKeyCache.delete(x);
    publicKeyCache.set(x, hit);
    return hit;
  }
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  if (publicKeyCache.size >= PUBLIC_KEY_CACHE_ENTRIES_MAX) publicKeyCache.delete(publicKeyCache.keys().next().value!);
  publicKeyCache.set(x, key);
  return key;
}

/** PKCS#8 DER of an Ed25519 private key up to its 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * Imports a private key from its seed alone. (JWK import needs the public `x` as well, and Node 26
 * rejects a JWK whose `x` is not the seed's public key, so a placeholder no longer serves.)
 */
function privateKeyObject(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/**
 * Private KeyObjects of the secret keys that signed before, keyed by the secret key's own array (a
 * signer signs again and again with one key, and importing it plus checking its public half costs
 * about three signatures). Weak: the entry goes when the caller drops the key. A copy of the bytes
 * it was made from guards against a caller that changed the array since.
 */
const signingKeys = new WeakMap<Uint8Array, { bytes: Uint8Array; key: KeyObject }>();

function signingKey(secretKey: Uint8Array): KeyObject {
  const hit = signingKeys.get(secretKey);
  if (hit && bytesEqual(hit.bytes, secretKey)) return hit.key;
  const key = privateKeyObject(secretKey.subarray(0, ED25519_SEED_BYTES));
  assert(bytesEqual(publicKeyOf(key), secretKey.subarray(ED25519_SEED_BYTES)), 'Ed25519 secret key: public half does not match the seed');
  signingKeys.set(secretKey, { bytes: secretKey.slice(), key });
  return key;
}

function publicKeyOf(privateKey: KeyObject): Uint8Array {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const pub = typeof jwk.x === 'string' ? fromBase64url(jwk.x) : undefined;
  assert(pub !== undefined && pub.length === ED25519_PUBLIC_KEY_BYTES, 'node:crypto returned a malformed Ed25519 public key');
  return pub;
}

/**
 * Verification on libuv's thread pool: same rules and result as nodeEd25519.verify, but concurrent
 * calls run on every core instead of blocking the event loop. Never rejects.
 */
export function nodeVerifyAsync(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  if (!(message instanceof Uint8Array) || !(signature instanceof Uint8Array) || !(publicKey instanceof Uint8Array))
    return Promise.resolve(false);
  if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return Promise.resolve(false);
  if (isSmallOrderPublicKey(publicKey)) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      cryptoVerify(null, message, publicKeyObject(publicKey), signature, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}

export const nodeEd25519: Ed25519 = {
  keyPairFromSeed(seed: Uint8Array): Ed25519KeyPair {
    assert(seed instanceof Uint8Array && seed.length === ED25519_SEED_BYTES, 'Ed25519 seed must be 32 bytes');
    const publicKey = publicKeyOf(privateKeyObject(seed));
    const secretKey = new Uint8Array(ED25519_SECRET_KEY_BYTES);
    secretKey.set(seed, 0);
    secretKey.set(publicKey, ED25519_SEED_BYTES);
    return { publicKey, secretKey };
  },

  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
    assert(message instanceof Uint8Array, 'message must be a Uint8Array');
    assert(secretKey instanceof Uint8Array && secretKey.length === ED25519_SECRET_KEY_BYTES, 'Ed25519 secret key must be 64 bytes');
    return new Uint8Array(cryptoSign(null, message, signingKey(secretKey)));
  },

  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
    if (!(message instanceof Uint8Array) || !(signature instanceof Uint8Array) || !(publicKey instanceof Uint8Array)) return false;
    if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return false;
    if (isSmallOrderPublicKey(publicKey)) return false;
    try {
      return cryptoVerify(null, message, publicKeyObject(publicKey), signature);
    } catch {
      return false;
    }
  },
};
