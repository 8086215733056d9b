// SPDX-License-Identifier: Apache-2.0
// Reads a QR code from a PNG (a screenshot of the wallet's code, dropped on the simulated kiosk's
// screen), as the kiosk's scanner would read it from the phone. The pixel count is checked in the
// PNG header before anything is inflated, so a small file that would expand to gigabytes is refused.
// jsQR tries the image as is and inverted (light code on a dark screen).
import jsQRModule from 'jsqr';
import type { Options, QRCode } from 'jsqr';
import { PNG } from 'pngjs';
import { WebScreenError } from './web-errors.ts';

// jsqr is CommonJS: its default import types as the module object, but at run time it is the function.
const jsQR = jsQRModule as unknown as (data: Uint8ClampedArray, width: number, height: number, options?: Options) => QRCode | null;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Largest image decoded: 12 megapixels (a 4000x3000 photo; phone screenshots are about 3). */
export const QR_IMAGE_PIXELS_MAX = 12_000_000;

export function isPng(bytes: Buffer): boolean {
  return bytes.length >= PNG_SIGNATURE.length && bytes.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE);
}

/** Width and height from the IHDR chunk, which a valid PNG has first. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  if (bytes.length < 24 || bytes.toString('latin1', 12, 16) !== 'IHDR')
    throw new WebScreenError('IMAGE_UNREADABLE', 'the PNG has no header chunk');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/**
 * The text of the QR code in a PNG. Throws WebScreenError: UNSUPPORTED_MEDIA_TYPE (not a PNG),
 * IMAGE_TOO_LARGE, IMAGE_UNREADABLE or NO_QR_FOUND.
 */
export function readQrFromPng(bytes: Buffer, pixelsMax: number = QR_IMAGE_PIXELS_MAX): string {
  if (!isPng(bytes)) throw new WebScreenError('UNSUPPORTED_MEDIA_TYPE', 'the body is not a PNG image');
  const { width, height } = pngSize(bytes);
  if (width === 0 || height === 0) throw new WebScreenError('IMAGE_UNREADABLE', 'the PNG is empty');
  if (width * height > pixelsMax)
    throw new WebScreenError('IMAGE_TOO_LARGE', `the image may have at most ${pixelsMax} pixels, this one has ${width}x${height}`);
  let png: PNG;
  try {
    png = PNG.sync.read(bytes);
  } catch (e) {
    throw new WebScreenError('IMAGE_UNREADABLE', `the PNG could not be decoded: ${(e as Error).message}`);
  }
  const pixels = new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength);
  const found = jsQR(pixels, png.width, png.height, { inversionAttempts: 'attemptBoth' });
  if (!found || found.data.length === 0) throw new WebScreenError('NO_QR_FOUND');
  return found.data;
}
