// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { fromBase64url, toBase64url } from '../bytes.ts';
import { CODE_TEXT_MAX } from '../schemas.ts';
import { seededRandom } from '../random.ts';
import { decodeCode, decodeStats, normalizeCodeText, type DecodeResult } from './decode.ts';
import { luhnCheckDigit } from './luhn.ts';
import { makeNumericOfflineCode } from './numeric-offline.ts';
import { makeOnlineCode } from './online-code.ts';
import { fixture, T0_MS } from './test-fixtures.ts';

const detailOf = (r: DecodeResult) => (r.ok ? `ok: ${r.code.kind}` : r.detail);
const withLuhn = (body: string) => body + luhnCheckDigit(body);
const offlineBytes = (text: string) => fromBase64url(text.slice(4))!;
const offlineText = (bytes: Uint8Array) => 'KP1.' + toBase64url(bytes);

describe('decodeCode', () => {
  const f = fixture();
  const online = makeOnlineCode(seededRandom(40));
  const numeric = makeNumericOfflineCode({ handle: '12345678', secret: new Uint8Array(32).fill(1), timeMs: T0_MS, stepMs: 30_000 });

  it('tells the three kinds apart', () => {
    expect(decodeCode(online)).toEqual({ ok: true, code: { kind: 'online', text: online } });
    const n = decodeCode(numeric);
    expect(n.ok && n.code).toEqual({
      kind: 'offline-numeric',
      text: numeric,
      handle: '12345678',
      stepDigit: Number(numeric[10]),
      mac: numeric.slice(11, 19),
    });
    const q = decodeCode(f.offlineCode);
    expect(q.ok && q.code.kind).toBe('offline-qr');
  });

  it('strips spaces, tabs, CR and LF at the ends', () => {
    for (const wrapped of [`${online}\r\n`, `\n${online}`, ` \t${online} \r`, `${f.offlineCode}\r`, `${f.offlineCodeV3}\r\n`]) {
      const r = decodeCode(wrapped);
      expect(r.ok && r.code.text).toBe(wrapped.trim());
    }
    expect(detailOf(decodeCode(`\u00a0${online}`))).toBe('not a kioskpay code'); // NBSP is not stripped
    expect(detailOf(decodeCode(`${online}\u0000`))).toBe('not a kioskpay code');
  });

  it('takes digits as the wallet shows them or a person types them: groups with spaces or hyphens', () => {
    const grouped = (digits: string, sep: string) => digits.replace(/(\d{4})(?=\d)/g, `$1${sep}`);
    for (const [code, kind] of [
      [online, 'online'],
      [numeric, 'offline-numeric'],
    ] as const) {
      for (const typed of [
        grouped(code, ' '),
        grouped(code, '-'),
        grouped(code, '  '),
        grouped(code, ' - '),
        ` ${grouped(code, ' ')}\r\n`,
        `${code.slice(0, 10)} ${code.slice(10)}`,
      ]) {
        const r = decodeCode(typed);
        expect(r.ok && r.code, JSON.stringify(typed)).toMatchObject({ kind, text: code });
      }
    }
    expect(normalizeCodeText('3162 8705-1234 5678  9012')).toBe('31628705123456789012');
    // The version-3 offline QR code, which is digits too, reads the same way (a few groups keep it under the length bound).
    const v3 = decodeCode(`${f.offlineCodeV3.slice(0, 200)} ${f.offlineCodeV3.slice(200, 400)}-${f.offlineCodeV3.slice(400)}`);
    expect(v3.ok && v3.code).toMatchObject({ kind: 'offline-qr', version: 3, text: f.offlineCodeV3 });
  });

  it('still checks the digits once the separators are gone: count, check digit, prefix', () => {
    const g = online.replace(/(\d{4})(?=\d)/g, '$1 ');
    expect(detailOf(decodeCode(g.slice(0, -1)))).toBe('numeric code must have 20 digits, got 19');
    expect(detailOf(decodeCode(g.slice(0, -1) + String((Number(online[19]) + 1) % 10)))).toBe('numeric code check digit is wrong');
    expect(detailOf(decodeCode(g.replace(/^31/, '30')))).toMatch(/check digit is wrong|unknown numeric code prefix/);
  });

  it('removes separators only between digits, and only spaces and hyphens', () => {
    const g = online.replace(/(\d{4})(?=\d)/g, '$1 ');
    for (const bad of [
      `-${online}`,
      `${online}-`,
      g.replaceAll(' ', '.'),
      g.replaceAll(' ', '/'),
      g.replaceAll(' ', '\t'),
      g.replaceAll(' ', '\u00a0'),
      g.replaceAll(' ', '\u2013'),
      `${g} x`,
    ]) {
      expect(decodeCode(bad).ok, JSON.stringify(bad)).toBe(false);
    }
    // base64url uses '-' as data: a hyphen in a KP1. code is never removed, and case is never folded.
    expect(f.offlineCode).toContain('-');
    expect(normalizeCodeText(f.offlineCode)).toBe(f.offlineCode);
    expect(decodeCode(f.offlineCode.toLowerCase()).ok).toBe(false);
    expect(detailOf(decodeCode(f.offlineCode.slice(0, 100) + ' ' + f.offlineCode.slice(100)))).toMatch(/must be 286 characters/);
  });

  it('applies the length bound to the text as given, separators included', () => {
    const spaced = f.offlineCodeV3.split('').join(' ');
    expect(spaced.length).toBeGreaterThan(CODE_TEXT_MAX);
    expect(detailOf(decodeCode(spaced))).toMatch(/too long/);
  });

  it('rejects what is not a string', () => {
    for (const x of [undefined, null, 42, 3.14e19, {}, [online], new Uint8Array(20), Symbol('x')]) {
      expect(decodeCode(x)).toEqual({ ok: false, reason: 'CODE_MALFORMED', detail: 'code is not a string' });
    }
  });

  it('rejects empty and whitespace-only text', () => {
    expect(detailOf(decodeCode(''))).toBe('code is empty');
    expect(detailOf(decodeCode(' \r\n\t'))).toBe('code is empty');
  });

  it(`rejects anything longer than ${CODE_TEXT_MAX} characters before parsing it, even a valid code with padding`, () => {
    const before = decodeStats.parsed;
    const padded = f.offlineCode + ' '.repeat(CODE_TEXT_MAX - f.offlineCode.length + 1);
    expect(padded).toHaveLength(CODE_TEXT_MAX + 1);
    expect(detailOf(decodeCode(padded))).toMatch(/too long: 513 characters/);
    expect(detailOf(decodeCode('1'.repeat(1_000_000)))).toMatch(/too long/);
    expect(decodeStats.parsed).toBe(before);
    // One character less is parsed (and decodes).
    expect(decodeCode(padded.slice(0, CODE_TEXT_MAX)).ok).toBe(true);
    expect(decodeStats.parsed).toBe(before + 1);
  });

  it('rejects 20 digits with a wrong check digit', () => {
    const last = Number(online[19]);
    expect(detailOf(decodeCode(online.slice(0, 19) + String((last + 1) % 10)))).toBe('numeric code check digit is wrong');
    expect(detailOf(decodeCode(numeric.slice(0, 19) + String((Number(numeric[19]) + 5) % 10)))).toBe('numeric code check digit is wrong');
  });

  it('rejects digit strings that are not 20 long', () => {
    expect(detailOf(decodeCode(withLuhn('31' + '1'.repeat(16))))).toMatch(/20 digits, got 19/);
    expect(detailOf(decodeCode(withLuhn('31' + '1'.repeat(18))))).toMatch(/20 digits, got 21/);
  });

  it('rejects an unknown numeric prefix even with a valid check digit', () => {
    for (const prefix of ['30', '33', '00', '99'])
      expect(detailOf(decodeCode(withLuhn(prefix + '1'.repeat(17))))).toBe(`unknown numeric code prefix ${prefix}`);
  });

  it('rejects other text prefixes and other QR versions', () => {
    const body = f.offlineCode.slice(4);
    expect(detailOf(decodeCode('KP3.' + body))).toBe('unsupported offline code version KP3');
    expect(detailOf(decodeCode('KP2.' + body))).toBe('offline code must be 291 characters, got 286');
    expect(detailOf(decodeCode('KP10.' + body))).toBe('unsupported offline code version KP10');
    expect(detailOf(decodeCode('kp1.' + body))).toBe('not a kioskpay code');
    expect(detailOf(decodeCode('KP1' + body))).toBe('not a kioskpay code');
    expect(detailOf(decodeCode('https://example.com/?c=1'))).toBe('not a kioskpay code');
  });

  it('rejects a wrong version byte inside an offline code', () => {
    const b = offlineBytes(f.offlineCode);
    b[0] = 2;
    expect(detailOf(decodeCode(offlineText(b)))).toBe('unsupported offline code version 2');
  });

  it('rejects a truncated or over-long offline code', () => {
    expect(detailOf(decodeCode(f.offlineCode.slice(0, -1)))).toBe('offline code must be 286 characters, got 285');
    expect(detailOf(decodeCode(f.offlineCode.slice(0, 100)))).toMatch(/got 100/);
    expect(detailOf(decodeCode(f.offlineCode + 'A'))).toBe('offline code must be 286 characters, got 287');
    expect(detailOf(decodeCode(f.offlineCode + 'AAAA'))).toMatch(/got 290/);
  });

  it('rejects bad base64url: foreign characters and non-canonical trailing bits', () => {
    for (const c of ['+', '/', '=', ' ', '.', 'é']) {
      expect(detailOf(decodeCode(f.offlineCode.slice(0, 150) + c + f.offlineCode.slice(151)))).toBe(
        'offline code is not canonical base64url',
      );
    }
    // 211 bytes leave 4 unused bits in the last character; setting one gives the same bytes in another text.
    const last = f.offlineCode.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) | 1]!;
    expect(detailOf(decodeCode(f.offlineCode.slice(0, -1) + sibling))).toBe('offline code is not canonical base64url');
  });

  it('rejects an offline code whose credential is not well-formed', () => {
    const b = offlineBytes(f.offlineCode);
    b[1] = 7; // credential version
    expect(detailOf(decodeCode(offlineText(b)))).toBe('offline code credential: unsupported credential version 7');
    const c = offlineBytes(f.offlineCode);
    c[1 + 56] = 0;
    c[1 + 57] = 0; // currency 0
    expect(detailOf(decodeCode(offlineText(c)))).toBe('offline code credential: unsupported credential currency 0');
  });

  it('reports no faults for anything above', () => {
    expect(decodeStats.faults).toBe(0);
  });
});
