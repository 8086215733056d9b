// SPDX-License-Identifier: Apache-2.0
// Offline QR code version 3: the version-2 information as 509 digits. Same signatures and cap as
// version 2, one text per code, and versions 1 and 2 still decode and verify beside it.
import { describe, expect, it } from 'vitest';
import { naclEd25519 } from '../crypto/ed25519-nacl.ts';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import { signCredential } from './credential.ts';
import { decodeCode, type DecodedOfflineQr } from './decode.ts';
import { ED25519_GROUP_ORDER, OFFLINE_QR_V3_NUMBER_DIGITS, packV3Number, unpackV3Number } from './offline-code-digits.ts';
import {
  makeOfflineCode,
  OFFLINE_CODE_VERSION_CURRENT,
  OFFLINE_CODE_V3_SIGNED_BYTES,
  OFFLINE_QR_V3_TEXT_LENGTH,
  offlineCodeSigningMessage,
} from './offline-code.ts';
import { checkOfflineTerms } from './offline-terms.ts';
import { fixture, T0_MS } from './test-fixtures.ts';
import { verifyOfflineQr } from './verify-offline.ts';

const f = fixture();
const base = { credential: f.credentialBytes, timestampMs: T0_MS + 1_000, counter: 2, phoneSecretKey: f.phone.secretKey };
const v3 = (amountCap?: number) => makeOfflineCode({ ...base, amountCap, version: 3 }, nodeEd25519);
function qr(text: string): DecodedOfflineQr {
  const d = decodeCode(text);
  if (!d.ok || d.code.kind !== 'offline-qr') throw new Error(`not an offline QR code: ${d.ok ? d.code.kind : d.detail}`);
  return d.code;
}
/** The text of a version-3 code with its signed bytes and signature replaced (a forger's edit). */
const repack = (signed: Uint8Array, signature: Uint8Array) => '33' + packV3Number(signed, signature);
const UINT32_MAX = 0xffff_ffff;

