// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { concatBytes, fromBase64url, toBase64url } from '../bytes.ts';
import { naclEd25519 } from '../crypto/ed25519-nacl.ts';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import { CREDENTIAL_BODY_BYTES, credentialSigningMessage } from './credential.ts';
import { decodeCode, type DecodedOfflineQr } from './decode.ts';
import { OFFLINE_CODE_SIGNED_BYTES, offlineCodeSigningMessage } from './offline-code.ts';
import { fixture, ISSUER_KEY_ID, seed } from './test-fixtures.ts';
import { verifyOfflineQr } from './verify-offline.ts';

function decodeQr(text: string): DecodedOfflineQr {
  const d = decodeCode(text);
  if (!d.ok || d.code.kind !== 'offline-qr') throw new Error(`not a decodable offline QR code: ${d.ok ? d.code.kind : d.detail}`);
  return d.code;
}
const codeBytes = (text: string) => fromBase64url(text.slice(4))!;
const codeText = (bytes: Uint8Array) => 'KP1.' + toBase64url(bytes);
/** Flips one bit of the code's byte i and returns the new text. */
function tamper(text: string, i: number, mask = 0x01): string {
  const b = codeBytes(text);
  b[i]! ^= mask;
  return codeText(b);
}

describe('verifyOfflineQr', () => {
  const f = fixture();

  it('accepts a genuine code with either adapter', () => {
    expect(verifyOfflineQr(decodeQr(f.offlineCode), f.issuerKeys, nodeEd25519)).toEqual({ ok: true });
    expect(verifyOfflineQr(decodeQr(f.offlineCode), f.issuerKeys, naclEd25519)).toEqual({ ok: true });
  });

  it('CREDENTIAL_INVALID when a byte of the credential is changed (phone key, limit, issuer signature)', () => {
    for (const i of [1 + 10, 1 + 60, 1 + 100]) {
      expect(verifyOfflineQr(decodeQr(tamper(f.offlineCode, i)), f.issuerKeys, nodeEd25519)).toEqual({
        ok: false,
        reason: 'CREDENTIAL_INVALID',
      });
    }
  });

  it('CREDENTIAL_INVALID for an unknown issuer keyId, or a credential signed by another key', () => {
    expect(verifyOfflineQr(decodeQr(f.offlineCode), new Map([[ISSUER_KEY_ID + 1, f.issuer.publicKey]]), nodeEd25519)).toEqual({
      ok: false,
      reason: 'CREDENTIAL_INVALID',
    });
    const rogue = nodeEd25519.keyPairFromSeed(seed(0x44));
    expect(verifyOfflineQr(decodeQr(f.offlineCode), new Map([[ISSUER_KEY_ID, rogue.publicKey]]), nodeEd25519)).toEqual({
      ok: false,
      reason: 'CREDENTIAL_INVALID',
    });
  });

  it('SIGNATURE_INVALID when a byte of the code body or its signature is changed', () => {
    for (const i of [137, 142, 143, 146, 147, 180, 210]) {
      expect(verifyOfflineQr(decodeQr(tamper(f.offlineCode, i)), f.issuerKeys, nodeEd25519), `byte ${i}`).toEqual({
        ok: false,
        reason: 'SIGNATURE_INVALID',
      });
    }
  });

  it('SIGNATURE_INVALID for a code signed by a key other than the one the credential certifies', () => {
    const thief = nodeEd25519.keyPairFromSeed(seed(0x55));
    const signed = codeBytes(f.offlineCode).subarray(0, OFFLINE_CODE_SIGNED_BYTES);
    const text = codeText(concatBytes(signed, nodeEd25519.sign(offlineCodeSigningMessage(signed), thief.secretKey)));
    expect(verifyOfflineQr(decodeQr(text), f.issuerKeys, nodeEd25519)).toEqual({ ok: false, reason: 'SIGNATURE_INVALID' });
  });

  it('SIGNATURE_INVALID when the phone signed without the domain string', () => {
    const signed = codeBytes(f.offlineCode).subarray(0, OFFLINE_CODE_SIGNED_BYTES);
    const text = codeText(concatBytes(signed, nodeEd25519.sign(signed, f.phone.secretKey)));
    expect(verifyOfflineQr(decodeQr(text), f.issuerKeys, nodeEd25519)).toEqual({ ok: false, reason: 'SIGNATURE_INVALID' });
  });

  it('CREDENTIAL_INVALID when the issuer signed a credential without the domain string', () => {
    const cred = f.credentialBytes.slice();
    cred.set(nodeEd25519.sign(cred.subarray(0, CREDENTIAL_BODY_BYTES), f.issuer.secretKey), CREDENTIAL_BODY_BYTES);
    expect(credentialSigningMessage(cred.subarray(0, CREDENTIAL_BODY_BYTES)).length).toBe(23 + 72);
    const signed = codeBytes(f.offlineCode).subarray(0, OFFLINE_CODE_SIGNED_BYTES).slice();
    signed.set(cred, 1);
    const text = codeText(concatBytes(signed, nodeEd25519.sign(offlineCodeSigningMessage(signed), f.phone.secretKey)));
    expect(verifyOfflineQr(decodeQr(text), f.issuerKeys, nodeEd25519)).toEqual({ ok: false, reason: 'CREDENTIAL_INVALID' });
  });

  it('SIGNATURE_INVALID when decoded fields were edited after decoding', () => {
    const d = decodeQr(f.offlineCode);
    expect(verifyOfflineQr({ ...d, timestampMs: d.timestampMs + 1 }, f.issuerKeys, nodeEd25519)).toEqual({
      ok: false,
      reason: 'SIGNATURE_INVALID',
    });
    expect(verifyOfflineQr({ ...d, counter: d.counter + 1 }, f.issuerKeys, nodeEd25519)).toEqual({
      ok: false,
      reason: 'SIGNATURE_INVALID',
    });
    expect(
      verifyOfflineQr(
        { ...d, credential: { ...d.credential, limits: { ...d.credential.limits, perPayment: 10 ** 9 } } },
        f.issuerKeys,
        nodeEd25519,
      ),
    ).toEqual({ ok: false, reason: 'SIGNATURE_INVALID' });
    expect(verifyOfflineQr({ ...d, signedBytes: d.signedBytes.subarray(0, 146) }, f.issuerKeys, nodeEd25519)).toEqual({
      ok: false,
      reason: 'SIGNATURE_INVALID',
    });
    const other = decodeQr(tamper(f.offlineCode, 140));
    expect(verifyOfflineQr({ ...d, signedBytes: other.signedBytes }, f.issuerKeys, nodeEd25519)).toEqual({
      ok: false,
      reason: 'SIGNATURE_INVALID',
    });
    expect(verifyOfflineQr({ ...d, signature: undefined } as unknown as DecodedOfflineQr, f.issuerKeys, nodeEd25519)).toEqual({
      ok: false,
      reason: 'SIGNATURE_INVALID',
    });
    expect(verifyOfflineQr({} as DecodedOfflineQr, f.issuerKeys, nodeEd25519)).toEqual({ ok: false, reason: 'CREDENTIAL_INVALID' });
  });

  it('never accepts a code with any single bit of its 211 bytes flipped', () => {
    for (let i = 0; i < 211; i++) {
      for (const mask of [0x01, 0x80]) {
        const d = decodeCode(tamper(f.offlineCode, i, mask));
        if (!d.ok) continue; // version byte or credential structure: CODE_MALFORMED already
        if (d.code.kind !== 'offline-qr') throw new Error('kind changed');
        const r = verifyOfflineQr(d.code, f.issuerKeys, nodeEd25519);
        expect(r, `byte ${i} mask ${mask}`).toEqual({ ok: false, reason: i >= 1 && i <= 136 ? 'CREDENTIAL_INVALID' : 'SIGNATURE_INVALID' });
      }
    }
  });
});
