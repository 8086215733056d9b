// SPDX-License-Identifier: Apache-2.0
// The two HTML pages of /ops, self-contained: the stylesheet and the script (server/ops/web/) are
// inlined, and the Content-Security-Policy allows exactly those two by hash, nothing from elsewhere.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Page { html: string; csp: string }

const WEB = join(import.meta.dirname, 'web');
const CSS = readFileSync(join(WEB, 'ops.css'), 'utf8');
const JS = readFileSync(join(WEB, 'ops.js'), 'utf8');
const sha = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
const BASE_CSP = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
const LOGIN_CSP = `${BASE_CSP}; style-src ${sha(CSS)}; img-src data:`;
const DASHBOARD_CSP = `${BASE_CSP}; style-src ${sha(CSS)}; script-src ${sha(JS)}; connect-src 'self'; img-src data:`;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function shell(title: string, body: string, script = '', bodyAttrs = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><link rel="icon" href="data:,"><style>${CSS}</style></head>
<body${bodyAttrs}>${body}${script ? `<script>${script}</script>` : ''}</body></html>`;
}

export function loginPage(o: { error?: string; username?: string }): Page {
  const error = o.error ? `<p class="error" role="alert">${escapeHtml(o.error)}</p>` : '';
  const body = `<form class="login" method="post" action="/ops/login">
<h1>kioskpay operations</h1>${error}
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required maxlength="64" value="${escapeHtml(o.username ?? '')}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
<button type="submit">Log in</button></form>`;
  return { html: shell('Log in · kioskpay operations', body), csp: LOGIN_CSP };
}

export function dashboardPage(operator: string, utcOffsetMs: number, utcOffset: string): Page {
  const body = `<header><h1>kioskpay operations</h1><span id="live" class="live">connecting</span>
<span>${escapeHtml(operator)}</span><form method="post" action="/ops/logout"><button type="submit">Log out</button></form></header>
<main>
<section class="wide"><h2>Fleet <small id="fleet-count"></small></h2><div id="fleet" class="grid"></div></section>
<section><h2>Alerts</h2><ul id="alerts" class="alerts"></ul></section>
<section><h2>Offline exposure <small>stored, not yet settled</small></h2><div id="exposure"></div></section>
<section class="wide"><h2>Today's sales <small id="day"></small> <small>(UTC${escapeHtml(utcOffset)})</small></h2><div id="totals"></div>
<h3>Per kiosk <span class="legend"><i></i>all<i class="offline"></i>of which offline</span></h3><div id="chart-kiosk"></div>
<h3>Per hour</h3><div id="chart-hour"></div></section>
<section><h2>Stored offline payments received today</h2><div id="stored-summary"></div><table id="stored"></table></section>
<section><h2>Declines by reason</h2><div id="declines"></div></section>
</main>`;
  return { html: shell('kioskpay operations', body, JS, ` data-utc-offset-ms="${utcOffsetMs}"`), csp: DASHBOARD_CSP };
}
