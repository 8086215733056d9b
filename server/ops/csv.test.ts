// SPDX-License-Identifier: Apache-2.0
// CSV exports: RFC 4180 quoting, and text a spreadsheet would run as a formula made inert.
import { describe, expect, it } from 'vitest';
import { csvCell, csvTable } from './csv.ts';

/** An RFC 4180 reader, written independently of the writer, to read back what was written. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') {
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      i++;
      continue;
    }
    if (c === ',') {
      row.push(field);
      field = '';
      i++;
      continue;
    }
    if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 2;
      continue;
    }
    if (c === '\r' || c === '\n' || c === '"') throw new Error(`bare ${JSON.stringify(c)} at ${i}`);
    field += c;
    i++;
  }
  if (field !== '' || row.length > 0) throw new Error('last record not ended by CRLF');
  return rows;
}

describe('CSV', () => {
  it('quotes fields with commas, quotes, CR or LF, doubling quotes, and leaves the rest bare', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('cr\rhere')).toBe('"cr\rhere"');
    expect(csvCell('')).toBe('');
    expect(csvCell(null)).toBe('');
    expect(csvCell(1200)).toBe('1200');
    expect(csvCell('2026-11-28T21:00:00+09:00')).toBe('2026-11-28T21:00:00+09:00');
    expect(csvCell('Green tea 500ml ¥150')).toBe('Green tea 500ml ¥150');
  });

  it('prefixes text that starts like a formula with an apostrophe, before quoting', () => {
    expect(csvCell('=HYPERLINK("http://evil.example","x")')).toBe(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
    expect(csvCell('+1+2')).toBe("'+1+2");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\t=1')).toBe("'\t=1");
    expect(csvCell('\r=1')).toBe(`"'\r=1"`);
    expect(csvCell('a=b')).toBe('a=b');
    expect(() => csvCell(Number.NaN)).toThrow();
  });

  it('writes a table with CRLF after every record, which an RFC 4180 reader reads back field for field', () => {
    const rows = [
      ['k1', 'Green tea, 500ml', 2, 300, 'refund: "wrong slot"\nsecond line'],
      ['=cmd|calc', null, 0, 0, '@x'],
    ] as const;
    const text = csvTable(['kiosk', 'product', 'units', 'amount', 'note'], rows);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(parseCsv(text)).toEqual([
      ['kiosk', 'product', 'units', 'amount', 'note'],
      ['k1', 'Green tea, 500ml', '2', '300', 'refund: "wrong slot"\nsecond line'],
      ["'=cmd|calc", '', '0', '0', "'@x"],
    ]);
    expect(() => csvTable(['a', 'b'], [['only one']])).toThrow(/1 fields/);
  });
});
