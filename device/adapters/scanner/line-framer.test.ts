// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { CODE_TEXT_MAX } from '../../../shared/schemas.ts';
import { seededRandom } from '../../../shared/random.ts';
import { aimForSymbology, checkText, LineFramer, symbologyForAim, type FramerEvent, type LineFramerOptions } from './line-framer.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const bytes = (...b: number[]) => Uint8Array.from(b);

function feed(opts: LineFramerOptions, ...chunks: (string | Uint8Array)[]): FramerEvent[] {
  const f = new LineFramer(opts);
  return chunks.flatMap((c) => f.push(typeof c === 'string' ? enc(c) : c));
}
const scan = (text: string, extra: object = {}): FramerEvent => ({ kind: 'scan', scan: { text, ...extra } });
const drop = (length: number, reason: string): FramerEvent => ({ kind: 'dropped', dropped: { length, reason } as never });

describe('LineFramer: suffixes', () => {
  it('CR (default)', () => {
    expect(feed({}, 'abc\rdef\r')).toEqual([scan('abc'), scan('def')]);
  });
  it('LF', () => {
    expect(feed({ suffix: 'LF' }, 'abc\ndef\n')).toEqual([scan('abc'), scan('def')]);
  });
  it('CRLF', () => {
    expect(feed({ suffix: 'CRLF' }, 'abc\r\ndef\r\n')).toEqual([scan('abc'), scan('def')]);
  });
  it('holds a partial line until its terminator, across many chunks', () => {
    expect(feed({ suffix: 'LF' }, 'K', 'P1', '.x', 'yz', '\n')).toEqual([scan('KP1.xyz')]);
    expect(feed({ suffix: 'LF' }, 'KP1')).toEqual([]);
  });
  it('CRLF split across a chunk boundary', () => {
    expect(feed({ suffix: 'CRLF' }, 'abc\r', '\ndef\r', '\n')).toEqual([scan('abc'), scan('def')]);
  });
  it('byte-at-a-time gives the same result as one chunk', () => {
    const input = enc(']Q1KP1.one\r\n]E04901234567894\r\n\r\nplain\r\n');
    const one = feed({ suffix: 'CRLF' }, input);
    const f = new LineFramer({ suffix: 'CRLF' });
    const split = [...input].flatMap((b) => f.push(bytes(b)));
    expect(split).toEqual(one);
    expect(one.map((e) => e.kind)).toEqual(['scan', 'scan', 'scan']);
  });
  it('ignores empty lines silently', () => {
    expect(feed({}, '\r\r\rabc\r\r')).toEqual([scan('abc')]);
    expect(feed({ suffix: 'CRLF' }, '\r\n\r\nabc\r\n')).toEqual([scan('abc')]);
  });
  it('a suffix mismatch yields drops, never wrong scans', () => {
    // Scanner sends CRLF, we expect CR: the LF starts the next line and makes it non-printable.
    expect(feed({ suffix: 'CR' }, 'abc\r\ndef\r\n')).toEqual([scan('abc'), drop(4, 'non-printable')]);
    // Scanner sends CR, we expect CRLF: nothing completes (lone CR is content) until CR LF.
    expect(feed({ suffix: 'CRLF' }, 'abc\rdef\r\n')).toEqual([drop(7, 'non-printable')]);
    // A lone LF in CRLF mode is content too.
    expect(feed({ suffix: 'CRLF' }, 'ab\ncd\r\n')).toEqual([drop(5, 'non-printable')]);
  });
});

