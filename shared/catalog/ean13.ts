// SPDX-License-Identifier: Apache-2.0
// Product barcodes: EAN-13 (JAN in Japan, prefixes 45 and 49) with its modulo-10 check digit
// (GS1 General Specifications, section 7.9.1). A 12-digit UPC-A is accepted as the EAN-13 with a
// leading 0: GS1 defines UPC-A as exactly that GTIN-13, and the check digit is the same because a
// leading 0 adds nothing to the weighted sum. EAN-8, UPC-E and add-on symbols are not accepted:
// they would need their own catalog keys, and no product in our catalogs uses them yet.
//
// Scanners end a scan with CR/LF; surrounding spaces, tabs, CR and LF are removed, nothing else.
import { assert } from '../assert.ts';

/** Longest text looked at; anything longer is refused before any parsing (a limit on everything). */
export const PRODUCT_CODE_TEXT_MAX = 32;

export type Ean13Failure = 'NOT_DIGITS' | 'BAD_LENGTH' | 'BAD_CHECK_DIGIT' | 'TOO_LONG';

export type Ean13Result =
  /** `gtin` is always 13 digits; `symbology` says what was scanned. */
  { ok: true; gtin: string; symbology: 'ean-13' | 'upc-a' } | { ok: false; reason: Ean13Failure; detail: string };

const DIGITS = /^[0-9]+$/;
const DIGITS_12 = /^[0-9]{12}$/;
const GTIN13 = /^[0-9]{13}$/;

/** The GS1 check digit for 12 digits: weights 1,3,1,3,... from the left (3 on the digit next to the check digit). */
export function ean13CheckDigit(first12: string): number {
  assert(DIGITS_12.test(first12), 'ean13CheckDigit takes exactly 12 ASCII digits');
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += (first12.charCodeAt(i) - 48) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10;
}

/** True when `text` is exactly 13 ASCII digits with a correct check digit. Never throws. */
export function isValidGtin13(text: unknown): text is string {
  return typeof text === 'string' && GTIN13.test(text) && ean13CheckDigit(text.slice(0, 12)) === text.charCodeAt(12) - 48;
}

/** Parses scanned text as EAN-13 / JAN, or UPC-A as a 0-prefixed EAN-13. Never throws. */
export function parseEan13(text: unknown): Ean13Result {
  if (typeof text !== 'string') return { ok: false, reason: 'NOT_DIGITS', detail: 'not a string' };
  if (text.length > PRODUCT_CODE_TEXT_MAX)
    return { ok: false, reason: 'TOO_LONG', detail: `${text.length} characters, at most ${PRODUCT_CODE_TEXT_MAX}` };
  const t = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
  if (!DIGITS.test(t)) return { ok: false, reason: 'NOT_DIGITS', detail: 'a product code has only digits' };
  if (t.length !== 13 && t.length !== 12)
    return { ok: false, reason: 'BAD_LENGTH', detail: `EAN-13 has 13 digits and UPC-A 12, got ${t.length}` };
  const gtin = t.length === 12 ? '0' + t : t;
  if (!isValidGtin13(gtin)) return { ok: false, reason: 'BAD_CHECK_DIGIT', detail: 'check digit is wrong' };
  return { ok: true, gtin, symbology: t.length === 12 ? 'upc-a' : 'ean-13' };
}
