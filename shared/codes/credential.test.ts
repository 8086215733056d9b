// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import { naclEd25519 } from '../crypto/ed25519-nacl.ts';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import {
  CREDENTIAL_BODY_BYTES,
  CREDENTIAL_BYTES,
  credentialSigningMessage,
  encodeCredentialBody,
  parseCredential,
  signCredential,
  verifyCredential,
  type OfflineCredential,
} from './credential.ts';
import { fixture, ISSUER_KEY_ID, seed } from './test-fixtures.ts';

function resign(bytes: Uint8Array, issuerSecretKey: Uint8Array): Uint8Array {
  const out = bytes.slice();
  out.set(nodeEd25519.sign(credentialSigningMessage(out.subarray(0, CREDENTIAL_BODY_BYTES)), issuerSecretKey), CREDENTIAL_BODY_BYTES);
  return out;
}

describe('offline credential', () => {
  it('round-trips every field through its 136 bytes', () => {
    const f = fixture();
    expect(f.credentialBytes.length).toBe(CREDENTIAL_BYTES);
    const parsed = parseCredential(f.credentialBytes);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.credential).toEqual(f.credential);
    expect(parsed.body).toEqual(f.credentialBytes.subarray(0, 72));
    expect(parsed.signature).toEqual(f.credentialBytes.subarray(72));
  });

  it('puts each field at its documented offset, big-endian', () => {
    const f = fixture();
    const b = f.credentialBytes;
    const hex = (from: number, to: number) => toHex(b.subarray(from, to));
    expect(b[0]).toBe(1);
    expect(b[1]).toBe(ISSUER_KEY_ID);
    expect(hex(2, 10)).toBe('0123456789abcdef');
    expect(hex(10, 42)).toBe(toHex(f.phone.publicKey));
    expect(hex(42, 48)).toBe('a1b2c3d4e5f6');
    expect(hex(48, 52)).toBe((f.credential.notBeforeMs / 1000).toString(16).padStart(8, '0'));
    expect(hex(52, 56)).toBe((f.credential.notAfterMs / 1000).toString(16).padStart(8, '0'));
    expect(hex(56, 58)).toBe('0188'); // 392 = JPY
    expect(hex(58, 62)).toBe('00001388'); // 5,000
    expect(hex(62, 66)).toBe('00004e20'); // 20,000
    expect(b[66]).toBe(10);
    expect(hex(67, 71)).toBe('000186a0'); // 100,000
    expect(b[71]).toBe(60);
  });

  it('encodes USD and EUR with their ISO 4217 numbers and the largest field values', () => {
    const f = fixture();
    for (const [currency, num] of [
      ['USD', 840],
      ['EUR', 978],
    ] as const) {
      const c: OfflineCredential = {
        ...f.credential,
        keyId: 255,
        notBeforeMs: 0,
        notAfterMs: 0xffff_ffff * 1000,
        limits: { currency, perPayment: 0xffff_ffff, daily: { amount: 0xffff_ffff, count: 255 }, monthly: { amount: 0, count: 0 } },
      };
      const body = encodeCredentialBody(c);
      expect((body[56]! << 8) | body[57]!).toBe(num);
      const parsed = parseCredential(signCredential(c, f.issuer.secretKey, nodeEd25519));
      expect(parsed.ok && parsed.credential).toEqual(c);
    }
  });

  it('is byte-identical whichever Ed25519 adapter signs it', () => {
    const f = fixture();
    expect(signCredential(f.credential, f.issuer.secretKey, naclEd25519)).toEqual(f.credentialBytes);
  });

  it('verifies under the issuer key its keyId names, with either adapter', () => {
    const f = fixture();
    expect(verifyCredential(f.credentialBytes, f.issuerKeys, nodeEd25519)).toBe(true);
    expect(verifyCredential(f.credentialBytes, f.issuerKeys, naclEd25519)).toBe(true);
  });

  it('does not verify with an unknown keyId or another issuer key', () => {
    const f = fixture();
    expect(verifyCredential(f.credentialBytes, new Map([[ISSUER_KEY_ID + 1, f.issuer.publicKey]]), nodeEd25519)).toBe(false);
    expect(verifyCredential(f.credentialBytes, new Map(), nodeEd25519)).toBe(false);
    const other = nodeEd25519.keyPairFromSeed(seed(0x99));
    expect(verifyCredential(f.credentialBytes, new Map([[ISSUER_KEY_ID, other.publicKey]]), nodeEd25519)).toBe(false);
  });

  it('does not verify when any single byte is changed', () => {
    const f = fixture();
    for (let i = 0; i < CREDENTIAL_BYTES; i++) {
      const bad = f.credentialBytes.slice();
      bad[i]! ^= 0x01;
      expect(verifyCredential(bad, f.issuerKeys, nodeEd25519), `byte ${i}`).toBe(false);
    }
  });

  it('parse rejects a wrong length, version, currency or validity order, and never throws', () => {
    const f = fixture();
    const b = f.credentialBytes;
    const detail = (bytes: Uint8Array) => {
      const p = parseCredential(bytes);
      return p.ok ? 'ok' : p.detail;
    };
    expect(detail(b.subarray(0, 135))).toMatch(/136 bytes, got 135/);
    expect(detail(new Uint8Array([...b, 0]))).toMatch(/136 bytes, got 137/);
    expect(detail(new Uint8Array(0))).toMatch(/got 0/);
    const v2 = b.slice();
    v2[0] = 2;
    expect(detail(v2)).toMatch(/version 2/);
    const gbp = b.slice();
    gbp[56] = 0x03;
    gbp[57] = 0x3a; // 826 = GBP: not supported
    expect(detail(gbp)).toMatch(/currency 826/);
    const backwards = b.slice();
    backwards.set([0xff, 0xff, 0xff, 0xff], 48);
    expect(detail(backwards)).toMatch(/notBefore is after notAfter/);
    expect(detail('abc' as unknown as Uint8Array)).toMatch(/not bytes/);
    expect(detail(undefined as unknown as Uint8Array)).toMatch(/not bytes/);
  });

  it('parses a credential that lives inside a larger buffer (subarray with an offset)', () => {
    const f = fixture();
    const big = new Uint8Array(300);
    big.set(f.credentialBytes, 77);
    const p = parseCredential(big.subarray(77, 77 + CREDENTIAL_BYTES));
    expect(p.ok && p.credential).toEqual(f.credential);
  });

  it('a structurally valid credential re-signed by the issuer still verifies (the signature covers bytes 0..71 only)', () => {
    const f = fixture();
    const changed = f.credentialBytes.slice();
    changed[66] = 11;
    expect(verifyCredential(changed, f.issuerKeys, nodeEd25519)).toBe(false);
    expect(verifyCredential(resign(changed, f.issuer.secretKey), f.issuerKeys, nodeEd25519)).toBe(true);
  });

  it('encoding throws (programmer error) for every out-of-range field', () => {
    const f = fixture();
    const base = f.credential;
    const bad: [string, OfflineCredential][] = [
      ['keyId 256', { ...base, keyId: 256 }],
      ['keyId -1', { ...base, keyId: -1 }],
      ['keyId 1.5', { ...base, keyId: 1.5 }],
      ['credentialId uppercase', { ...base, credentialId: '0123456789ABCDEF' }],
      ['credentialId short', { ...base, credentialId: '0123456789abcde' }],
      ['publicKey 31 bytes', { ...base, publicKey: base.publicKey.subarray(0, 31) }],
      ['publicKey small order', { ...base, publicKey: new Uint8Array(32) }],
      ['accountAlias long', { ...base, accountAlias: 'a1b2c3d4e5f60' }],
      ['accountAlias not hex', { ...base, accountAlias: 'a1b2c3d4e5fg' }],
      ['notBeforeMs not whole seconds', { ...base, notBeforeMs: base.notBeforeMs + 1 }],
      ['notAfterMs beyond uint32 seconds', { ...base, notAfterMs: 2 ** 32 * 1000 }],
      ['notBeforeMs negative', { ...base, notBeforeMs: -1000 }],
      ['notBefore after notAfter', { ...base, notBeforeMs: base.notAfterMs + 1000 }],
      ['currency GBP', { ...base, limits: { ...base.limits, currency: 'GBP' as 'JPY' } }],
      ['perPayment 2^32', { ...base, limits: { ...base.limits, perPayment: 2 ** 32 } }],
      ['perPayment negative', { ...base, limits: { ...base.limits, perPayment: -1 } }],
      ['daily count 256', { ...base, limits: { ...base.limits, daily: { amount: 1, count: 256 } } }],
      ['monthly amount 2^32', { ...base, limits: { ...base.limits, monthly: { amount: 2 ** 32, count: 1 } } }],
      ['monthly count 1.5', { ...base, limits: { ...base.limits, monthly: { amount: 1, count: 1.5 } } }],
    ];
    for (const [name, c] of bad) expect(() => signCredential(c, f.issuer.secretKey, nodeEd25519), name).toThrow(/assertion failed/);
  });
});
