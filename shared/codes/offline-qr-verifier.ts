// SPDX-License-Identifier: Apache-2.0
// Offline QR verification for hot paths (the server, and a kiosk checking codes offline). Same
// outcome as verifyOfflineQr, cheaper:
//  - a credential whose issuer signature verified once is remembered (bounded, least recently used
//    forgotten first), so the codes a phone shows over its credential's week cost one verification;
//  - the phone signature can be checked with an asynchronous verifier (node:crypto on the thread
//    pool), so concurrent requests use every core.
// The issuer keys are fixed per verifier: a new key set needs a new verifier (and a clean cache).
import { toBase64url } from '../bytes.ts';
import type { Ed25519 } from '../crypto/ed25519.ts';
import { verifyCredential } from './credential.ts';
import type { DecodedOfflineQr } from './offline-code.ts';
import { phoneSignatureInput, type OfflineQrFailure } from './verify-offline.ts';

export type AsyncVerify = (message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array) => Promise<boolean>;

export const VERIFIED_CREDENTIALS_MAX = 10_000;

export interface OfflineQrVerifierOptions {
  issuerKeys: ReadonlyMap<number, Uint8Array>;
  ed: Ed25519;
  /** Used by verifyAsync for the phone signature; defaults to the synchronous ed.verify. */
  verifyAsync?: AsyncVerify;
  verifiedCredentialsMax?: number;
}

type Result = { ok: true } | { ok: false; reason: OfflineQrFailure };

export class OfflineQrVerifier {
  readonly #o: OfflineQrVerifierOptions;
  readonly #max: number;
  /** base64url of credential bytes whose issuer signature verified; Map order is recency order. */
  readonly #verified = new Map<string, true>();

  constructor(o: OfflineQrVerifierOptions) {
    this.#o = o;
    this.#max = o.verifiedCredentialsMax ?? VERIFIED_CREDENTIALS_MAX;
  }

  verify(code: DecodedOfflineQr): Result {
    return this.#check(code, (m, s, k) => this.#o.ed.verify(m, s, k)) as Result;
  }

  async verifyAsync(code: DecodedOfflineQr): Promise<Result> {
    const verify = this.#o.verifyAsync;
    if (!verify) return this.verify(code);
    return this.#check(code, verify);
  }

  #check<R extends boolean | Promise<boolean>>(
    code: DecodedOfflineQr,
    verifyPhone: (m: Uint8Array, s: Uint8Array, k: Uint8Array) => R,
  ): Result | Promise<Result> {
    try {
      if (!this.#credentialOk(code.credentialBytes)) return { ok: false, reason: 'CREDENTIAL_INVALID' };
      const input = phoneSignatureInput(code);
      if (!input.ok) return input;
      const verdict = verifyPhone(input.message, input.signature, input.publicKey);
      const toResult = (ok: boolean): Result => (ok ? { ok: true } : { ok: false, reason: 'SIGNATURE_INVALID' });
      return typeof verdict === 'boolean' ? toResult(verdict) : verdict.then(toResult, () => toResult(false));
    } catch {
      return { ok: false, reason: 'SIGNATURE_INVALID' };
    }
  }

  #credentialOk(bytes: Uint8Array): boolean {
    const key = toBase64url(bytes);
    if (this.#verified.has(key)) {
      this.#verified.delete(key);
      this.#verified.set(key, true);
      return true;
    }
    if (!verifyCredential(bytes, this.#o.issuerKeys, this.#o.ed)) return false;
    if (this.#verified.size >= this.#max) this.#verified.delete(this.#verified.keys().next().value!);
    this.#verified.set(key, true);
    return true;
  }
}
