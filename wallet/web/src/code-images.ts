// SPDX-License-Identifier: Apache-2.0
// Code images as SVG text: QR for every code (qrcode's browser build), and Code 128 for the 20-digit
// codes (bwip-js, loaded on first use as its own chunk: it is the biggest part of the app). Both are
// black on an opaque white ground with a quiet zone, the contrast scanners need.
import QRCode from 'qrcode';

/** 'M' recovers ~15 % damage; the CLI uses the same level, so kiosks see identical symbols. */
const QR_OPTIONS = { type: 'svg', errorCorrectionLevel: 'M', margin: 4, color: { dark: '#000000', light: '#ffffff' } } as const;

export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, QR_OPTIONS);
}

export async function code128Svg(digits: string): Promise<string> {
  if (!/^\d{20}$/.test(digits)) throw new Error('a barcode is drawn only for 20-digit codes');
  const bwip = await import('bwip-js/browser');
  return bwip.toSVG({ bcid: 'code128', text: digits, scale: 3, height: 14, paddingwidth: 10, paddingheight: 4, backgroundcolor: 'FFFFFF' });
}

/** "1234 5678 9012 3456 7890": digits in groups of four, as printed under a barcode. */
export function groupDigits(digits: string): string {
  return digits.replace(/(\d{4})(?=\d)/g, '$1 ');
}
