// SPDX-License-Identifier: Apache-2.0
// The kiosk's web screen: a Display adapter that serves one self-contained page (for Chromium in
// kiosk mode on the HDMI panel) and pushes every view to it over Server-Sent Events. On a simulated
// kiosk the same page carries the "Simulated kiosk" panel and the /sim routes behind it.
//
// Routes: GET / (page), GET /events (SSE), GET /view (the DisplayView as JSON), GET /healthz;
// with `sim`: GET /sim/state, POST /sim/scan, /sim/button, /sim/uplink (JSON) and /sim/image (PNG).
// Failure semantics: render() never throws; a handler error is a typed JSON error (web-errors.ts),
// never a crash; health is 'ok' while listening and 'fault' after close() or a server error.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import type { HealthState } from '../../../shared/kiosk-telemetry.ts';
import type { Display, DisplayView } from '../display.ts';
import { buildKioskPage } from './kiosk-page.ts';
import { screenModel, SIM_PRODUCTS_MAX } from './screen-model.ts';
import type { SimControls } from './sim-controls.ts';
import { handleSimPost, SIM_POST_ROUTES, type SimPostRoute, type SimRouteContext } from './sim-routes.ts';
import { realTimers, SseHub, type HubTimers } from './sse-hub.ts';
import { WEB_ERRORS, WebScreenError, type WebErrorCode } from './web-errors.ts';

export const WEB_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  sseClientsMax: 16,
  /** About one animation frame at 30 frames per second. */
  pushIntervalMs: 33,
  heartbeatMs: 15_000,
  sseRetryMs: 1_000,
  /** A stream backed up past this is dropped; its page reconnects and gets the latest view. */
  sseClientBufferBytesMax: 1024 * 1024,
  connectionsMax: 64,
  requestTimeoutMs: 15_000,
  headersTimeoutMs: 5_000,
  headerBytesMax: 8 * 1024,
});

export interface WebDisplayOptions {
  /** Default 127.0.0.1; the screen is for the kiosk's own browser. */
  host?: string;
  /** 0 picks a free port (tests). */
  port: number;
  /**
   * What sets `port`, named when the port is taken: default `display.web.port in the kiosk config`;
   * `kioskpay up` names its `--kiosk-port` flag.
   */
  portSetting?: string;
  /** Present only on a simulated kiosk: enables the panel and the /sim routes. */
  sim?: SimControls;
  logger?: Logger;
  sseClientsMax?: number;
  pushIntervalMs?: number;
  heartbeatMs?: number;
  timers?: HubTimers;
}

