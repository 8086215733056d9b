// SPDX-License-Identifier: Apache-2.0
// Typed HTTP client for the wallet API (shared/wallet-messages.ts). Every request body is checked
// against its schema before it is sent, and every answer against its schema when it arrives: the
// client accepts nothing the protocol does not define. Uses only global fetch, so the browser wallet
// can reuse it unchanged.
//
// Failure semantics, for every method:
// - the server answered with an `errorBody`          -> WalletApiError { code, status }
// - no HTTP answer: refused, reset, DNS, ...          -> WalletNetworkError NETWORK_UNREACHABLE
// - no answer within the timeout (default 10 s)       -> WalletNetworkError NETWORK_TIMEOUT
// - the caller's AbortSignal fired                    -> WalletNetworkError ABORTED
// - an answer that is not JSON or not in the schema   -> WalletProtocolError BAD_RESPONSE
import type { z } from 'zod';
import { assert } from '../../shared/assert.ts';
import type { Currency, Money } from '../../shared/money.ts';
import {
  credentialRequest,
  credentialResponse,
  enrollRequest,
  enrollResponse,
  errorBody,
  issuerKeysDocument,
  historyResponse,
  onlineCodeResponse,
  timeSyncRequest,
  timeSyncResponse,
  topupRequest,
  walletInfo,
  walletRoutes,
  type CredentialResponse,
  type EnrollResponse,
  type HistoryResponse,
  type OnlineCodeResponse,
  type TimeSyncResponse,
  type IssuerKeysDocument,
  type WalletInfo,
} from '../../shared/wallet-messages.ts';
import { systemTimers, type Timers } from './timers.ts';
import { WalletApiError, WalletNetworkError, WalletProtocolError } from './wallet-errors.ts';

/** Default time a request may take, end to end (connect, send, receive the whole body). */
export const REQUEST_TIMEOUT_MS_DEFAULT = 10_000;
/** Largest response body the client reads; a history of 500 payments is far below this. */
export const RESPONSE_BYTES_MAX = 1024 * 1024;
/** The server accepts history limits in this range. */
export const HISTORY_LIMIT_MAX = 500;

export interface CallOptions {
  /** Cancels the request; the call then fails with WalletNetworkError ABORTED. */
  signal?: AbortSignal;
  /** Overrides the client's timeout for this call. */
  timeoutMs?: number;
}

export interface WalletApiClientOptions {
  /** Server base URL, http: or https:, e.g. "https://pay.example". */
  baseUrl: string;
  /** Bearer token from enrollment; needed for every /v1/wallet/* route. */
  token?: string;
  fetch?: typeof globalThis.fetch;
  timers?: Timers;
  timeoutMs?: number;
}

interface Operation {
  readonly route: { readonly method: 'GET' | 'POST'; readonly path: string };
  readonly auth: boolean;
  readonly request: z.ZodType | undefined;
  readonly response: z.ZodType;
}

/** Each route with its request and response schema; `satisfies` makes a missing route a type error. */
const operations = {
  enroll: { route: walletRoutes.enroll, auth: false, request: enrollRequest, response: enrollResponse },
  info: { route: walletRoutes.info, auth: true, request: undefined, response: walletInfo },
  topup: { route: walletRoutes.topup, auth: true, request: topupRequest, response: walletInfo },
  onlineCode: { route: walletRoutes.onlineCode, auth: true, request: undefined, response: onlineCodeResponse },
  credential: { route: walletRoutes.credential, auth: true, request: credentialRequest, response: credentialResponse },
  history: { route: walletRoutes.history, auth: true, request: undefined, response: historyResponse },
  time: { route: walletRoutes.time, auth: false, request: timeSyncRequest, response: timeSyncResponse },
  issuerKeys: { route: walletRoutes.issuerKeys, auth: false, request: undefined, response: issuerKeysDocument },
} as const satisfies Record<keyof typeof walletRoutes, Operation>;

type OperationName = keyof typeof operations;
type ResponseOf<K extends OperationName> = z.infer<(typeof operations)[K]['response']>;

/** True for the URLs the client accepts as a server base. */
export function isServerUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (
      (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '' && u.search === '' && u.hash === ''
    );
  } catch {
    return false;
  }
}

export class WalletApiClient {
  readonly #baseUrl: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof globalThis.fetch;
  readonly #timers: Timers;
  readonly #timeoutMs: number;

  constructor(options: WalletApiClientOptions) {
    assert(isServerUrl(options.baseUrl), `server URL must be http(s) without credentials, query or fragment: ${options.baseUrl}`);
    assert(
      options.timeoutMs === undefined || (Number.isInteger(options.timeoutMs) && options.timeoutMs > 0),
      'timeoutMs must be a positive integer',
    );
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#token = options.token;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#timers = options.timers ?? systemTimers;
    this.#timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT;
  }

