// SPDX-License-Identifier: Apache-2.0
// Code images for the terminal and for files: QR (every code) via `qrcode`, and Code 128 (the
// 20-digit online and numeric offline codes, for barcode scanners) via bwip-js.
import bwipjs from 'bwip-js';
import QRCode from 'qrcode';
import { writeFile } from 'node:fs/promises';

/** QR error correction for every code image: 'M' recovers ~15 % damage and keeps offline codes scannable. */
const QR_OPTIONS = { errorCorrectionLevel: 'M', margin: 4 } as const;

/** The QR code drawn with half-block characters, two modules per character row. */
export async function terminalQr(text: string): Promise<string> {
  return QRCode.toString(text, { ...QR_OPTIONS, type: 'terminal', small: true });
}

/** Writes the QR code as a PNG file. */
export async function writeQrPng(file: string, text: string): Promise<void> {
  await QRCode.toFile(file, text, { ...QR_OPTIONS, type: 'png', scale: 6 });
}

export function isDigitCode(text: string): boolean {
  return /^\d{20}$/.test(text);
}

/**
 * Writes a 20-digit code as a Code 128 barcode PNG with the digits printed under it. The background is
 * opaque white: scanners (and zbar) read bwip-js's default transparent background as black.
 */
export async function writeCode128Png(file: string, digits: string): Promise<void> {
  if (!isDigitCode(digits)) throw new Error('a Code 128 barcode is made only for 20-digit codes');
  const png = await bwipjs.toBuffer({
    bcid: 'code128',
    text: digits,
    scale: 3,
    height: 12,
    includetext: true,
    textxalign: 'center',
    paddingwidth: 12,
    paddingheight: 6,
    backgroundcolor: 'FFFFFF',
  });
  await writeFile(file, png);
}

/** "1234 5678 9012 3456 7890": digits in groups of four, as printed under a barcode. */
export function groupDigits(digits: string): string {
  return digits.replace(/(\d{4})(?=\d)/g, '$1 ');
}
