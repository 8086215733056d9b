// SPDX-License-Identifier: Apache-2.0
// The simulated kiosk's controls over HTTP: what its screen's "Simulated kiosk" panel posts. Each
// route validates its body with zod and calls one SimControls method; the answer is small JSON.
// These routes exist only when the kiosk runs with simulated hardware.
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { CATALOG_SLOT_MAX } from '../../../shared/catalog/catalog.ts';
import { CODE_TEXT_MAX } from '../../../shared/schemas.ts';
import { readBody, readJson, requireMediaType } from './http-body.ts';
import type { SimControls } from './sim-controls.ts';
import { WebScreenError } from './web-errors.ts';

/** Largest JSON body of a /sim route (a scan is at most CODE_TEXT_MAX characters). */
export const SIM_JSON_BYTES_MAX = 4 * 1024;
/** Largest screenshot accepted by /sim/image. */
export const SIM_IMAGE_BYTES_MAX = 5 * 1024 * 1024;

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is this pattern's job
const NO_CONTROLS = /^[^\x00-\x1f\x7f]+$/;
/** Scanned text: what a scanner would deliver (no control characters; surrounding blanks trimmed). */
const scanText = z
  .string()
  .transform((s) => s.trim())
  .pipe(z.string().min(1).max(CODE_TEXT_MAX).regex(NO_CONTROLS, 'must not contain control characters'));

export const simScanBody = z.strictObject({ text: scanText });
export const simButtonBody = z.strictObject({
  button: z.union([z.enum(['pay', 'cancel', 'help']), z.strictObject({ slot: z.int().min(1).max(CATALOG_SLOT_MAX) })]),
});
export const simUplinkBody = z.strictObject({ up: z.boolean() });

export interface SimRouteContext {
  readonly sim: SimControls;
  /** Called after a control that changes what the panel shows (the uplink switch). */
  readonly changed: () => void;
  /** Guards the image decoder: one screenshot at a time. */
  imageBusy: boolean;
}

/** Calls the kiosk, turning a throw into a typed error (the screen stays up). */
function call(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    throw new WebScreenError('INTERNAL', `the kiosk refused the action: ${(e as Error).message}`);
  }
}

export type SimPostRoute = '/sim/scan' | '/sim/button' | '/sim/uplink' | '/sim/image';
export const SIM_POST_ROUTES: readonly SimPostRoute[] = ['/sim/scan', '/sim/button', '/sim/uplink', '/sim/image'];

export async function handleSimPost(route: SimPostRoute, req: IncomingMessage, ctx: SimRouteContext): Promise<Record<string, unknown>> {
  switch (route) {
    case '/sim/scan': {
      const { text } = await readJson(req, simScanBody, SIM_JSON_BYTES_MAX);
      call(() => ctx.sim.scan(text));
      return { ok: true };
    }
    case '/sim/button': {
      const { button } = await readJson(req, simButtonBody, SIM_JSON_BYTES_MAX);
      call(() => ctx.sim.press(button));
      return { ok: true };
    }
    case '/sim/uplink': {
      const { up } = await readJson(req, simUplinkBody, SIM_JSON_BYTES_MAX);
      call(() => ctx.sim.setUplink(up));
      ctx.changed();
      return { ok: true, uplinkUp: ctx.sim.uplinkUp() };
    }
    case '/sim/image':
      return { ok: true, text: await scanImage(req, ctx) };
  }
}

async function scanImage(req: IncomingMessage, ctx: SimRouteContext): Promise<string> {
  requireMediaType(req, 'image/png');
  if (ctx.imageBusy) throw new WebScreenError('BUSY');
  ctx.imageBusy = true;
  try {
    // Loaded on first use: the QR reader (jsQR, pngjs) costs start-up time a kiosk does not need.
    const { readQrFromPng } = await import('./qr-image.ts');
    const text = readQrFromPng(await readBody(req, SIM_IMAGE_BYTES_MAX));
    const parsed = scanText.safeParse(text);
    if (!parsed.success) throw new WebScreenError('NO_QR_FOUND', 'the QR code holds no text a scanner would deliver');
    call(() => ctx.sim.scan(parsed.data));
    return parsed.data;
  } finally {
    ctx.imageBusy = false;
  }
}
