// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import { seededRandom } from '../../shared/random.ts';
import { T0, issueTestCredential, testWalletState } from '../testing/fixtures.ts';
import { acceptCredential, ensurePhoneKey, fetchOfflineCredential } from './offline-credential.ts';
import { WalletProtocolError } from './wallet-errors.ts';
import { phoneKeyPair, withoutCredential } from './wallet-state.ts';

const ed = naclEd25519;
const pub = ed.keyPairFromSeed(new Uint8Array(32).fill(3)).publicKey;

describe('offline credential', () => {
  it('makes the phone key once and keeps it', () => {
    const bare = testWalletState({ credential: false });
    const a = ensurePhoneKey(bare, seededRandom(1));
    expect(a.created).toBe(true);
    expect(ensurePhoneKey(a.state, seededRandom(2))).toEqual({ state: a.state, created: false });
  });

  it('sends only the public key and stores the checked credential', async () => {
    const s = ensurePhoneKey(withoutCredential(testWalletState()), seededRandom(1)).state;
    const sent: string[] = [];
    const api = {
      credential: async (publicKey: string) => {
        sent.push(publicKey);
        return issueTestCredential(phoneKeyPair(s, ed)!.publicKey, T0);
      },
    };
    const next = await fetchOfflineCredential(s, api, ed, T0);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toHaveLength(43);
    expect(next.credential).toMatchObject({ notAfterMs: T0 + 7 * 86_400_000, receivedAtMs: T0 });
  });

  it('refuses a credential bound to some other key, or whose bytes disagree with the answer', () => {
    const other = ed.keyPairFromSeed(new Uint8Array(32).fill(4)).publicKey;
    expect(() => acceptCredential(issueTestCredential(other, T0), pub, T0)).toThrow(/publicKey/);
    const r = issueTestCredential(pub, T0);
    expect(() => acceptCredential({ ...r, notAfter: r.notAfter + 1000 }, pub, T0)).toThrow(WalletProtocolError);
    expect(() => acceptCredential({ ...r, limits: { ...r.limits, perPayment: 1 } }, pub, T0)).toThrow(/limits/);
    expect(() => acceptCredential({ ...r, credential: r.credential.slice(0, -4) }, pub, T0)).toThrow(WalletProtocolError);
    expect(acceptCredential(r, pub, T0).credentialId).toBe(r.credentialId);
  });
});
