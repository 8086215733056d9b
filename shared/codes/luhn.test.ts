// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../random.ts';
import { luhnCheckDigit, luhnValid } from './luhn.ts';

describe('Luhn', () => {
  it('computes the well-known check digits', () => {
    expect(luhnCheckDigit('7992739871')).toBe('3');
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnCheckDigit('0')).toBe('0');
    expect(luhnCheckDigit('1')).toBe('8');
    expect(luhnValid('4111111111111111')).toBe(true);
  });

  it('detects every single-digit substitution', () => {
    const r = seededRandom(20);
    for (let n = 0; n < 20; n++) {
      let body = '';
      for (let i = 0; i < 19; i++) body += String(r.int(10));
      const code = body + luhnCheckDigit(body);
      expect(luhnValid(code)).toBe(true);
      for (let i = 0; i < code.length; i++) {
        for (let d = 0; d <= 9; d++) {
          if (String(d) === code[i]) continue;
          expect(luhnValid(code.slice(0, i) + d + code.slice(i + 1))).toBe(false);
        }
      }
    }
  });

  it('detects adjacent transpositions except 09 <-> 90', () => {
    for (let a = 0; a <= 9; a++) {
      for (let b = 0; b <= 9; b++) {
        if (a === b) continue;
        const body = `31${a}${b}5`;
        const code = body + luhnCheckDigit(body);
        const swapped = `31${b}${a}5` + code.slice(-1);
        expect(luhnValid(swapped)).toBe((a === 0 && b === 9) || (a === 9 && b === 0));
      }
    }
  });

  it('luhnValid is false for anything that is not at least two ASCII digits, and never throws', () => {
    for (const bad of ['', '0', '0 ', ' 00', '12a4', '７９', '٠٠', '1e5', '-18']) expect(luhnValid(bad), bad).toBe(false);
    expect(luhnValid(42 as unknown as string)).toBe(false);
  });

  it('luhnCheckDigit throws on non-digits (a programmer error)', () => {
    expect(() => luhnCheckDigit('')).toThrow();
    expect(() => luhnCheckDigit('12x')).toThrow();
  });
});
