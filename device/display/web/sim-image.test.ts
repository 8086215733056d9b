// SPDX-License-Identifier: Apache-2.0
// POST /sim/image: a screenshot of the wallet's QR code is decoded on the kiosk and scanned, exactly
// as its text. Made with the qrcode package from the 286-character offline code of the shared fixture.
import { PNG } from 'pngjs';
import QRCode from 'qrcode';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../../../shared/codes/test-fixtures.ts';
import { readQrFromPng } from './qr-image.ts';
import { SIM_IMAGE_BYTES_MAX } from './sim-routes.ts';
import { createWebDisplay, type WebDisplay } from './web-display.ts';
import { FakeSimControls } from './web-test-kit.ts';

let open: WebDisplay[] = [];
afterEach(async () => {
  for (const d of open) await d.close();
  open = [];
});

async function simScreen(): Promise<{ d: WebDisplay; sim: FakeSimControls }> {
  const sim = new FakeSimControls();
  const d = await createWebDisplay({ port: 0, sim });
  open.push(d);
  return { d, sim };
}

async function postImage(
  d: WebDisplay,
  bytes: Uint8Array,
  type = 'image/png',
): Promise<{ status: number; json: { ok: boolean; text?: string; error?: { code: string } } }> {
  const r = await fetch(`${d.url}/sim/image`, {
    method: 'POST',
    headers: { 'content-type': type },
    body: new Blob([new Uint8Array(bytes)]),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: r.status, json: (await r.json()) as never };
}

/** A blank white PNG: a valid image with no code in it. */
function blankPng(width: number, height: number): Buffer {
  const png = new PNG({ width, height });
  png.data.fill(0xff);
  return PNG.sync.write(png);
}

describe('POST /sim/image', () => {
  it('decodes a QR screenshot of a 286-character offline code to exactly that text and scans it', async () => {
    const code = fixture().offlineCode;
    expect(code).toHaveLength(286);
    const png = await QRCode.toBuffer(code, { type: 'png', errorCorrectionLevel: 'M', margin: 4, scale: 6 });
    const { d, sim } = await simScreen();
    expect(await postImage(d, png)).toEqual({ status: 200, json: { ok: true, text: code } });
    expect(sim.calls).toEqual([{ scan: code }]);
  });

  it('reads a light code on a dark background too', async () => {
    const code = fixture().offlineCode;
    const png = await QRCode.toBuffer(code, { type: 'png', scale: 6, color: { dark: '#ffffffff', light: '#000000ff' } });
    expect(readQrFromPng(png)).toBe(code);
  });

  it('answers 422 NO_QR_FOUND for a PNG without a code, and scans nothing', async () => {
    const { d, sim } = await simScreen();
    expect(await postImage(d, blankPng(200, 200))).toMatchObject({ status: 422, json: { ok: false, error: { code: 'NO_QR_FOUND' } } });
    expect(sim.calls).toEqual([]);
  });

  it('answers 413 for a body over 5 MB', async () => {
    const { d, sim } = await simScreen();
    const big = new Uint8Array(SIM_IMAGE_BYTES_MAX + 1);
    big.set(blankPng(1, 1).subarray(0, 8));
    expect(await postImage(d, big)).toMatchObject({ status: 413, json: { error: { code: 'BODY_TOO_LARGE' } } });
    expect(sim.calls).toEqual([]);
  });

  it('answers 413 for a streamed body that grows past 5 MB without a declared length', async () => {
    const { d, sim } = await simScreen();
    const chunk = new Uint8Array(1024 * 1024);
    chunk.set(blankPng(1, 1).subarray(0, 8));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const r = await fetch(`${d.url}/sim/image`, {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body,
      duplex: 'half',
      signal: AbortSignal.timeout(10_000),
    } as RequestInit);
    expect(r.status).toBe(413);
    expect(sim.calls).toEqual([]);
  });

  it('answers 415 for another media type or bytes that are not a PNG', async () => {
    const { d, sim } = await simScreen();
    const png = await QRCode.toBuffer('4901234567894', { type: 'png' });
    expect(await postImage(d, png, 'image/jpeg')).toMatchObject({ status: 415, json: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } });
    expect(await postImage(d, new TextEncoder().encode('GIF89a not a png'))).toMatchObject({
      status: 415,
      json: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } },
    });
    expect(sim.calls).toEqual([]);
  });

  it('refuses a small PNG that claims too many pixels before inflating it, and a corrupt one', async () => {
    const header = Buffer.from(blankPng(1, 1));
    header.writeUInt32BE(100_000, 16);
    header.writeUInt32BE(100_000, 20);
    expect(() => readQrFromPng(header)).toThrow(expect.objectContaining({ code: 'IMAGE_TOO_LARGE' }));
    const corrupt = Buffer.from(blankPng(50, 50));
    corrupt.fill(0x42, 40);
    expect(() => readQrFromPng(corrupt)).toThrow(expect.objectContaining({ code: 'IMAGE_UNREADABLE' }));
  });
});
