// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { fromBase64url, toBase64url } from '../bytes.ts';
import type { Ed25519 } from '../crypto/ed25519.ts';
import { nodeEd25519, nodeVerifyAsync } from '../crypto/ed25519-node.ts';
import { signCredential } from './credential.ts';
import { decodeCode, type DecodedOfflineQr } from './decode.ts';
import { makeOfflineCode } from './offline-code.ts';
import { OfflineQrVerifier } from './offline-qr-verifier.ts';
import { fixture, T0_MS } from './test-fixtures.ts';
import { verifyOfflineQr } from './verify-offline.ts';

function decodeQr(text: string): DecodedOfflineQr {
  const d = decodeCode(text);
  if (!d.ok || d.code.kind !== 'offline-qr') throw new Error('not an offline QR code');
  return d.code;
}
function tamper(text: string, i: number): string {
  const b = fromBase64url(text.slice(4))!;
  b[i]! ^= 1;
  return 'KP1.' + toBase64url(b);
}
/** Counts verifications, to see what the cache saves. */
function counting(): Ed25519 & { calls: number } {
  const c = {
    ...nodeEd25519,
    calls: 0,
    verify: (m: Uint8Array, s: Uint8Array, k: Uint8Array) => {
      c.calls++;
      return nodeEd25519.verify(m, s, k);
    },
  };
  return c;
}

describe('OfflineQrVerifier', () => {
  const f = fixture();
  const cases = {
    genuine: f.offlineCode,
    'tampered credential': tamper(f.offlineCode, 1 + 60),
    'tampered code body': tamper(f.offlineCode, 140),
    'tampered phone signature': tamper(f.offlineCode, 200),
    'genuine, version 3': f.offlineCodeV3,
    'version 3, a digit of the phone signature changed':
      f.offlineCodeV3.slice(0, -5) + String((Number(f.offlineCodeV3.at(-5)) + 1) % 10) + f.offlineCodeV3.slice(-4),
  };

  it.each(Object.entries(cases))('agrees with verifyOfflineQr, sync and async: %s', async (_name, text) => {
    const expected = verifyOfflineQr(decodeQr(text), f.issuerKeys, nodeEd25519);
    const v = new OfflineQrVerifier({ issuerKeys: f.issuerKeys, ed: nodeEd25519, verifyAsync: nodeVerifyAsync });
    expect(v.verify(decodeQr(text))).toEqual(expected);
    expect(await v.verifyAsync(decodeQr(text))).toEqual(expected);
    // Again, now with the credential possibly cached.
    expect(await v.verifyAsync(decodeQr(text))).toEqual(expected);
  });

  it('verifies a credential once, then only the phone signature of each new code', () => {
    const ed = counting();
    const v = new OfflineQrVerifier({ issuerKeys: f.issuerKeys, ed });
    for (let counter = 1; counter <= 5; counter++) {
      const code = makeOfflineCode(
        { credential: f.credentialBytes, timestampMs: T0_MS, counter, phoneSecretKey: f.phone.secretKey },
        nodeEd25519,
      );
      expect(v.verify(decodeQr(code))).toEqual({ ok: true });
    }
    expect(ed.calls).toBe(1 + 5);
  });

  it('never caches a failure, and forgets the least recently used credential past its bound', () => {
    const ed = counting();
    const v = new OfflineQrVerifier({ issuerKeys: f.issuerKeys, ed, verifiedCredentialsMax: 2 });
    const bad = decodeQr(tamper(f.offlineCode, 1 + 60));
    v.verify(bad);
    v.verify(bad);
    expect(ed.calls).toBe(2);
    const credentialFor = (id: string) => signCredential({ ...f.credential, credentialId: id }, f.issuer.secretKey, nodeEd25519);
    const codes = ['0000000000000001', '0000000000000002', '0000000000000003'].map((id) =>
      decodeQr(
        makeOfflineCode({ credential: credentialFor(id), timestampMs: T0_MS, counter: 1, phoneSecretKey: f.phone.secretKey }, nodeEd25519),
      ),
    );
    ed.calls = 0;
    for (const c of codes) v.verify(c); // 3 credentials + 3 phone signatures; the first is now forgotten
    expect(ed.calls).toBe(6);
    v.verify(codes[2]!); // cached credential
    expect(ed.calls).toBe(7);
    v.verify(codes[0]!); // forgotten: verified again
    expect(ed.calls).toBe(9);
  });

  it('answers CREDENTIAL_INVALID for a key set without the issuer key', () => {
    const v = new OfflineQrVerifier({ issuerKeys: new Map(), ed: nodeEd25519 });
    expect(v.verify(decodeQr(f.offlineCode))).toEqual({ ok: false, reason: 'CREDENTIAL_INVALID' });
  });
});
