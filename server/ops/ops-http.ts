// SPDX-License-Identifier: Apache-2.0
// The /ops routes. Only the login page (GET and POST /ops/login) answers without a session;
// everything else under /ops needs the session cookie: pages redirect to the login page, the API
// and the event stream answer 401. POSTs must come from our own origin (the cookie is also
// SameSite=Strict); the actions an operator answers for (a refund or void, which moves money, and
// marking a Help request handled) must also carry the session's CSRF token in the `x-csrf-token`
// header and be JSON (a form on another site can send neither). Every body is size-capped; every
// failure is a plain answer, never a stack trace.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ERRORS, KioskpayError } from '../../shared/errors.ts';
import { parseStrictJson } from '../../shared/strict-json.ts';
import { operatorRefund, type OperatorRefund, type OperatorRefundResult } from '../domain/refunds.ts';
import { markHelpHandled } from './help-handling.ts';
import type { ServerContext } from '../domain/context.ts';
import type { TimeZone } from '../../shared/time-zone.ts';
import type { FleetState } from './fleet-state.ts';
import { OperatorAuth, type OperatorSession } from './operator-auth.ts';
import type { OpsLive } from './ops-live.ts';
import { dashboardPage, loginPage, type Page } from './ops-page.ts';
import { moneyView, presentFleet, presentHelp } from './present.ts';
import { auditLog, parseSalesQuery, parseTransactionQuery, salesReport, searchTransactions, type ReportContext } from './reports.ts';
import type { LedgerSummary } from './sales-queries.ts';

export const OPS_COOKIE = 'kp_ops';
/** Largest login form accepted, in bytes. */
export const LOGIN_BODY_BYTES_MAX = 4096;
/** Largest refund or Help-handled request accepted, in bytes. */
export const ACTION_BODY_BYTES_MAX = 4096;
export const CSRF_HEADER = 'x-csrf-token';
/** The routes that record an operator's action, each CSRF-protected. */
const ACTION_PATHS = new Set(['/ops/api/refund', '/ops/api/help/handled']);

/** POST /ops/api/refund: amount in minor units for a refund, null (or absent) for a void. */
const refundBody = z.strictObject({
  paymentId: z.string().min(1).max(64),
  action: z.enum(['refund', 'void']),
  amount: z.number().nullable().optional(),
  reason: z.string().max(1000),
  requestKey: z.string().max(64),
});

/** POST /ops/api/help/handled: the kiosk whose Help request is handled. */
const helpHandledBody = z.strictObject({ kioskId: z.string().min(1).max(64) });

export interface OpsHttpOptions {
  auth: OperatorAuth;
  live: OpsLive;
  fleet: FleetState;
  ledger: () => Promise<LedgerSummary>;
  reports: ReportContext;
  /** The domain, for refunds. */
  ctx: ServerContext;
  tz: TimeZone;
  /** Reference data for the page (reason sentences, filter choices, the time zone). */
  extras: () => Record<string, unknown>;
  cookieSecure: boolean;
  log: Logger;
}

/** Returns a handler that takes /ops and /ops/... (true) and leaves every other path (false). */
export function createOpsHandler(o: OpsHttpOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path !== '/ops' && !path.startsWith('/ops/')) return false;
    void route(o, req, res, path).catch((err: unknown) => {
      o.log.error({ err }, 'ops handler failed');
      if (!res.headersSent) text(res, 500, 'internal error');
      else res.end();
    });
    return true;
  };
}

