// SPDX-License-Identifier: Apache-2.0
// The offline QR code as a symbol: the codes wallets make (version 3) fit QR version 10 at error
// correction M, as the `qrcode` package (the one the CLI and the web wallet draw with) chooses it,
// and two real decoders read every one of them back to the exact text: jsQR (pure JavaScript, the
// one the simulated kiosk uses) and ZBar's zbarimg (a C decoder, as in many kiosk scanners' hosts).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsQRModule from 'jsqr';
import type { Options, QRCode as JsQrResult } from 'jsqr';
import { PNG } from 'pngjs';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeEd25519 } from '../crypto/ed25519-node.ts';
import { toHex } from '../bytes.ts';
import { seededRandom } from '../random.ts';
import { signCredential, type OfflineCredential } from './credential.ts';
import { makeOfflineCode } from './offline-code.ts';
import { decodeCode } from './decode.ts';
import { fixture, T0_MS, DAY_MS } from './test-fixtures.ts';
import { verifyOfflineQr } from './verify-offline.ts';

const jsQR = jsQRModule as unknown as (data: Uint8ClampedArray, width: number, height: number, options?: Options) => JsQrResult | null;
const ZBARIMG = '/usr/bin/zbarimg';
/** What the wallet CLI and web app use (wallet/cli/render.ts, wallet/web/src/code-images.ts). */
const QR_OPTIONS = { errorCorrectionLevel: 'M', margin: 4 } as const;
const VERSION_MAX = 10;

const f = fixture();
const CURRENCIES = ['JPY', 'USD', 'EUR'] as const;

/** Codes of every shape: seeded random credentials, times, counters and caps, and the extremes. */
function codes(): { name: string; text: string }[] {
  const r = seededRandom(0x51ab);
  const u32 = () => new DataView(r.bytes(4).buffer).getUint32(0);
  const out: { name: string; text: string }[] = [];
  for (let i = 0; i < 16; i++) {
    const notBeforeMs = (1_600_000_000 + (u32() % 400_000_000)) * 1000;
    const c: OfflineCredential = {
      ...f.credential,
      keyId: r.bytes(1)[0]!,
      credentialId: toHex(r.bytes(8)),
      accountAlias: toHex(r.bytes(6)),
      notBeforeMs,
      notAfterMs: notBeforeMs + (1 + (u32() % 30)) * DAY_MS,
      limits: {
        currency: CURRENCIES[i % 3]!,
        perPayment: u32(),
        daily: { amount: u32(), count: r.bytes(1)[0]! },
        monthly: { amount: u32(), count: r.bytes(1)[0]! },
      },
    };
    const credential = signCredential(c, f.issuer.secretKey, nodeEd25519);
    const cap = i % 2 === 0 ? undefined : u32() % (c.limits.perPayment + 1);
    const text = makeOfflineCode(
      { credential, timestampMs: notBeforeMs + (u32() % DAY_MS), counter: u32(), phoneSecretKey: f.phone.secretKey, amountCap: cap },
      nodeEd25519,
    );
    out.push({ name: `random-${i}${cap === undefined ? '' : '-capped'}`, text });
  }
  const top = signCredential(
    {
      ...f.credential,
      keyId: 255,
      credentialId: 'ffffffffffffffff',
      accountAlias: 'ffffffffffff',
      notBeforeMs: 0,
      notAfterMs: 0xffff_ffff * 1000,
      limits: {
        currency: 'EUR',
        perPayment: 0xffff_ffff,
        daily: { amount: 0xffff_ffff, count: 255 },
        monthly: { amount: 0xffff_ffff, count: 255 },
      },
    },
    f.issuer.secretKey,
    nodeEd25519,
  );
  out.push({
    name: 'largest-fields',
    text: makeOfflineCode(
      { credential: top, timestampMs: 2 ** 48 - 1, counter: 0xffff_ffff, phoneSecretKey: f.phone.secretKey, amountCap: 0xffff_ffff },
      nodeEd25519,
    ),
  });
  out.push({ name: 'fixture', text: f.offlineCodeV3 });
  return out;
}

function jsQrRead(png: Buffer): string | undefined {
  const img = PNG.sync.read(png);
  return jsQR(new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.byteLength), img.width, img.height)?.data;
}

describe('offline QR code symbols', () => {
  const all = codes();
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kp-qr-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(`wallets' codes are QR version ${VERSION_MAX} or smaller at ECC M, one numeric segment`, () => {
    for (const { name, text } of all) {
      expect(decodeCode(text).ok, name).toBe(true);
      const symbol = QRCode.create(text, QR_OPTIONS);
      expect(symbol.version, name).toBeLessThanOrEqual(VERSION_MAX);
      expect(symbol.errorCorrectionLevel.bit, name).toBe(QRCode.create('1', { errorCorrectionLevel: 'M' }).errorCorrectionLevel.bit);
      expect(
        symbol.segments.map((s) => s.mode.id),
        name,
      ).toEqual(['Numeric']);
    }
  });

  it('versions 1 and 2 (base64url in byte mode) needed versions 12 and 13: why version 3 exists', () => {
    expect(QRCode.create(f.offlineCode, QR_OPTIONS).version).toBe(12);
    const v2 = makeOfflineCode(
      { credential: f.credentialBytes, timestampMs: T0_MS, counter: 1, phoneSecretKey: f.phone.secretKey, amountCap: 500, version: 2 },
      nodeEd25519,
    );
    expect(QRCode.create(v2, QR_OPTIONS).version).toBe(13);
  });

  it('jsQR reads every code back to the exact text, which verifies', async () => {
    for (const { name, text } of all) {
      const png = await QRCode.toBuffer(text, { ...QR_OPTIONS, type: 'png', scale: 4 });
      expect(jsQrRead(png), name).toBe(text);
    }
    const d = decodeCode(all.at(-1)!.text);
    expect(d.ok && d.code.kind === 'offline-qr' && verifyOfflineQr(d.code, f.issuerKeys, nodeEd25519)).toEqual({ ok: true });
  });

  it('zbarimg reads every code back to the exact text', async (ctx) => {
    if (!existsSync(ZBARIMG)) {
      if (process.env['CI']) throw new Error(`${ZBARIMG} is missing (.ci/run installs zbar-tools)`);
      console.warn(`skipping: ${ZBARIMG} is not installed`);
      ctx.skip();
    }
    for (const { name, text } of all) {
      const file = join(dir, `${name}.png`);
      await writeFile(file, await QRCode.toBuffer(text, { ...QR_OPTIONS, type: 'png', scale: 4 }));
      const read = execFileSync(ZBARIMG, ['--raw', '-q', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).replace(
        /\n$/,
        '',
      );
      expect(read, name).toBe(text);
    }
  });
});