export interface WebDisplay extends Display {
  /** http://host:port of the screen. */
  readonly url: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function createWebDisplay(o: WebDisplayOptions): Promise<WebDisplay> {
  const host = o.host ?? WEB_DEFAULTS.host;
  const log = (o.logger ?? pino({ level: 'silent' })).child({ component: 'web-display' });
  const sim = o.sim;
  const page = buildKioskPage({ sim: sim !== undefined });
  const hub = new SseHub({
    clientsMax: o.sseClientsMax ?? WEB_DEFAULTS.sseClientsMax,
    pushIntervalMs: o.pushIntervalMs ?? WEB_DEFAULTS.pushIntervalMs,
    heartbeatMs: o.heartbeatMs ?? WEB_DEFAULTS.heartbeatMs,
    retryMs: WEB_DEFAULTS.sseRetryMs,
    clientBufferBytesMax: WEB_DEFAULTS.sseClientBufferBytesMax,
    timers: o.timers ?? realTimers,
  });
  let view: DisplayView | undefined;
  let health: HealthState = 'fault';

  const modelJson = (v: DisplayView): string => {
    try {
      return JSON.stringify(screenModel(v, sim));
    } catch (e) {
      // The sim's catalog lookup failed: draw the shopper's screen without the panel's state.
      log.warn({ err: (e as Error).message }, 'screen model without sim state');
      return JSON.stringify(screenModel(v));
    }
  };
  const publish = () => {
    if (view) hub.publish(modelJson(view));
  };
  const simCtx: SimRouteContext | undefined = sim ? { sim, changed: publish, imageBusy: false } : undefined;
  // The simulated LEDs, buzzer and relay change without a new view: push them too.
  const offSimChange = sim?.onChange(() => {
    try {
      publish();
    } catch (e) {
      log.error({ err: (e as Error).message }, 'web screen push failed');
    }
  });

  const server = createServer(
    {
      noDelay: true,
      requestTimeout: WEB_DEFAULTS.requestTimeoutMs,
      headersTimeout: WEB_DEFAULTS.headersTimeoutMs,
      maxHeaderSize: WEB_DEFAULTS.headerBytesMax,
    },
    (req, res) => {
      void route(req, res).catch((e: unknown) => {
        if (e instanceof WebScreenError) {
          if (e.code !== 'NOT_FOUND') log.info({ method: req.method, path: pathOf(req), code: e.code }, 'request refused');
          return sendError(res, e.code, e.message);
        }
        log.error({ err: (e as Error).message, method: req.method, path: pathOf(req) }, 'web screen handler failed');
        sendError(res, 'INTERNAL', 'internal error');
      });
    },
  );
  server.maxConnections = WEB_DEFAULTS.connectionsMax;
  // Long-lived event streams must not be cut by an idle timeout; heartbeats keep them moving.
  server.timeout = 0;
  server.on('clientError', (_err, socket) => socket.destroy());

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    checkHost(req, host);
    const path = pathOf(req);
    const method = req.method ?? 'GET';
    if (method === 'POST') {
      checkOrigin(req);
      if (!SIM_POST_ROUTES.includes(path as SimPostRoute)) throw new WebScreenError(knownGet(path) ? 'METHOD_NOT_ALLOWED' : 'NOT_FOUND');
      if (!simCtx) throw new WebScreenError('NOT_FOUND', 'this kiosk has no simulated controls');
      return sendJson(res, 200, await handleSimPost(path as SimPostRoute, req, simCtx));
    }
    if (method !== 'GET' && method !== 'HEAD') throw new WebScreenError('METHOD_NOT_ALLOWED');
    switch (path) {
      case '/':
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-length': page.html.length,
          'cache-control': 'no-store',
          'content-security-policy': page.csp,
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
        });
        return void res.end(method === 'HEAD' ? undefined : page.html);
      case '/events':
        if (method !== 'GET') throw new WebScreenError('METHOD_NOT_ALLOWED');
        if (!hub.add(res)) throw new WebScreenError('TOO_MANY_CLIENTS');
        return;
      case '/view':
        if (!view) throw new WebScreenError('NOT_READY');
        return sendJson(res, 200, view);
      case '/healthz':
        return sendJson(res, 200, { ok: health === 'ok', health, clients: hub.size, rendered: view !== undefined });
      case '/sim/state':
        if (!sim) throw new WebScreenError('NOT_FOUND', 'this kiosk has no simulated controls');
        return sendJson(res, 200, {
          ok: true,
          uplinkUp: sim.uplinkUp(),
          products: sim.products().slice(0, SIM_PRODUCTS_MAX),
          outputs: sim.outputs() ?? null,
        });
      default:
        throw new WebScreenError(SIM_POST_ROUTES.includes(path as SimPostRoute) ? 'METHOD_NOT_ALLOWED' : 'NOT_FOUND');
    }
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      const setting = o.portSetting ?? 'display.web.port in the kiosk config';
      if (e.code === 'EADDRINUSE')
        reject(
          new Error(`the kiosk screen's port ${o.port} on ${host} is already in use; choose another with ${setting} (0 = any free port)`),
        );
      else if (e.code === 'EACCES')
        reject(new Error(`not allowed to listen on ${host}:${o.port} (ports below 1024 need privileges); choose another with ${setting}`));
      else reject(e);
    };
    server.once('error', onError);
    server.listen(o.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (e) => {
    health = 'fault';
    log.error({ err: e.message }, 'web screen server error');
  });
  health = 'ok';
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  log.info({ url, sim: sim !== undefined }, 'kiosk web screen listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    get health() {
      return health;
    },
    render(v: DisplayView): void {
      view = v;
      try {
        publish();
      } catch (e) {
        log.error({ err: (e as Error).message }, 'web screen render failed');
      }
    },
    close(): Promise<void> {
      closing ??= (async () => {
        health = 'fault';
        offSimChange?.();
        hub.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}

function knownGet(path: string): boolean {
  return ['/', '/events', '/view', '/healthz', '/sim/state'].includes(path);
}

/**
 * On a loopback screen, only loopback host names are served: a page on another site whose name is
 * made to resolve to 127.0.0.1 (DNS rebinding) would otherwise count as same-origin.
 */
function checkHost(req: IncomingMessage, bound: string): void {
  if (!LOOPBACK.has(bound)) return;
  const h = (req.headers.host ?? '').toLowerCase();
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.split(':')[0];
  if (name !== '127.0.0.1' && name !== 'localhost' && name !== '[::1]') throw new WebScreenError('FORBIDDEN_ORIGIN', 'unknown host name');
}

/** A POST from a browser must come from this screen's own page. */
function checkOrigin(req: IncomingMessage): void {
  if (req.headers['sec-fetch-site'] === 'cross-site') throw new WebScreenError('FORBIDDEN_ORIGIN');
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    throw new WebScreenError('FORBIDDEN_ORIGIN');
  }
  if (originHost !== req.headers.host) throw new WebScreenError('FORBIDDEN_ORIGIN');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

function sendError(res: ServerResponse, code: WebErrorCode, message: string): void {
  if (res.headersSent) return void res.destroy();
  // A refused request may still be sending its body: close the connection rather than read it all.
  res.setHeader('connection', 'close');
  sendJson(res, WEB_ERRORS[code].http, { ok: false, error: { code, message } });
}
