// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { bytesEqual, concatBytes, fromBase64url, fromHex, toBase64url, toHex, utf8 } from './bytes.ts';
import { seededRandom } from './random.ts';

const enc = (s: string) => new TextEncoder().encode(s);

describe('base64url', () => {
  it('encodes the RFC 4648 test vectors without padding', () => {
    const cases: [string, string][] = [
      ['', ''],
      ['f', 'Zg'],
      ['fo', 'Zm8'],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg'],
      ['fooba', 'Zm9vYmE'],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, b64] of cases) {
      expect(toBase64url(enc(plain))).toBe(b64);
      expect(fromBase64url(b64)).toEqual(enc(plain));
    }
  });

  it('uses - and _ where base64 uses + and /', () => {
    expect(toBase64url(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe('-_-_');
    expect(fromBase64url('-_-_')).toEqual(new Uint8Array([0xfb, 0xff, 0xbf]));
  });

  it('round-trips random bytes of every length up to 200 and agrees with Buffer', () => {
    const r = seededRandom(1);
    for (let n = 0; n <= 200; n++) {
      const b = r.bytes(n);
      const s = toBase64url(b);
      expect(s).toBe(Buffer.from(b).toString('base64url'));
      expect(fromBase64url(s)).toEqual(b);
    }
  });

  it('rejects padding, the standard alphabet, whitespace and non-ASCII characters', () => {
    for (const bad of ['Zg==', 'Zg=', 'Zm9v+A', 'Zm9v/A', 'Zm9v YmFy', 'Zm9v\nYmFy', ' Zm9v', 'Zm9vé', 'Zm9v\u0000', 'Zm9v\u0141A']) {
      expect(fromBase64url(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('rejects a length of 1 mod 4', () => {
    expect(fromBase64url('Z')).toBeUndefined();
    expect(fromBase64url('Zm9vY')).toBeUndefined();
  });

  it('rejects non-zero unused trailing bits, so each byte string has one text', () => {
    expect(fromBase64url('Zg')).toEqual(enc('f'));
    expect(fromBase64url('Zh')).toBeUndefined(); // 'h' = 33: low 4 bits 0001
    expect(fromBase64url('Zm8')).toEqual(enc('fo'));
    expect(fromBase64url('Zm9')).toBeUndefined(); // '9' = 61: low 2 bits 01
  });

  it('accepts exactly the texts Buffer decodes and re-encodes to themselves', () => {
    const r = seededRandom(2);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < 5_000; i++) {
      let s = '';
      const n = r.int(12);
      for (let j = 0; j < n; j++) s += alphabet[r.int(64)];
      const canonical = n % 4 !== 1 && Buffer.from(Buffer.from(s, 'base64url')).toString('base64url') === s;
      const got = fromBase64url(s);
      if (canonical) expect(got).toEqual(new Uint8Array(Buffer.from(s, 'base64url')));
      else expect(got, s).toBeUndefined();
    }
  });
});

describe('hex', () => {
  it('encodes lowercase and decodes either case', () => {
    expect(toHex(new Uint8Array([0, 1, 0xab, 0xff]))).toBe('0001abff');
    expect(fromHex('0001abff')).toEqual(new Uint8Array([0, 1, 0xab, 0xff]));
    expect(fromHex('0001ABFF')).toEqual(new Uint8Array([0, 1, 0xab, 0xff]));
    expect(fromHex('')).toEqual(new Uint8Array(0));
  });

  it('rejects odd lengths and non-hex characters', () => {
    for (const bad of ['0', 'abc', '0g', 'zz', ' 00', '0x00', '00\n', '٠٠']) expect(fromHex(bad), bad).toBeUndefined();
  });

  it('round-trips random bytes', () => {
    const r = seededRandom(3);
    for (let n = 0; n < 100; n++) {
      const b = r.bytes(n);
      expect(toHex(b)).toBe(Buffer.from(b).toString('hex'));
      expect(fromHex(toHex(b))).toEqual(b);
    }
  });
});

describe('concatBytes, utf8, bytesEqual', () => {
  it('concatenates in order, including empty parts and subarrays', () => {
    const big = new Uint8Array([9, 8, 7, 6]);
    expect(concatBytes(new Uint8Array([1]), new Uint8Array(0), big.subarray(1, 3))).toEqual(new Uint8Array([1, 8, 7]));
    expect(concatBytes()).toEqual(new Uint8Array(0));
  });

  it('encodes UTF-8, NUL included', () => {
    expect(utf8('a\0é')).toEqual(new Uint8Array([0x61, 0x00, 0xc3, 0xa9]));
  });

  it('compares lengths and every byte', () => {
    expect(bytesEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
    expect(bytesEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(bytesEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
    expect(bytesEqual(new Uint8Array([0, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(false);
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false);
  });
});