  /** The same client, authenticated as a wallet. */
  withToken(token: string): WalletApiClient {
    return new WalletApiClient({ baseUrl: this.#baseUrl, token, fetch: this.#fetch, timers: this.#timers, timeoutMs: this.#timeoutMs });
  }

  enroll(currency?: Currency, opts: CallOptions = {}): Promise<EnrollResponse> {
    return this.#call('enroll', currency === undefined ? {} : { currency }, opts);
  }

  /** The issuer's signed public keys; verify `sig` before trusting `body` (docs/openapi.yaml). */
  issuerKeys(opts: CallOptions = {}): Promise<IssuerKeysDocument> {
    return this.#call('issuerKeys', undefined, opts);
  }

  info(opts: CallOptions = {}): Promise<WalletInfo> {
    return this.#call('info', undefined, opts);
  }

  /** Demo/dev only: the server refuses with TOPUP_DISABLED unless it was started with top-up enabled. */
  topup(amount: Money, opts: CallOptions = {}): Promise<WalletInfo> {
    return this.#call('topup', { amount: { value: amount.value, currency: amount.currency } }, opts);
  }

  onlineCode(opts: CallOptions = {}): Promise<OnlineCodeResponse> {
    return this.#call('onlineCode', undefined, opts);
  }

  /** Asks for an offline credential bound to the phone's public key (raw 32 bytes, base64url). */
  credential(publicKeyB64url: string, opts: CallOptions = {}): Promise<CredentialResponse> {
    return this.#call('credential', { publicKey: publicKeyB64url }, opts);
  }

  history(limit: number | undefined, opts: CallOptions = {}): Promise<HistoryResponse> {
    assert(
      limit === undefined || (Number.isInteger(limit) && limit >= 1 && limit <= HISTORY_LIMIT_MAX),
      `history limit must be 1..${HISTORY_LIMIT_MAX}`,
    );
    return this.#call('history', undefined, opts, limit === undefined ? '' : `?limit=${limit}`);
  }

  /** One NTP-style exchange: the server echoes t0 and adds its receive (t1) and send (t2) times. */
  time(t0: number, opts: CallOptions = {}): Promise<TimeSyncResponse> {
    return this.#call('time', { t0 }, opts);
  }

  async #call<K extends OperationName>(name: K, body: unknown, opts: CallOptions, query = ''): Promise<ResponseOf<K>> {
    const op: Operation = operations[name];
    assert(!op.auth || this.#token !== undefined, `${name} needs a wallet token`);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (op.auth && this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    let payload: string | undefined;
    if (op.request) {
      // A body that fails its own schema is a bug in the caller, not an operating error.
      payload = JSON.stringify(op.request.parse(body));
      headers['content-type'] = 'application/json';
    }
    const { status, text } = await this.#exchange(op.route.method, op.route.path + query, headers, payload, opts);
    return decodeAnswer(op.response, status, text) as ResponseOf<K>;
  }

  async #exchange(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    opts: CallOptions,
  ): Promise<{ status: number; text: string }> {
    const timeoutMs = opts.timeoutMs ?? this.#timeoutMs;
    const controller = new AbortController();
    let timedOut = false;
    const cancelTimer = this.#timers.after(timeoutMs, () => {
      timedOut = true;
      controller.abort();
    });
    const onCallerAbort = () => controller.abort();
    opts.signal?.addEventListener('abort', onCallerAbort, { once: true });
    if (opts.signal?.aborted) controller.abort();
    try {
      const res = await this.#fetch(this.#baseUrl + path, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal: controller.signal,
      });
      return { status: res.status, text: await readCapped(res, RESPONSE_BYTES_MAX) };
    } catch (e) {
      if (e instanceof WalletProtocolError) throw e;
      if (timedOut) throw new WalletNetworkError('NETWORK_TIMEOUT', { timeoutMs }, `no answer from the server within ${timeoutMs} ms`);
      if (opts.signal?.aborted) throw new WalletNetworkError('ABORTED', {});
      const cause = networkCause(e);
      throw new WalletNetworkError('NETWORK_UNREACHABLE', { cause }, `cannot reach the server (${cause})`);
    } finally {
      cancelTimer();
      opts.signal?.removeEventListener('abort', onCallerAbort);
    }
  }
}

function decodeAnswer(schema: z.ZodType, status: number, text: string): unknown {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new WalletProtocolError(status, 'body is not JSON');
  }
  if (status >= 200 && status < 300) {
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new WalletProtocolError(status, describeIssue(parsed.error));
    return parsed.data;
  }
  const err = errorBody.safeParse(json);
  if (!err.success) throw new WalletProtocolError(status, `error body: ${describeIssue(err.error)}`);
  throw new WalletApiError(err.data.error.code, status, err.data.error.message);
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || '(body)'}: ${issue.message}` : 'does not match the schema';
}

/** Reads the body as text, refusing (as a protocol error) anything larger than `max` bytes. */
async function readCapped(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > max) {
    await res.body?.cancel();
    throw new WalletProtocolError(res.status, `body larger than ${max} bytes`);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new WalletProtocolError(res.status, `body larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** A short, secret-free description of why fetch failed (undici puts the errno code in `cause`). */
function networkCause(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as Error & { cause?: unknown }).cause;
    if (cause && typeof cause === 'object' && 'code' in cause && typeof cause.code === 'string') return cause.code;
    if (cause instanceof Error) return cause.message;
    return e.message;
  }
  return String(e);
}
