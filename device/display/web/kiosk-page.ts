// SPDX-License-Identifier: Apache-2.0
// The kiosk's screen as one self-contained HTML page: markup, CSS and script are kept as plain files
// in page/ and inlined here once at start-up, with a Content-Security-Policy that allows exactly that
// inline style and script (by hash) and connections back to this server. No external resource is
// ever loaded: the kiosk must draw with its uplink down.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const PAGE_DIR = join(import.meta.dirname, 'page');

export interface KioskPage {
  readonly html: Buffer;
  readonly csp: string;
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** The page, with the simulated kiosk's panel only when `sim` is true. */
export function buildKioskPage(o: { sim: boolean }): KioskPage {
  const read = (name: string) => readFileSync(join(PAGE_DIR, name), 'utf8');
  const css = read('kiosk.css');
  const js = read('kiosk.js');
  const panel = o.sim ? read('sim-panel.html') : '';
  const html = read('kiosk.html')
    .replace('<!--SIM_CLASS-->', o.sim ? ' class="with-sim"' : '')
    .replace('<!--SIM_PANEL-->', () => panel)
    .replace('/*STYLE*/', () => css)
    .replace('/*SCRIPT*/', () => js);
  const csp = [
    "default-src 'none'",
    `style-src ${sha256(css)}`,
    `script-src ${sha256(js)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html: Buffer.from(html, 'utf8'), csp };
}
