// SPDX-License-Identifier: Apache-2.0
// What a scanned line is: a payment code (shared/codes/decode.ts), a product barcode (EAN-13/JAN
// or UPC-A), or neither. Payment codes are tried first; the two cannot collide, because every
// payment code is 20 or 509 digits (spaces or hyphens between groups allowed) or starts with "KP",
// and a product code is 12 or 13 digits.
import { decodeCode, type DecodedCode } from '../../../shared/codes/decode.ts';
import { parseEan13 } from '../../../shared/catalog/ean13.ts';

export type ScanClass =
  | { kind: 'payment'; code: DecodedCode }
  | { kind: 'product'; gtin: string }
  /** Neither. `detail` is safe to log (it never contains the scanned text); `length` is its length. */
  | { kind: 'garbage'; detail: string; length: number };

export function classifyScan(text: string): ScanClass {
  const decoded = decodeCode(text);
  if (decoded.ok) return { kind: 'payment', code: decoded.code };
  const product = parseEan13(text);
  if (product.ok) return { kind: 'product', gtin: product.gtin };
  return {
    kind: 'garbage',
    detail: `payment code: ${decoded.detail}; product code: ${product.detail}`,
    length: typeof text === 'string' ? text.length : 0,
  };
}