describe('offline QR code version 3 (digits)', () => {
  it('is what wallets make: "33" and 507 digits, 509 in all', () => {
    expect(OFFLINE_CODE_VERSION_CURRENT).toBe(3);
    const text = makeOfflineCode(base, nodeEd25519);
    expect(text).toMatch(/^33[0-9]{507}$/);
    expect(text).toHaveLength(OFFLINE_QR_V3_TEXT_LENGTH);
    expect(OFFLINE_QR_V3_TEXT_LENGTH).toBe(509);
    expect(text).toBe(v3());
  });

  it('uses the fewest digits that hold every code: the product of the radices is between 10^506 and 10^507', () => {
    const radices = [2n ** 440n, 3n, 2n ** 368n, ED25519_GROUP_ORDER, 2n ** 80n, 2n ** 32n + 1n, 2n ** 256n, ED25519_GROUP_ORDER];
    const product = radices.reduce((a, b) => a * b, 1n);
    expect(product < 10n ** BigInt(OFFLINE_QR_V3_NUMBER_DIGITS)).toBe(true);
    expect(product > 10n ** BigInt(OFFLINE_QR_V3_NUMBER_DIGITS - 1)).toBe(true);
    // The product itself, and anything above it, is not a code: each code has one text.
    expect(unpackV3Number(product.toString())).toEqual({ ok: false, detail: 'offline code number is out of range' });
    expect(unpackV3Number('9'.repeat(OFFLINE_QR_V3_NUMBER_DIGITS))).toEqual({ ok: false, detail: 'offline code number is out of range' });
    expect(unpackV3Number((product - 1n).toString()).ok).toBe(true);
  });

  it('decodes to the same credential, timestamp, counter and cap as versions 1 and 2, and verifies', () => {
    const one = qr(makeOfflineCode({ ...base, version: 1 }, nodeEd25519));
    const two = qr(makeOfflineCode({ ...base, amountCap: 700, version: 2 }, nodeEd25519));
    const uncapped = qr(v3());
    const capped = qr(v3(700));
    for (const [code, cap] of [
      [uncapped, null],
      [capped, 700],
    ] as const) {
      expect(code).toMatchObject({ kind: 'offline-qr', version: 3, timestampMs: base.timestampMs, counter: 2, amountCap: cap });
      expect(code.credentialBytes).toEqual(f.credentialBytes);
      expect(code.credential).toEqual(f.credential);
      expect(code.signedBytes).toHaveLength(OFFLINE_CODE_V3_SIGNED_BYTES);
      expect(code.signedBytes.subarray(0, 147).slice(1)).toEqual(one.signedBytes.subarray(1));
      for (const ed of [nodeEd25519, naclEd25519]) expect(verifyOfflineQr(code, f.issuerKeys, ed)).toEqual({ ok: true });
    }
    expect(one).toMatchObject({ version: 1, amountCap: null });
    expect(two).toMatchObject({ version: 2, amountCap: 700 });
    expect(verifyOfflineQr(one, f.issuerKeys, nodeEd25519)).toEqual({ ok: true });
    expect(verifyOfflineQr(two, f.issuerKeys, nodeEd25519)).toEqual({ ok: true });
  });

  it('is byte-identical whichever Ed25519 adapter signs it', () => {
    expect(makeOfflineCode({ ...base, amountCap: 5, version: 3 }, naclEd25519)).toBe(v3(5));
  });

  it('round-trips the extremes: every field at its largest, caps 0 and 2^32 - 1, timestamp and counter 0', () => {
    const extreme = signCredential(
      {
        ...f.credential,
        keyId: 255,
        credentialId: 'ffffffffffffffff',
        accountAlias: 'ffffffffffff',
        notBeforeMs: 0,
        notAfterMs: UINT32_MAX * 1000,
        limits: {
          currency: 'EUR',
          perPayment: UINT32_MAX,
          daily: { amount: UINT32_MAX, count: 255 },
          monthly: { amount: UINT32_MAX, count: 255 },
        },
      },
      f.issuer.secretKey,
      nodeEd25519,
    );
    const cases = [
      { credential: extreme, timestampMs: 2 ** 48 - 1, counter: UINT32_MAX, amountCap: UINT32_MAX },
      { credential: extreme, timestampMs: 0, counter: 0, amountCap: 0 },
      { credential: f.credentialBytes, timestampMs: 0, counter: 0, amountCap: undefined },
    ];
    for (const c of cases) {
      const code = qr(makeOfflineCode({ ...c, phoneSecretKey: f.phone.secretKey, version: 3 }, nodeEd25519));
      expect([code.timestampMs, code.counter, code.amountCap]).toEqual([c.timestampMs, c.counter, c.amountCap ?? null]);
      expect(code.credentialBytes).toEqual(c.credential);
      expect(verifyOfflineQr(code, new Map([...f.issuerKeys, [255, f.issuer.publicKey]]), nodeEd25519)).toEqual({ ok: true });
    }
  });

  it('keeps the cap signed: raising, removing or adding a cap breaks the phone signature', () => {
    const capped = qr(v3(300));
    const raised = capped.signedBytes.slice();
    new DataView(raised.buffer).setUint32(148, 5_000);
    const removed = capped.signedBytes.slice();
    removed.fill(0, 147);
    const uncapped = qr(v3());
    const added = uncapped.signedBytes.slice();
    added[147] = 1;
    new DataView(added.buffer).setUint32(148, 100);
    for (const [name, text] of [
      ['raised', repack(raised, capped.signature)],
      ['removed', repack(removed, capped.signature)],
      ['added', repack(added, uncapped.signature)],
    ]) {
      const edited = qr(text!);
      expect(edited.text, name).not.toBe(capped.text);
      expect(verifyOfflineQr(edited, f.issuerKeys, nodeEd25519), name).toEqual({ ok: false, reason: 'SIGNATURE_INVALID' });
    }
    // A decoded code whose cap is edited after decoding does not verify either.
    expect(verifyOfflineQr({ ...capped, amountCap: null }, f.issuerKeys, nodeEd25519)).toEqual({ ok: false, reason: 'SIGNATURE_INVALID' });
    expect(verifyOfflineQr({ ...uncapped, amountCap: 10 }, f.issuerKeys, nodeEd25519)).toEqual({ ok: false, reason: 'SIGNATURE_INVALID' });
  });

  it('does not accept a version-1 or version-2 signature moved into version 3, nor the reverse', () => {
    const two = qr(makeOfflineCode({ ...base, amountCap: 300, version: 2 }, nodeEd25519));
    const three = qr(v3(300));
    // Same fields as the version-3 code, with the signature the phone made over the version-2 bytes.
    expect(verifyOfflineQr(qr(repack(three.signedBytes, two.signature)), f.issuerKeys, nodeEd25519)).toEqual({
      ok: false,
      reason: 'SIGNATURE_INVALID',
    });
    expect(verifyOfflineQr({ ...two, signature: three.signature }, f.issuerKeys, nodeEd25519)).toEqual({
      ok: false,
      reason: 'SIGNATURE_INVALID',
    });
    // Each version signs under its own domain string.
    expect(new TextDecoder().decode(offlineCodeSigningMessage(three.signedBytes).subarray(0, 25))).toBe('kioskpay/offline-code/v3\0');
  });

  it('refuses signed bytes no text can carry (cap flag 2, or a cap under flag 0), even when properly signed', () => {
    const code = qr(v3());
    for (const edit of [
      (b: Uint8Array) => {
        b[147] = 2;
      },
      (b: Uint8Array) => {
        b[151] = 9;
      },
    ]) {
      const signed = code.signedBytes.slice();
      edit(signed);
      const signature = nodeEd25519.sign(offlineCodeSigningMessage(signed), f.phone.secretKey);
      expect(() => packV3Number(signed, signature)).toThrow(/assertion failed/);
      expect(verifyOfflineQr({ ...code, signedBytes: signed, signature }, f.issuerKeys, nodeEd25519)).toEqual({
        ok: false,
        reason: 'SIGNATURE_INVALID',
      });
    }
  });

  it('cannot write a signature with S >= L (signature malleability is refused by the format itself)', () => {
    const code = qr(v3());
    const s = code.signature.slice();
    // S + L, little-endian.
    let carry = 0;
    const l = ED25519_GROUP_ORDER.toString(16)
      .padStart(64, '0')
      .match(/../g)!
      .map((h) => parseInt(h, 16))
      .reverse();
    for (let i = 0; i < 32; i++) {
      const sum = s[32 + i]! + l[i]! + carry;
      s[32 + i] = sum & 0xff;
      carry = sum >> 8;
    }
    expect(carry).toBe(0);
    expect(() => packV3Number(code.signedBytes, s)).toThrow(/S >= L/);
  });

  it('changing any one digit gives a malformed code or one that does not verify', () => {
    const text = v3(1_000);
    for (let i = 2; i < text.length; i += 7) {
      const edited = text.slice(0, i) + String((Number(text[i]) + 1 + (i % 9)) % 10) + text.slice(i + 1);
      const d = decodeCode(edited);
      if (!d.ok) {
        expect(d.reason).toBe('CODE_MALFORMED');
        continue;
      }
      if (d.code.kind !== 'offline-qr') throw new Error('decoded as another kind');
      expect(verifyOfflineQr(d.code, f.issuerKeys, nodeEd25519).ok, `digit ${i}`).toBe(false);
    }
  });

  it('rejects a wrong length, a wrong prefix and a credential that does not parse', () => {
    const text = v3();
    expect(decodeCode(text.slice(0, -1))).toMatchObject({ ok: false, detail: 'offline code must be 509 digits, got 508' });
    expect(decodeCode(text + '0')).toMatchObject({ ok: false, detail: 'offline code must be 509 digits, got 510' });
    expect(decodeCode('34' + text.slice(2))).toMatchObject({ ok: false, detail: 'unknown numeric code prefix 34' });
    // notBefore after notAfter: the digits decode to bytes, the credential inside is refused.
    const code = qr(text);
    const signed = code.signedBytes.slice();
    signed.set([0xff, 0xff, 0xff, 0xff], 1 + 48);
    expect(decodeCode(repack(signed, code.signature))).toMatchObject({
      ok: false,
      detail: 'offline code credential: credential notBefore is after notAfter',
    });
  });

  it('takes the cap into the offline terms like version 2', () => {
    const code = qr(v3(300));
    const terms = {
      credential: code.credential,
      timestampMs: code.timestampMs,
      referenceTimeMs: code.timestampMs,
      windowMs: 60_000,
      amountCap: code.amountCap,
    };
    expect(checkOfflineTerms({ ...terms, amount: { value: 300, currency: 'JPY' } })).toEqual({ ok: true });
    expect(checkOfflineTerms({ ...terms, amount: { value: 301, currency: 'JPY' } })).toEqual({
      ok: false,
      reason: 'OFFLINE_LIMIT_PER_PAYMENT',
    });
  });

  it('throws (programmer error) on a cap in version 1, no cap in version 2, or a credential currency version 3 cannot write', () => {
    expect(() => makeOfflineCode({ ...base, amountCap: 5, version: 1 }, nodeEd25519)).toThrow(/version 1 has no amount cap/);
    expect(() => makeOfflineCode({ ...base, version: 2 }, nodeEd25519)).toThrow(/version 2 needs an amount cap/);
    const signed = qr(v3()).signedBytes.slice();
    signed[1 + 56] = 0x03;
    signed[1 + 57] = 0x3a; // 826 (GBP)
    expect(() => packV3Number(signed, new Uint8Array(64))).toThrow(/currency/);
  });
});