describe('LineFramer: AIM symbology identifiers', () => {
  it.each([
    [']Q1', 'qr'],
    [']Q3', 'qr'],
    [']E0', 'ean-13'],
    [']E4', 'ean-8'],
    [']C0', 'code-128'],
    [']C1', 'gs1-128'],
    [']A0', 'code-39'],
    [']d2', 'data-matrix'],
    [']L0', 'pdf417'],
    [']z0', 'aztec'],
    [']e0', 'gs1-databar'],
    [']I1', 'itf'],
  ])('%s -> %s', (aim, sym) => {
    expect(feed({}, `${aim}DATA\r`)).toEqual([scan('DATA', { aimId: aim, symbology: sym })]);
    expect(symbologyForAim(aim)).toBe(sym);
  });
  it('an unknown AIM letter is stripped and kept as aimId without a symbology', () => {
    expect(feed({}, ']X0DATA\r')).toEqual([scan('DATA', { aimId: ']X0' })]);
  });
  it('does not strip things that are not AIM ids', () => {
    expect(feed({}, ']QxDATA\r', ']1QDATA\r', 'Q1]DATA\r', ']Q\r')).toEqual([
      scan(']QxDATA'),
      scan(']1QDATA'),
      scan('Q1]DATA'),
      scan(']Q'),
    ]);
  });
  it("aim: 'off' keeps the prefix as text", () => {
    expect(feed({ aim: 'off' }, ']Q1DATA\r')).toEqual([scan(']Q1DATA')]);
  });
  it('a prefix with no text is dropped as empty', () => {
    expect(feed({}, ']Q1\r')).toEqual([drop(3, 'empty')]);
  });
  it('aimForSymbology round-trips', () => {
    for (const s of ['qr', 'ean-13', 'ean-8', 'code-128', 'gs1-128', 'code-39', 'itf', 'data-matrix', 'pdf417', 'aztec', 'gs1-databar']) {
      expect(symbologyForAim(aimForSymbology(s)!)).toBe(s);
    }
    expect(aimForSymbology('maxicode')).toBeUndefined();
  });
});

describe('LineFramer: size caps', () => {
  it('accepts text of exactly CODE_TEXT_MAX after the prefix and drops one more', () => {
    const ok = 'a'.repeat(CODE_TEXT_MAX);
    expect(feed({}, `]Q1${ok}\r`)).toEqual([scan(ok, { aimId: ']Q1', symbology: 'qr' })]);
    expect(feed({}, `]Q1${ok}a\r`)).toEqual([drop(CODE_TEXT_MAX + 4, 'too-long')]);
  });
  it('counts the text cap in characters (UTF-16 units), the byte cap in bytes', () => {
    const kana = 'あ'.repeat(300); // 300 chars, 900 bytes: under both caps
    expect(feed({}, `${kana}\r`)).toEqual([scan(kana)]);
    const more = 'あ'.repeat(400); // 1200 bytes: over the 1024-byte cap
    expect(feed({}, `${more}\r`)).toEqual([drop(1200, 'too-long')]);
  });
  it('line byte cap: exactly maxLineBytes passes the framing, one more is discarded to the next terminator', () => {
    const o = { maxLineBytes: 8, maxTextChars: 100 };
    expect(feed(o, '12345678\r')).toEqual([scan('12345678')]);
    expect(feed(o, '123456789\rok\r')).toEqual([drop(9, 'too-long'), scan('ok')]);
    expect(feed({ ...o, suffix: 'CRLF' }, '12345678\r\n')).toEqual([scan('12345678')]);
    expect(feed({ ...o, suffix: 'CRLF' }, '123456789\r\nok\r\n')).toEqual([drop(9, 'too-long'), scan('ok')]);
  });
  it('an endless line is not buffered: one drop with its full length when it finally ends', () => {
    const f = new LineFramer({ maxLineBytes: 16, suffix: 'CRLF' });
    const events: FramerEvent[] = [];
    for (let i = 0; i < 1000; i++) events.push(...f.push(enc('xxxxxxxxxx')));
    expect(events).toEqual([]);
    events.push(...f.push(enc('\r')), ...f.push(enc('\nnext\r\n')));
    expect(events).toEqual([drop(10_000, 'too-long'), scan('next')]);
  });
  it('a lone CR inside an over-long CRLF line does not end it', () => {
    expect(feed({ maxLineBytes: 4, suffix: 'CRLF' }, 'abcdef\rgh\r\nok\r\n')).toEqual([drop(9, 'too-long'), scan('ok')]);
  });
  it('rejects silly limits', () => {
    expect(() => new LineFramer({ maxLineBytes: 0 })).toThrow(RangeError);
    expect(() => new LineFramer({ maxTextChars: 1.5 })).toThrow(RangeError);
  });
});

