// SPDX-License-Identifier: Apache-2.0
// The two HTML pages of /ops, self-contained: the stylesheet and the script (server/ops/web/) are
// inlined, and the Content-Security-Policy allows exactly those two by hash, nothing from elsewhere.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Page {
  html: string;
  csp: string;
}

const WEB = join(import.meta.dirname, 'web');
const CSS = readFileSync(join(WEB, 'ops.css'), 'utf8');
const JS = readFileSync(join(WEB, 'ops.js'), 'utf8');
const sha = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
const BASE_CSP = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
const LOGIN_CSP = `${BASE_CSP}; style-src ${sha(CSS)}; img-src data:`;
const DASHBOARD_CSP = `${BASE_CSP}; style-src ${sha(CSS)}; script-src ${sha(JS)}; connect-src 'self'; img-src data:`;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function shell(title: string, body: string, script = '', bodyAttrs = '', head = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${head}
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

const dateInputs = (id: string) => `<label>From <input type="date" name="from" id="${id}-from" required></label>
<label>To <input type="date" name="to" id="${id}-to" required></label>
<label>Kiosk <select name="kiosk" id="${id}-kiosk"><option value="">All kiosks</option></select></label>`;

/**
 * The dashboard. The session's CSRF token is in a meta element for the script's refunds and Help handling;
 * the time zone every time on the page is in is named in the header.
 */
export function dashboardPage(operator: string, csrfToken: string, timeZoneLabel: string): Page {
  const body = `<header><h1>kioskpay operations</h1><span class="tz" id="tz">Times in ${escapeHtml(timeZoneLabel)}</span><span id="live" class="live">connecting</span>
<span>${escapeHtml(operator)}</span><form method="post" action="/ops/logout"><button type="submit">Log out</button></form></header>
<main>
<section class="wide"><h2>Fleet <small id="fleet-count"></small></h2><div id="fleet" class="grid"></div></section>
<section id="help-section"><h2>Help requests <small id="help-count"></small></h2><ul id="help" class="alerts"></ul><p id="help-result" role="status"></p></section>
<section><h2>Alerts</h2><ul id="alerts" class="alerts"></ul></section>
<section class="wide" id="sales-section"><h2>Sales <small id="sales-range"></small></h2>
<form id="sales-form" class="filters">${dateInputs('sales')}
<label>Product <select name="product" id="sales-product"><option value="">All products</option><optgroup label="Products" id="sales-products"></optgroup><optgroup label="Slots" id="sales-slots"></optgroup></select></label>
<label>Table by <select name="group" id="sales-group"><option value="product">product</option><option value="slot">slot</option></select></label>
<button type="submit">Show</button><span class="error" id="sales-error" role="alert"></span></form>
<div id="sales-totals" class="figures"></div>
<h3><span id="sales-time-title">Per day</span> <button type="button" class="export" data-export="sales-byDay">Export CSV</button></h3><div id="chart-time"></div>
<div class="two"><div><h3>Per kiosk <button type="button" class="export" data-export="sales-byKiosk">Export CSV</button></h3><div id="chart-kiosk"></div><table id="sales-kiosks"></table></div>
<div><h3>Per <span id="sales-product-title">product</span> <button type="button" class="export" data-export="sales-byProduct">Export CSV</button></h3><div id="chart-product"></div><table id="sales-products-table"></table></div></div>
</section>
<section class="wide" id="tx-section"><h2>Transactions <small id="tx-summary"></small></h2>
<form id="tx-form" class="filters">${dateInputs('tx')}
<label>Payment or txId <input name="q" id="tx-q" maxlength="64" autocomplete="off"></label>
<label>Wallet id or handle <input name="wallet" id="tx-wallet" maxlength="40" autocomplete="off"></label>
<label>Amount <input name="amount" id="tx-amount" maxlength="20" inputmode="decimal" autocomplete="off"></label>
<button type="submit">Search</button><button type="button" class="export" data-export="tx">Export CSV</button><span class="error" id="tx-error" role="alert"></span></form>
<form id="refund-form" class="refund" hidden><h3 id="refund-title"></h3><p id="refund-payment"></p>
<label>Action <select name="action" id="refund-action"><option value="refund">Refund part or all (stays a sale)</option><option value="void">Void (gives back what is left; no longer a sale)</option></select></label>
<label id="refund-amount-label">Amount <input name="amount" id="refund-amount" inputmode="decimal" autocomplete="off"></label>
<label>Reason <input name="reason" id="refund-reason" required maxlength="200" autocomplete="off"></label>
<button type="submit" id="refund-submit">Confirm</button><button type="button" id="refund-cancel">Cancel</button></form>
<p id="refund-result" role="status"></p>
<table id="tx-table"></table></section>
<section class="wide"><h2>Audit log <small>refunds, voids and Help requests handled, last 7 days</small> <button type="button" class="export" data-export="audit">Export CSV</button></h2><table id="audit"></table></section>
<section><h2>Offline exposure <small>stored, not yet settled</small></h2><div id="exposure"></div></section>
<section><h2>Stored offline payments received today</h2><div id="stored-summary"></div><table id="stored"></table></section>
<section class="wide"><h2>Declines by reason</h2><div id="declines"></div></section>
</main>`;
  return {
    html: shell('kioskpay operations', body, JS, '', `<meta name="kp-csrf" content="${escapeHtml(csrfToken)}">`),
    csp: DASHBOARD_CSP,
  };
}
