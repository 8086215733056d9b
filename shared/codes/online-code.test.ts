// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import type { Random } from '../random.ts';
import { seededRandom } from '../random.ts';
import { decodeCode } from './decode.ts';
import { luhnValid } from './luhn.ts';
import { makeOnlineCode, randomDigits } from './online-code.ts';

/** Serves a fixed byte stream in whatever chunks are asked for. */
function streamRandom(stream: number[]): Random & { consumed: () => number } {
  let at = 0;
  return {
    bytes(n) {
      const out = Uint8Array.from(stream.slice(at, at + n));
      if (out.length < n) throw new Error('stream exhausted');
      at += n;
      return out;
    },
    consumed: () => at,
  };
}

describe('online one-time code', () => {
  it('is "31", 17 random digits and a Luhn check digit, and decodes as online', () => {
    const r = seededRandom(30);
    for (let i = 0; i < 200; i++) {
      const code = makeOnlineCode(r);
      expect(code).toMatch(/^31[0-9]{18}$/);
      expect(luhnValid(code)).toBe(true);
      expect(decodeCode(code)).toEqual({ ok: true, code: { kind: 'online', text: code } });
    }
  });

  it('is deterministic for a seeded generator', () => {
    expect(makeOnlineCode(seededRandom(31))).toBe(makeOnlineCode(seededRandom(31)));
    expect(makeOnlineCode(seededRandom(31))).not.toBe(makeOnlineCode(seededRandom(32)));
  });

  it('discards bytes 250..255 (rejection sampling) and maps the rest to byte mod 10', () => {
    const stream = [250, 251, 252, 253, 254, 255, 0, 9, 10, 249, 123, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 255, 7, 3];
    const r = streamRandom(stream);
    expect(randomDigits(r, 17)).toBe('09093012345678973');
    expect(r.consumed()).toBe(stream.length);
  });

  it('gives the same digits however the generator chunks its bytes', () => {
    const stream = Array.from(seededRandom(33).bytes(200));
    const whole = randomDigits(streamRandom(stream), 100);
    let at = 0;
    const oneByOne: Random = { bytes: () => Uint8Array.of(stream[at++]!) };
    let s = '';
    for (let i = 0; i < 100; i++) s += randomDigits(oneByOne, 1);
    expect(s).toBe(whole);
  });

  it('has no visible bias over 100,000 digits', () => {
    const r = seededRandom(34);
    let digits = '';
    for (let i = 0; i < 100; i++) digits += randomDigits(r, 1_000);
    const counts = new Array<number>(10).fill(0);
    for (const d of digits) counts[Number(d)]!++;
    // Chi-square with 9 degrees of freedom: 27.9 is the 0.1 % critical value.
    const chi2 = counts.reduce((acc, c) => acc + (c - 10_000) ** 2 / 10_000, 0);
    expect(chi2).toBeLessThan(27.9);
  });

  it('gives up loudly on a generator that only returns bytes >= 250', () => {
    expect(() => makeOnlineCode({ bytes: (n) => new Uint8Array(n).fill(255) })).toThrow(/random source/);
  });
});
