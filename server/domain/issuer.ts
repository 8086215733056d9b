// SPDX-License-Identifier: Apache-2.0
// The issuer: the server's Ed25519 signing key for offline credentials and revocation lists.
// Kiosks hold only the public half (published retained on topics.issuerKeys).
import { toBase64url, utf8, concatBytes } from '../../shared/bytes.ts';
import type { Ed25519, Ed25519KeyPair } from '../../shared/crypto/ed25519.ts';
import {
  REVOCATIONS_SIGNING_PREFIX,
  type IssuerKeysMessage,
  type RevocationsBody,
  type RevocationsMessage,
} from '../../shared/kiosk-messages.ts';

export class Issuer {
  readonly keyId: number;
  readonly #keys: Ed25519KeyPair;
  readonly #ed: Ed25519;

  constructor(keyId: number, seed: Uint8Array, ed: Ed25519) {
    this.keyId = keyId;
    this.#keys = ed.keyPairFromSeed(seed);
    this.#ed = ed;
  }

  get publicKey(): Uint8Array {
    return this.#keys.publicKey;
  }

  /** Map form used by verifiers: keyId -> public key. */
  publicKeys(): ReadonlyMap<number, Uint8Array> {
    return new Map([[this.keyId, this.#keys.publicKey]]);
  }

  get secretKey(): Uint8Array {
    return this.#keys.secretKey;
  }

  keysMessage(nowMs: number): IssuerKeysMessage {
    return { v: 1, type: 'issuer-keys', keys: [{ keyId: this.keyId, publicKey: toBase64url(this.#keys.publicKey) }], at: nowMs };
  }

  signRevocations(body: RevocationsBody): RevocationsMessage {
    const text = JSON.stringify(body);
    const sig = this.#ed.sign(concatBytes(utf8(REVOCATIONS_SIGNING_PREFIX), utf8(text)), this.#keys.secretKey);
    return { v: 1, type: 'revocations', keyId: this.keyId, body: text, sig: toBase64url(sig) };
  }
}
