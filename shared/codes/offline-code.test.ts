// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { fromBase64url } from '../bytes.ts';
import { naclEd25519 } from '../crypto/ed25519-nacl.ts';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import { decodeCode } from './decode.ts';
import { makeOfflineCode, OFFLINE_CODE_BYTES, OFFLINE_QR_PREFIX, OFFLINE_QR_TEXT_LENGTH } from './offline-code.ts';
import { fixture, seed, T0_MS } from './test-fixtures.ts';

describe('offline QR code', () => {
  it('is "KP1." and 282 base64url characters (211 bytes), with no CR, LF or padding', () => {
    const f = fixture();
    expect(OFFLINE_QR_TEXT_LENGTH).toBe(286);
    expect(f.offlineCode).toHaveLength(286);
    expect(f.offlineCode.startsWith(OFFLINE_QR_PREFIX)).toBe(true);
    expect(f.offlineCode.slice(4)).toMatch(/^[A-Za-z0-9_-]{282}$/);
    expect(fromBase64url(f.offlineCode.slice(4))).toHaveLength(OFFLINE_CODE_BYTES);
  });

  it('decodes back to its credential, timestamp, counter and signed bytes', () => {
    const f = fixture();
    const d = decodeCode(f.offlineCode);
    expect(d.ok).toBe(true);
    if (!d.ok || d.code.kind !== 'offline-qr') throw new Error('not an offline QR code');
    const bytes = fromBase64url(f.offlineCode.slice(4))!;
    expect(d.code.text).toBe(f.offlineCode);
    expect(d.code.credentialBytes).toEqual(f.credentialBytes);
    expect(d.code.credential).toEqual(f.credential);
    expect(d.code.timestampMs).toBe(T0_MS + 1_000);
    expect(d.code.counter).toBe(1);
    expect(d.code.signedBytes).toEqual(bytes.subarray(0, 147));
    expect(d.code.signature).toEqual(bytes.subarray(147));
    expect(bytes[0]).toBe(1);
  });

  it('round-trips the extreme timestamps and counters (uint48, uint32)', () => {
    const f = fixture();
    for (const [timestampMs, counter] of [
      [0, 0],
      [2 ** 48 - 1, 2 ** 32 - 1],
      [2 ** 32, 2 ** 31],
      [2 ** 32 - 1, 1],
    ]) {
      const text = makeOfflineCode(
        { credential: f.credentialBytes, timestampMs: timestampMs!, counter: counter!, phoneSecretKey: f.phone.secretKey, version: 1 },
        nodeEd25519,
      );
      const d = decodeCode(text);
      expect(d.ok && d.code.kind === 'offline-qr' && [d.code.timestampMs, d.code.counter]).toEqual([timestampMs, counter]);
    }
  });

  it('is byte-identical whichever Ed25519 adapter signs it', () => {
    const f = fixture();
    const nacl = makeOfflineCode(
      { credential: f.credentialBytes, timestampMs: T0_MS + 1_000, counter: 1, phoneSecretKey: f.phone.secretKey, version: 1 },
      naclEd25519,
    );
    expect(nacl).toBe(f.offlineCode);
  });

  it('throws (programmer error) on a bad credential, a key the credential does not certify, or out-of-range fields', () => {
    const f = fixture();
    const p = { credential: f.credentialBytes, timestampMs: T0_MS, counter: 1, phoneSecretKey: f.phone.secretKey };
    const other = nodeEd25519.keyPairFromSeed(seed(0x33));
    const bad: [string, typeof p][] = [
      ['credential 135 bytes', { ...p, credential: f.credentialBytes.subarray(0, 135) }],
      ['credential version 9', { ...p, credential: Uint8Array.from(f.credentialBytes, (b, i) => (i === 0 ? 9 : b)) }],
      ['another phone key', { ...p, phoneSecretKey: other.secretKey }],
      ['secret key 32 bytes', { ...p, phoneSecretKey: f.phone.secretKey.subarray(0, 32) }],
      ['timestamp negative', { ...p, timestampMs: -1 }],
      ['timestamp 2^48', { ...p, timestampMs: 2 ** 48 }],
      ['timestamp fractional', { ...p, timestampMs: T0_MS + 0.5 }],
      ['counter 2^32', { ...p, counter: 2 ** 32 }],
      ['counter negative', { ...p, counter: -1 }],
    ];
    for (const [name, q] of bad) expect(() => makeOfflineCode(q, nodeEd25519), name).toThrow(/assertion failed/);
  });
});
