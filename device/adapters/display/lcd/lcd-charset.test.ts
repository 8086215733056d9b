// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { isLcdChar, lcdCharForRom, lcdRomCodes, toLcdText } from './lcd-charset.ts';

describe('toLcdText', () => {
  it('keeps printable ASCII as it is', () => {
    const ascii = Array.from({ length: 0x7e - 0x20 }, (_, i) => String.fromCharCode(0x20 + i))
      .join('')
      .replace('\\', '');
    expect(toLcdText(ascii)).toBe(ascii);
  });

  it('keeps the yen sign and folds the full-width yen to it', () => {
    expect(toLcdText('¥1,200')).toBe('¥1,200');
    expect(toLcdText('￥１２００')).toBe('¥1200');
  });

  it('writes backslash and tilde as characters ROM A00 has (0x5C is ¥, 0x7E is →)', () => {
    expect(toLcdText('C:\\dir ~home')).toBe('C:/dir -home');
  });

  it('transliterates common punctuation, ligatures and accents', () => {
    expect(toLcdText('“Wait…” – it’s ready')).toBe('"Wait..." - it\'s ready');
    expect(toLcdText('Café Straße ﬁx × 2')).toBe('Cafe Strasse fix x 2');
    expect(toLcdText('€5')).toBe('EUR5');
    expect(toLcdText('お待ちください。')).toBe('?.');
  });

  it('shows a run of Japanese or emoji as one ?, and a lone one as ?', () => {
    expect(toLcdText('ご迷惑をおかけします')).toBe('?');
    expect(toLcdText('OK 👍🏽 👨‍👩‍👧 🇯🇵!')).toBe('OK ? ? ?!');
    expect(toLcdText('a😀b')).toBe('a?b');
  });

  it('turns control characters into spaces and drops zero-width characters', () => {
    expect(toLcdText('a\nb\tc\u0007d')).toBe('a b c d');
    expect(toLcdText('a\u200bb\u200dc\ufeff')).toBe('abc');
  });

  it('never throws and yields only LCD characters, for any code point', () => {
    let all = '';
    for (let c = 0; c < 0x3000; c += 7) all += String.fromCodePoint(c);
    all += '\ud800 lone surrogate \udfff';
    const out = toLcdText(all);
    for (const ch of out) expect(isLcdChar(ch), `char ${ch.codePointAt(0)}`).toBe(true);
  });
});

describe('lcdRomCodes', () => {
  it('writes ¥ as 0x5C, the arrows as 0x7E/0x7F, ASCII as itself', () => {
    expect(lcdRomCodes('¥1 A→←')).toEqual([0x5c, 0x31, 0x20, 0x41, 0x7e, 0x7f]);
  });

  it('writes anything outside the LCD set as ?', () => {
    expect(lcdRomCodes('\\é')).toEqual([0x3f, 0x3f]);
  });

  it('round-trips through lcdCharForRom', () => {
    const text = toLcdText('Pay ¥1,200 now!');
    expect(lcdRomCodes(text).map(lcdCharForRom).join('')).toBe(text);
    expect(lcdCharForRom(0x00)).toBe('\uFFFD');
  });
});
