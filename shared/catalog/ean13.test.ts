// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { ean13CheckDigit, isValidGtin13, parseEan13, PRODUCT_CODE_TEXT_MAX } from './ean13.ts';

describe('EAN-13 / JAN product codes', () => {
  it('computes the GS1 check digit of well-known codes', () => {
    expect(ean13CheckDigit('400638133393')).toBe(1); // GS1 example 4006381333931
    expect(ean13CheckDigit('490123456789')).toBe(4); // JAN 4901234567894
    expect(ean13CheckDigit('000000000000')).toBe(0);
  });

  it('accepts a JAN code with a correct check digit', () => {
    expect(parseEan13('4901234567894')).toEqual({ ok: true, gtin: '4901234567894', symbology: 'ean-13' });
  });

  it('removes the CR/LF a scanner appends, and surrounding spaces', () => {
    expect(parseEan13(' 4006381333931\r\n')).toEqual({ ok: true, gtin: '4006381333931', symbology: 'ean-13' });
  });

  it('refuses every single-digit error in a valid code', () => {
    const good = '4006381333931';
    for (let i = 0; i < 13; i++) {
      for (let d = 0; d < 10; d++) {
        if (String(d) === good[i]) continue;
        const bad = good.slice(0, i) + d + good.slice(i + 1);
        expect(parseEan13(bad)).toMatchObject({ ok: false, reason: 'BAD_CHECK_DIGIT' });
      }
    }
  });

  it('accepts a UPC-A code as the EAN-13 with a leading zero', () => {
    expect(parseEan13('036000291452')).toEqual({ ok: true, gtin: '0036000291452', symbology: 'upc-a' });
  });

  it('refuses a UPC-A code with a wrong check digit', () => {
    expect(parseEan13('036000291453')).toMatchObject({ ok: false, reason: 'BAD_CHECK_DIGIT' });
  });

  it('refuses EAN-8 and other lengths', () => {
    expect(parseEan13('96385074')).toMatchObject({ ok: false, reason: 'BAD_LENGTH' });
    expect(parseEan13('31000000000000000000')).toMatchObject({ ok: false, reason: 'BAD_LENGTH' });
    expect(parseEan13('')).toMatchObject({ ok: false, reason: 'NOT_DIGITS' });
  });

  it('refuses letters, inner spaces and full-width digits', () => {
    expect(parseEan13('400638133393A')).toMatchObject({ ok: false, reason: 'NOT_DIGITS' });
    expect(parseEan13('4006381 333931')).toMatchObject({ ok: false, reason: 'NOT_DIGITS' });
    expect(parseEan13('４００６３８１３３３９３１')).toMatchObject({ ok: false, reason: 'NOT_DIGITS' });
  });

  it('refuses over-long text before looking at it, and non-strings without throwing', () => {
    expect(parseEan13('4'.repeat(PRODUCT_CODE_TEXT_MAX + 1))).toMatchObject({ ok: false, reason: 'TOO_LONG' });
    expect(parseEan13(4006381333931)).toMatchObject({ ok: false, reason: 'NOT_DIGITS' });
    expect(parseEan13(undefined)).toMatchObject({ ok: false, reason: 'NOT_DIGITS' });
  });

  it('tells a valid GTIN-13 from an invalid one', () => {
    expect(isValidGtin13('4006381333931')).toBe(true);
    expect(isValidGtin13('4006381333932')).toBe(false);
    expect(isValidGtin13('036000291452')).toBe(false);
    expect(isValidGtin13(null)).toBe(false);
  });

  it('asserts that the check-digit helper gets 12 digits', () => {
    expect(() => ean13CheckDigit('123')).toThrow(/12 ASCII digits/);
  });
});