describe('LineFramer: content checks', () => {
  it('drops invalid UTF-8 with its length', () => {
    expect(feed({}, bytes(0x41, 0xc3, 0x28, 0x0d))).toEqual([drop(3, 'invalid-utf8')]);
    expect(feed({}, bytes(0xed, 0xa0, 0x80, 0x0d))).toEqual([drop(3, 'invalid-utf8')]); // encoded surrogate
    expect(feed({}, bytes(0xc0, 0xaf, 0x0d))).toEqual([drop(2, 'invalid-utf8')]); // overlong
  });
  it('a UTF-8 sequence split across chunks decodes', () => {
    const e = enc('é\r');
    expect(feed({}, e.subarray(0, 1), e.subarray(1))).toEqual([scan('é')]);
  });
  it('drops control characters (C0, DEL, C1) but keeps the next line', () => {
    expect(feed({}, 'a\u0000b\r', 'a\tb\r', 'a\u007fb\r', 'a\u0085b\r', 'fine\r')).toEqual([
      drop(3, 'non-printable'),
      drop(3, 'non-printable'),
      drop(3, 'non-printable'),
      drop(4, 'non-printable'),
      scan('fine'),
    ]);
  });
  it('a drop never carries the text', () => {
    const events = feed({ maxLineBytes: 8 }, 'SECRET-CODE-123\r', 'SECRET\u0001\r');
    expect(JSON.stringify(events)).not.toContain('SECRET');
  });
  it('reset() reports a partial line as incomplete, then starts clean', () => {
    const f = new LineFramer({ suffix: 'CRLF' });
    f.push(enc('abc\r'));
    expect(f.reset()).toEqual([drop(4, 'incomplete')]);
    expect(f.reset()).toEqual([]);
    expect(f.push(enc('\nok\r\n'))).toEqual([drop(3, 'non-printable')]); // the lone LF is content
    expect(f.push(enc('ok\r\n'))).toEqual([scan('ok')]);
  });
  it('checkText', () => {
    expect(checkText('ok')).toBeUndefined();
    expect(checkText('')).toBe('empty');
    expect(checkText('a\rb')).toBe('non-printable');
    expect(checkText('x'.repeat(CODE_TEXT_MAX + 1))).toBe('too-long');
  });
});

describe('LineFramer: seeded garbage fuzz', () => {
  it.each([1, 2, 3, 42, 0xdecafbad])('seed %i: never throws, scans are clean and capped, and the framer recovers', (seed) => {
    const rnd = seededRandom(seed);
    for (const suffix of ['CR', 'LF', 'CRLF'] as const) {
      const f = new LineFramer({ suffix, maxLineBytes: 64, maxTextChars: 40 });
      let total = 0;
      const bad: string[] = [];
      for (let i = 0; i < 300; i++) {
        // Mix pure noise with terminator-rich noise so both short and over-long lines occur.
        const chunk = rnd.bytes(rnd.int(200));
        if (i % 2) for (let j = 0; j < chunk.length; j++) if (rnd.int(8) === 0) chunk[j] = rnd.int(2) ? 0x0d : 0x0a;
        const events = f.push(chunk);
        for (const e of events) {
          if (e.kind === 'scan') {
            const t = e.scan.text;
            // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for control characters that leaked through
            if (t.length === 0 || t.length > 40 || /[\u0000-\u001f\u007f-\u009f]/.test(t)) bad.push(t);
          } else if (!(e.dropped.length > 0) || Object.keys(e.dropped).join() !== 'length,reason') {
            bad.push(JSON.stringify(e.dropped));
          }
        }
        total += events.length;
      }
      expect(bad).toEqual([]);
      expect(total).toBeGreaterThan(0);
      f.reset();
      const term = suffix === 'CR' ? '\r' : suffix === 'LF' ? '\n' : '\r\n';
      expect(f.push(enc(`]Q1KP1.ok${term}`))).toEqual([scan('KP1.ok', { aimId: ']Q1', symbology: 'qr' })]);
    }
  });
});
