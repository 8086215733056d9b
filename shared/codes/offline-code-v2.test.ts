// SPDX-License-Identifier: Apache-2.0
// Offline QR code version 2: the shopper's amount cap, signed with the code. Version 1 codes still
// decode and verify; the cap cannot be changed without breaking the phone's signature.
import { describe, expect, it } from 'vitest';
import { fromBase64url, toBase64url } from '../bytes.ts';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import { decodeCode, type DecodedOfflineQr } from './decode.ts';
import { makeOfflineCode, OFFLINE_CODE_V2_BYTES, OFFLINE_QR_V2_TEXT_LENGTH } from './offline-code.ts';
import { checkOfflineTerms } from './offline-terms.ts';
import { fixture, T0_MS } from './test-fixtures.ts';
import { verifyOfflineQr } from './verify-offline.ts';

const f = fixture();
const v2 = (amountCap: number) =>
  makeOfflineCode(
    { credential: f.credentialBytes, timestampMs: T0_MS + 1_000, counter: 2, phoneSecretKey: f.phone.secretKey, amountCap, version: 2 },
    nodeEd25519,
  );
function qr(text: string): DecodedOfflineQr {
  const d = decodeCode(text);
  if (!d.ok || d.code.kind !== 'offline-qr') throw new Error(`not an offline QR code: ${d.ok ? d.code.kind : d.detail}`);
  return d.code;
}

describe('offline QR code version 2 (amount cap)', () => {
  it('is KP2. + 287 characters of 215 bytes, and reads back its cap', () => {
    const text = v2(1_234);
    expect(text.startsWith('KP2.')).toBe(true);
    expect(text).toHaveLength(OFFLINE_QR_V2_TEXT_LENGTH);
    expect(OFFLINE_QR_V2_TEXT_LENGTH).toBe(291);
    expect(fromBase64url(text.slice(4))).toHaveLength(OFFLINE_CODE_V2_BYTES);
    expect(qr(text)).toMatchObject({ amountCap: 1_234, counter: 2, timestampMs: T0_MS + 1_000 });
    expect(verifyOfflineQr(qr(text), f.issuerKeys, nodeEd25519)).toEqual({ ok: true });
  });

  it('leaves version 1 as it was: no cap, still verifies', () => {
    expect(qr(f.offlineCode).amountCap).toBeNull();
    expect(verifyOfflineQr(qr(f.offlineCode), f.issuerKeys, nodeEd25519)).toEqual({ ok: true });
  });

  it('a raised cap breaks the phone signature', () => {
    const b = fromBase64url(v2(300).slice(4))!;
    new DataView(b.buffer).setUint32(147, 5_000);
    expect(verifyOfflineQr(qr('KP2.' + toBase64url(b)), f.issuerKeys, nodeEd25519)).toEqual({ ok: false, reason: 'SIGNATURE_INVALID' });
  });

  it('a decoded code whose cap is edited after decoding does not verify', () => {
    const b = fromBase64url(v2(300).slice(4))!;
    const d = qr('KP2.' + toBase64url(b));
    expect(verifyOfflineQr({ ...d, amountCap: null }, f.issuerKeys, nodeEd25519)).toEqual({ ok: false, reason: 'SIGNATURE_INVALID' });
  });

  it('caps the amount in the offline terms: over the cap is OFFLINE_LIMIT_PER_PAYMENT', () => {
    const base = { credential: f.credential, timestampMs: T0_MS, referenceTimeMs: T0_MS, windowMs: 60_000 };
    expect(checkOfflineTerms({ ...base, amount: { value: 300, currency: 'JPY' }, amountCap: 300 })).toEqual({ ok: true });
    expect(checkOfflineTerms({ ...base, amount: { value: 301, currency: 'JPY' }, amountCap: 300 })).toEqual({
      ok: false,
      reason: 'OFFLINE_LIMIT_PER_PAYMENT',
    });
    expect(checkOfflineTerms({ ...base, amount: { value: 301, currency: 'JPY' }, amountCap: null })).toEqual({ ok: true });
  });
});
