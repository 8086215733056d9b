// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { classifyScan } from './classify-scan.ts';
import { NUMERIC_OFFLINE_CODE, OFFLINE_QR_CODE, ONLINE_CODE } from './test-world.ts';

describe('classifying a scanned line', () => {
  it('recognises each kind of payment code', () => {
    expect(classifyScan(ONLINE_CODE)).toMatchObject({ kind: 'payment', code: { kind: 'online' } });
    expect(classifyScan(NUMERIC_OFFLINE_CODE + '\r\n')).toMatchObject({ kind: 'payment', code: { kind: 'offline-numeric' } });
    expect(classifyScan(OFFLINE_QR_CODE)).toMatchObject({ kind: 'payment', code: { kind: 'offline-qr' } });
  });

  it('recognises EAN-13 and UPC-A product codes', () => {
    expect(classifyScan('4901234567894')).toEqual({ kind: 'product', gtin: '4901234567894' });
    expect(classifyScan('036000291452\n')).toEqual({ kind: 'product', gtin: '0036000291452' });
  });

  it('calls everything else garbage, without echoing the text', () => {
    for (const text of [
      '',
      'hello',
      '4901234567895',
      ONLINE_CODE.slice(0, 19) + '0',
      'KP2.abc',
      '\u0000\u0001\u00ff',
      'x'.repeat(10_000),
    ]) {
      const r = classifyScan(text);
      expect(r.kind).toBe('garbage');
      if (r.kind === 'garbage') {
        expect(r.length).toBe(text.length);
        if (text.length > 3) expect(r.detail).not.toContain(text);
      }
    }
  });
});
