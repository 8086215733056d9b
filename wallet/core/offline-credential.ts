// SPDX-License-Identifier: Apache-2.0
// Claims 3 and 4: the offline credential ("offline key") the app gets from the server, far less
// often than one-time codes. The phone makes its own Ed25519 key pair on first use and sends only the
// public key; the server signs a credential binding it, with validity and limits.
//
// Order matters for crash safety: the new seed is persisted BEFORE the public key is sent, so a
// credential the server issued always has its private key on the phone.
import { assert } from '../../shared/assert.ts';
import { bytesEqual, fromBase64url, toBase64url } from '../../shared/bytes.ts';
import { parseCredential } from '../../shared/codes/credential.ts';
import type { Ed25519 } from '../../shared/crypto/ed25519.ts';
import type { Random } from '../../shared/random.ts';
import type { CredentialResponse, OfflineLimits } from '../../shared/wallet-messages.ts';
import type { CallOptions } from './api-client.ts';
import { WalletError, WalletProtocolError } from './wallet-errors.ts';
import { phoneKeyPair, withCredential, withPhoneKeySeed, type StoredCredential, type WalletState } from './wallet-state.ts';

/** The one API call this needs; WalletApiClient satisfies it. */
export interface CredentialApi {
  credential(publicKeyB64url: string, opts?: CallOptions): Promise<CredentialResponse>;
}

/** Makes the phone key seed if there is none yet. Persist the returned state before using the key. */
export function ensurePhoneKey(state: WalletState, random: Random): { state: WalletState; created: boolean } {
  if (state.phoneKeySeed !== undefined) return { state, created: false };
  return { state: withPhoneKeySeed(state, random.bytes(32)), created: true };
}

/**
 * Fetches a new credential for the phone's key and returns the state holding it. The seed must have
 * been persisted already (ensurePhoneKey). Throws what the API throws, and WalletProtocolError when
 * the credential the server returned does not match its own answer or is not bound to our key.
 */
export async function fetchOfflineCredential(
  state: WalletState,
  api: CredentialApi,
  ed: Ed25519,
  localNowMs: number,
  opts: CallOptions = {},
): Promise<WalletState> {
  if (state.enrollment === undefined) throw new WalletError('NOT_ENROLLED', {});
  const keys = phoneKeyPair(state, ed);
  assert(keys !== undefined, 'phone key must exist before asking for a credential (ensurePhoneKey)');
  const response = await api.credential(toBase64url(keys.publicKey), opts);
  return withCredential(state, acceptCredential(response, keys.publicKey, localNowMs));
}

/**
 * Checks the signed credential bytes against the JSON around them and against our own public key,
 * then returns what the wallet stores. The wallet cannot check the issuer's signature (it does not
 * need the issuer keys), but it must never sign codes around a credential that is not its own.
 */
export function acceptCredential(r: CredentialResponse, phonePublicKey: Uint8Array, localNowMs: number): StoredCredential {
  const bytes = fromBase64url(r.credential);
  if (bytes === undefined) throw new WalletProtocolError(200, 'credential is not base64url');
  const parsed = parseCredential(bytes);
  if (!parsed.ok) throw new WalletProtocolError(200, `credential does not parse: ${parsed.detail}`);
  const c = parsed.credential;
  const mismatch =
    c.credentialId !== r.credentialId
      ? 'credentialId'
      : c.notBeforeMs !== r.notBefore
        ? 'notBefore'
        : c.notAfterMs !== r.notAfter
          ? 'notAfter'
          : !limitsEqual(c.limits, r.limits)
            ? 'limits'
            : !bytesEqual(c.publicKey, phonePublicKey)
              ? 'publicKey (not bound to this phone)'
              : undefined;
  if (mismatch !== undefined) throw new WalletProtocolError(200, `credential bytes disagree with the answer: ${mismatch}`);
  if (!(r.notBefore < r.notAfter)) throw new WalletProtocolError(200, 'credential validity is empty');
  return {
    bytes: r.credential,
    credentialId: r.credentialId,
    notBeforeMs: r.notBefore,
    notAfterMs: r.notAfter,
    renewAfterMs: r.renewAfter,
    limits: r.limits,
    numeric: r.numeric,
    receivedAtMs: localNowMs,
  };
}

function limitsEqual(a: OfflineLimits, b: OfflineLimits): boolean {
  return (
    a.currency === b.currency &&
    a.perPayment === b.perPayment &&
    a.daily.amount === b.daily.amount &&
    a.daily.count === b.daily.count &&
    a.monthly.amount === b.monthly.amount &&
    a.monthly.count === b.monthly.count
  );
}