async function route(o: OpsHttpOptions, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const method = req.method ?? 'GET';
  if (path === '/ops/login') {
    if (method === 'GET') return sendPage(res, 200, loginPage({}));
    if (method === 'POST') return login(o, req, res);
    return text(res, 405, 'method not allowed', { allow: 'GET, POST' });
  }
  const token = readCookie(req, OPS_COOKIE);
  const session = o.auth.session(token);
  const wantsPage = path === '/ops' || path === '/ops/';
  if (!session) {
    if (wantsPage && method === 'GET') return redirect(res, '/ops/login');
    return json(res, 401, { error: { code: 'UNAUTHORIZED', message: 'log in at /ops/login' } });
  }
  if (wantsPage && method === 'GET')
    return sendPage(res, 200, dashboardPage(session.username, session.csrfToken, o.tz.label(o.ctx.clock.nowMs())));
  if (path === '/ops/logout' && method === 'POST') {
    if (!sameOrigin(req)) return text(res, 403, 'cross-origin request refused');
    o.auth.logout(token);
    res.setHeader('set-cookie', cookie(o, '', 0));
    return redirect(res, '/ops/login');
  }
  if (path === '/ops/api/snapshot' && method === 'GET') return json(res, 200, await snapshot(o, session));
  if (path.startsWith('/ops/api/') && !ACTION_PATHS.has(path)) {
    const params = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const view =
      path === '/ops/api/sales'
        ? () => salesReport(o.reports, parseSalesQuery(params, o.reports))
        : path === '/ops/api/transactions'
          ? () => searchTransactions(o.reports, parseTransactionQuery(params, o.reports))
          : path === '/ops/api/audit'
            ? () => auditLog(o.reports, params)
            : undefined;
    if (view && method === 'GET') return answer(res, view);
    if (view) return text(res, 405, 'method not allowed', { allow: 'GET' });
  }
  if (ACTION_PATHS.has(path)) {
    if (method !== 'POST') return text(res, 405, 'method not allowed', { allow: 'POST' });
    return answer(res, () => (path === '/ops/api/refund' ? refund(o, session, req) : helpHandled(o, session, req)));
  }
  if (path === '/ops/events' && method === 'GET') {
    if (!(await o.live.attach(req, res))) return text(res, 503, 'too many live dashboards; close one and retry', { 'retry-after': '10' });
    return;
  }
  return json(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${method} ${path}` } });
}

async function snapshot(o: OpsHttpOptions, session: OperatorSession) {
  return { operator: session.username, ...o.extras(), fleet: presentFleet(o.fleet.snapshot(), o.tz), ledger: await o.ledger() };
}

/** A view as JSON, or a KioskpayError as its HTTP status with `{error: {code, message}}`. */
async function answer(res: ServerResponse, view: () => Promise<unknown>): Promise<void> {
  let body: unknown;
  try {
    body = await view();
  } catch (e) {
    if (!(e instanceof KioskpayError)) throw e;
    const k: KioskpayError = e;
    return json(res, ERRORS[k.code].http, { error: k.toWire() });
  }
  return json(res, 200, body);
}

/**
 * The body of an operator's action, once it is known to be the operator's: refused (CSRF_REFUSED,
 * 403) unless it comes from our own origin and carries the session's CSRF token, 415 unless JSON.
 * The operator is always the session's login, never a field of the body.
 */
async function actionBody<T>(o: OpsHttpOptions, session: OperatorSession, req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const header = req.headers[CSRF_HEADER];
  const fetchSite = req.headers['sec-fetch-site'];
  const path = (req.url ?? '').split('?')[0];
  if (
    !sameOrigin(req) ||
    (fetchSite !== undefined && fetchSite !== 'same-origin') ||
    !OperatorAuth.csrfMatches(session, typeof header === 'string' ? header : undefined)
  ) {
    o.log.warn(
      { operator: session.username, path, origin: req.headers.origin, fetchSite },
      'action refused: no CSRF token or another origin',
    );
    throw new KioskpayError('CSRF_REFUSED');
  }
  if ((req.headers['content-type'] ?? '').split(';')[0]!.trim() !== 'application/json') throw new KioskpayError('UNSUPPORTED_MEDIA_TYPE');
  const text = await readBody(req, ACTION_BODY_BYTES_MAX);
  if (text === undefined) throw new KioskpayError('MESSAGE_TOO_LARGE', `an action request is at most ${ACTION_BODY_BYTES_MAX} bytes`);
  let json: unknown;
  try {
    json = parseStrictJson(text);
  } catch (e) {
    if (e instanceof KioskpayError) throw e;
    throw new KioskpayError('MALFORMED_MESSAGE', 'the body is not JSON');
  }
  const r = schema.safeParse(json);
  if (!r.success)
    throw new KioskpayError(
      'MALFORMED_MESSAGE',
      `${r.error.issues[0]?.path.join('.') || '(root)'}: ${r.error.issues[0]?.message ?? 'invalid'}`,
    );
  return r.data;
}

/** POST /ops/api/refund: a refund or void (server/domain/refunds.ts). */
async function refund(o: OpsHttpOptions, session: OperatorSession, req: IncomingMessage) {
  const parsed = await actionBody(o, session, req, refundBody);
  const request: OperatorRefund = { ...parsed, amount: parsed.amount ?? null, operator: session.username };
  const r = await operatorRefund(o.ctx, request);
  if (!r.repeated) o.live.ledgerChanged(0);
  return refundView(o, r);
}

/** POST /ops/api/help/handled: the request as listed now, and the audit row (null when it was handled already). */
async function helpHandled(o: OpsHttpOptions, session: OperatorSession, req: IncomingMessage) {
  const { kioskId } = await actionBody(o, session, req, helpHandledBody);
  const r = await markHelpHandled(o.ctx, o.fleet, kioskId, session.username);
  if (r.record) o.live.fleetChanged();
  return {
    repeated: r.record === null,
    request: presentHelp(r.request, o.tz),
    record: r.record && {
      id: r.record.id,
      at: o.tz.iso(r.record.at),
      operator: r.record.operator,
      kioskId: r.record.kioskId,
      requestedAt: o.tz.iso(r.record.requestedAt),
      presses: r.record.presses,
    },
  };
}

function refundView(o: OpsHttpOptions, r: OperatorRefundResult) {
  const c = r.payment.currency;
  return {
    repeated: r.repeated,
    action: {
      id: r.action.id,
      at: o.tz.iso(r.action.at),
      operator: r.action.operator,
      action: r.action.action,
      paymentId: r.action.paymentId,
      amount: moneyView(r.action.amount, c),
      reason: r.action.reason,
    },
    payment: {
      paymentId: r.payment.id,
      txId: r.payment.txId,
      kioskId: r.payment.kioskId,
      status: r.payment.status,
      amount: moneyView(r.payment.amount, c),
      walletId: r.payment.walletId,
    },
    refunded: moneyView(r.refunded, c),
    remaining: moneyView(r.remaining, c),
    shopperBalance: moneyView(r.shopperBalance.value, r.shopperBalance.currency),
  };
}

async function login(o: OpsHttpOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!sameOrigin(req)) return text(res, 403, 'cross-origin request refused');
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
  if (type !== 'application/x-www-form-urlencoded')
    return sendPage(res, 415, loginPage({ error: 'The login form must be sent as a form.' }));
  const body = await readBody(req, LOGIN_BODY_BYTES_MAX);
  if (body === undefined) return sendPage(res, 413, loginPage({ error: 'The login form is too large.' }));
  const form = new URLSearchParams(body);
  const username = form.get('username') ?? '';
  const password = form.get('password') ?? '';
  const r = await o.auth.login(username, password, req.socket.remoteAddress ?? 'unknown');
  if (r.ok) {
    o.log.info({ operator: r.username }, 'operator logged in');
    res.setHeader('set-cookie', cookie(o, r.token, Math.floor(o.auth.sessionTtlMs / 1000)));
    return redirect(res, '/ops');
  }
  if (r.reason === 'locked') {
    o.log.warn({ username: username.slice(0, 64) }, 'operator login refused: locked');
    res.setHeader('retry-after', String(Math.ceil(r.retryAfterMs / 1000)));
    return sendPage(
      res,
      429,
      loginPage({ error: `Too many failed logins. Try again in ${Math.ceil(r.retryAfterMs / 60_000)} min.`, username }),
    );
  }
  o.log.warn({ username: username.slice(0, 64) }, 'operator login failed');
  return sendPage(res, 401, loginPage({ error: 'Wrong username or password.', username }));
}

function cookie(o: OpsHttpOptions, value: string, maxAgeS: number): string {
  return `${OPS_COOKIE}=${value}; Max-Age=${maxAgeS}; Path=/ops; HttpOnly; SameSite=Strict${o.cookieSecure ? '; Secure' : ''}`;
}

/** The value of one cookie, or undefined. Only base64url values are ours; anything else is ignored. */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A POST without Origin (old browsers, curl) passes; one with another origin does not. */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

async function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  if (Number(req.headers['content-length'] ?? '0') > max) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

function sendPage(res: ServerResponse, status: number, page: Page): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(page.html),
    'content-security-policy': page.csp,
  });
  res.end(page.html);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const t = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(t) });
  res.end(t);
}

function text(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    ...extra,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { ...SECURITY_HEADERS, location, 'content-length': 0 });
  res.end();
}
