// SPDX-License-Identifier: Apache-2.0
// The wallet HTTP/JSON API (docs/openapi.yaml). Plain node:http: every body is size-capped, parsed,
// and validated with the shared schemas; every failure is a typed JSON error, never a stack trace.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { z } from 'zod';
import { fromBase64url } from '../../shared/bytes.ts';
import { isSmallOrderPublicKey } from '../../shared/crypto/ed25519.ts';
import { ERRORS, KioskpayError, type ErrorCode } from '../../shared/errors.ts';
import {
  WALLET_BODY_BYTES_MAX,
  credentialRequest,
  enrollRequest,
  timeSyncRequest,
  topupRequest,
  walletRoutes,
} from '../../shared/wallet-messages.ts';
import type { ServerContext } from '../domain/context.ts';
import { authenticate, enrollWallet, issueCredential, issueOnlineCode, paymentHistory, topUp, walletInfo } from '../domain/wallets.ts';
import { parseStrictJson } from '../../shared/strict-json.ts';
import { ISSUER_KEYS_PATH, issuerKeysDocument, issuerKeysHeaders } from './issuer-keys-route.ts';
import { RateLimiter } from './rate-limiter.ts';

type Handler = (req: IncomingMessage, body: unknown, ctx: ServerContext, t1: number) => Promise<unknown>;
interface Route {
  method: string;
  path: string;
  auth: boolean;
  handler: Handler;
}

/** Extra static routes (e.g. the wallet web app) can be mounted by the process that serves them. */
export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createWalletHttpServer(ctx: ServerContext, staticHandler?: StaticHandler): Server {
  const requests = new RateLimiter(ctx.clock, ctx.config.httpRatePerSec, ctx.config.httpRateBurst);
  const authFailures = new RateLimiter(ctx.clock, ctx.config.authFailuresPerMinuteMax / 60, ctx.config.authFailuresPerMinuteMax);
  const routes = buildRoutes();
  return createServer({ noDelay: true, requestTimeout: 10_000, headersTimeout: 10_000 }, (req, res) => {
    void serve(ctx, routes, requests, authFailures, req, res, staticHandler).catch((err: unknown) => {
      ctx.log.error({ err }, 'http handler failed');
      if (!res.headersSent) sendError(res, 'INTERNAL');
    });
  });
}

function buildRoutes(): Route[] {
  const r = walletRoutes;
  const parsed = <T>(schema: z.ZodType<T>, body: unknown): T => {
    const p = schema.safeParse(body);
    if (!p.success) {
      const issue = p.error.issues[0];
      throw new KioskpayError('MALFORMED_MESSAGE', issue ? `${issue.path.join('.') || '(body)'}: ${issue.message}` : 'invalid body');
    }
    return p.data;
  };
  const walletOf = (req: IncomingMessage) => (req as IncomingMessage & { walletId: string }).walletId;
  return [
    { ...r.enroll, auth: false, handler: (_q, b, ctx) => enrollWallet(ctx, parsed(enrollRequest, b ?? {}).currency) },
    { ...r.time, auth: false, handler: async (_q, b, ctx, t1) => ({ t0: parsed(timeSyncRequest, b).t0, t1, t2: ctx.clock.nowMs() }) },
    { ...r.info, auth: true, handler: (q, _b, ctx) => walletInfo(ctx, walletOf(q)) },
    { ...r.topup, auth: true, handler: (q, b, ctx) => topUp(ctx, walletOf(q), parsed(topupRequest, b).amount) },
    { ...r.onlineCode, auth: true, handler: (q, _b, ctx) => issueOnlineCode(ctx, walletOf(q)) },
    {
      ...r.credential,
      auth: true,
      handler: (q, b, ctx) => {
        const key = fromBase64url(parsed(credentialRequest, b).publicKey);
        if (key?.length !== 32) throw new KioskpayError('MALFORMED_MESSAGE', 'publicKey: must be 32 bytes');
        // A small-order point is no real key: anybody could sign for it.
        if (isSmallOrderPublicKey(key)) throw new KioskpayError('MALFORMED_MESSAGE', 'publicKey: not a usable Ed25519 public key');
        return issueCredential(ctx, walletOf(q), key);
      },
    },
    {
      ...r.history,
      auth: true,
      handler: async (q, _b, ctx) => {
        const limit = Number(new URL(q.url ?? '/', 'http://x').searchParams.get('limit') ?? '50');
        if (!Number.isInteger(limit) || limit < 1 || limit > 500)
          throw new KioskpayError('MALFORMED_MESSAGE', 'limit: must be an integer 1..500');
        return { payments: await paymentHistory(ctx, walletOf(q), limit) };
      },
    },
  ];
}

async function serve(
  ctx: ServerContext,
  routes: Route[],
  requests: RateLimiter,
  authFailures: RateLimiter,
  req: IncomingMessage,
  res: ServerResponse,
  staticHandler?: StaticHandler,
): Promise<void> {
  const t1 = ctx.clock.nowMs();
  const client = req.socket.remoteAddress ?? 'unknown';
  if (!requests.take(client)) return sendError(res, 'RATE_LIMITED');
  const path = (req.url ?? '/').split('?')[0];
  if (path === ISSUER_KEYS_PATH && req.method === 'GET') {
    const now = ctx.clock.nowMs();
    const doc = issuerKeysDocument(ctx.issuer, now, (m) => ctx.ed.sign(m, ctx.issuer.secretKey));
    return send(res, 200, doc, issuerKeysHeaders(doc, now));
  }
  const route = routes.find((r) => r.path === path && r.method === req.method);
  if (!route) {
    if (staticHandler?.(req, res)) return;
    return sendError(res, 'NOT_FOUND', `no route ${req.method} ${path}`);
  }
  try {
    if (route.auth) {
      if (!authFailures.peek(client)) return sendError(res, 'RATE_LIMITED', 'too many failed token checks');
      // The scheme is case-insensitive (RFC 9110 11.1): `bearer`, `BEARER` and `Bearer` all work.
      const token = /^bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
      const walletId = token ? await authenticate(ctx, token) : undefined;
      if (!walletId) {
        authFailures.take(client);
        return sendError(res, 'UNAUTHORIZED');
      }
      (req as IncomingMessage & { walletId: string }).walletId = walletId;
    }
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    send(res, 200, await route.handler(req, body, ctx, t1));
  } catch (e) {
    if (e instanceof KioskpayError) return sendError(res, e.code, e.message, e.toWire().retryAfterMs);
    throw e;
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > WALLET_BODY_BYTES_MAX) throw new KioskpayError('MESSAGE_TOO_LARGE');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > WALLET_BODY_BYTES_MAX) throw new KioskpayError('MESSAGE_TOO_LARGE');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  // A body must say it is JSON: a form post or text/plain (which browsers send cross-site without
  // a preflight) is refused before it is read as JSON.
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json')
    throw new KioskpayError('UNSUPPORTED_MEDIA_TYPE', `content-type must be application/json, not ${JSON.stringify(type || '(none)')}`);
  try {
    return parseStrictJson(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new KioskpayError('MALFORMED_MESSAGE', `body: ${e instanceof Error ? e.message : 'not JSON'}`);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** An error body; a wait (RATE_LIMITED's retryAfterMs) goes in a Retry-After header, in whole seconds. */
function sendError(res: ServerResponse, code: ErrorCode, message?: string, retryAfterMs?: number): void {
  const headers = retryAfterMs === undefined ? undefined : { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) };
  send(res, ERRORS[code].http, { error: { code, message: message ?? ERRORS[code].meaning } }, headers);
}
