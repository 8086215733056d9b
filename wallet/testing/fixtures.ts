// SPDX-License-Identifier: Apache-2.0
// Test fixtures for the wallet: a stand-in issuer that signs real credentials with shared/ code, and
// ready-made wallet states. Deterministic: fixed keys, fixed times, seeded randomness.
import { toBase64url } from '../../shared/bytes.ts';
import { signCredential } from '../../shared/codes/credential.ts';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import { seededRandom } from '../../shared/random.ts';
import { timeSample } from '../../shared/time-sync.ts';
import type { CredentialResponse, OfflineLimits } from '../../shared/wallet-messages.ts';
import { acceptCredential } from '../core/offline-credential.ts';
import {
  newWalletState,
  phoneKeyPair,
  withClockSync,
  withCredential,
  withEnrollment,
  withPhoneKeySeed,
  type WalletState,
} from '../core/wallet-state.ts';

/** 2026-11-28T12:00:00Z, a whole second. */
export const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
export const DAY_MS = 86_400_000;
export const SERVER_URL = 'http://wallet.test';

export const testIssuer = (() => {
  const keys = naclEd25519.keyPairFromSeed(new Uint8Array(32).fill(7));
  return {
    keyId: 1,
    publicKey: keys.publicKey,
    secretKey: keys.secretKey,
    keys: new Map([[1, keys.publicKey]]) as ReadonlyMap<number, Uint8Array>,
  };
})();

export const TEST_LIMITS: OfflineLimits = {
  currency: 'JPY',
  perPayment: 5_000,
  daily: { amount: 10_000, count: 2 },
  monthly: { amount: 50_000, count: 10 },
};

export interface IssueOptions {
  ttlMs?: number;
  renewBeforeMs?: number;
  stepMs?: number;
  /** Varies the credential id, handle and numeric secret. */
  seed?: number;
}

/** What a server answers to POST /v1/wallet/credentials, signed by the test issuer. */
export function issueTestCredential(phonePublicKey: Uint8Array, serverNowMs: number, o: IssueOptions = {}): CredentialResponse {
  const random = seededRandom(o.seed ?? 1);
  const notBefore = Math.floor(serverNowMs / 1000) * 1000;
  const notAfter = notBefore + (o.ttlMs ?? 7 * DAY_MS);
  const credentialId = Array.from(random.bytes(8), (b) => b.toString(16).padStart(2, '0')).join('');
  const bytes = signCredential(
    {
      keyId: testIssuer.keyId,
      credentialId,
      publicKey: phonePublicKey,
      accountAlias: 'a1b2c3d4e5f6',
      notBeforeMs: notBefore,
      notAfterMs: notAfter,
      limits: TEST_LIMITS,
    },
    testIssuer.secretKey,
    naclEd25519,
  );
  return {
    credential: toBase64url(bytes),
    credentialId,
    notBefore,
    notAfter,
    limits: TEST_LIMITS,
    numeric: { handle: String(10_000_000 + random.int(89_999_999)), secret: toBase64url(random.bytes(32)), stepMs: o.stepMs ?? 30_000 },
    renewAfter: notAfter - (o.renewBeforeMs ?? 2 * DAY_MS),
  };
}

export const PHONE_SEED = new Uint8Array(32).fill(3);

/** A wallet enrolled at `localNowMs`; optionally synced (offset) and holding a credential. */
export function testWalletState(
  o: { localNowMs?: number; offsetMs?: number; credential?: boolean; synced?: boolean; issue?: IssueOptions } = {},
): WalletState {
  const local = o.localNowMs ?? T0;
  const offset = o.offsetMs ?? 0;
  let s = withEnrollment(
    newWalletState(SERVER_URL),
    { walletId: 'w_test', token: 'token-token-token-token-token', currency: 'JPY' },
    local,
  );
  if (o.synced ?? true) s = withClockSync(s, timeSample(local, local + offset + 10, local + offset + 10, local + 20), local + 20);
  if (o.credential ?? true) {
    s = withPhoneKeySeed(s, PHONE_SEED);
    const pub = phoneKeyPair(s, naclEd25519)!.publicKey;
    s = withCredential(s, acceptCredential(issueTestCredential(pub, local + offset, o.issue), pub, local));
  }
  return s;
}
