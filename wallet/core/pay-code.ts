// SPDX-License-Identifier: Apache-2.0
// What the app does at the till (claim 1). It asks the server for a one-time code; if one arrives
// within `onlineTimeoutMs` (PayPay's rule: 3 s) it shows the online code ("first state"). If the
// wait runs out or the server cannot be reached ("second state"), it shows an offline code made on
// the phone, provided one can be made; otherwise it fails with OFFLINE_UNAVAILABLE saying why.
//
// A host that wants PayPay's half sheet ("continue with offline payment?") calls this with mode
// 'online' first and, after the shopper agrees, with mode 'offline'.
import type { Clock } from '../../shared/clock.ts';
import type { Ed25519 } from '../../shared/crypto/ed25519.ts';
import type { OnlineCodeResponse } from '../../shared/wallet-messages.ts';
import { assert } from '../../shared/assert.ts';
import type { CallOptions } from './api-client.ts';
import { nextNumericCode, nextOfflineCode } from './offline-codes.ts';
import type { Timers } from './timers.ts';
import { WalletApiError, WalletError, WalletNetworkError, WalletProtocolError, type WalletFailure } from './wallet-errors.ts';
import type { WalletState } from './wallet-state.ts';

/** PayPay offers offline mode when the normal code takes more than 3 seconds. */
export const ONLINE_TIMEOUT_MS_DEFAULT = 3_000;
export const ONLINE_TIMEOUT_MS_MAX = 60_000;

/** auto: online, falling back to offline; online: online only; offline: skip the server. */
export type PayCodeMode = 'auto' | 'online' | 'offline';
/** Which offline code: the signed QR form, or the 20-digit numeric form (barcode). */
export type OfflineForm = 'qr' | 'numeric';
/** Why an auto payment fell back to an offline code. */
export type FallbackCause = 'timeout' | 'network' | 'server-error' | 'bad-response';

export interface PayCodeDeps {
  /** Asks the server for a one-time code and honours the signal (WalletApiClient.onlineCode does). */
  fetchOnlineCode(opts: CallOptions): Promise<OnlineCodeResponse>;
  /** Makes the state durable and resolves only once it is. Runs before any offline code is returned. */
  persist(state: WalletState): Promise<void>;
  clock: Clock;
  ed: Ed25519;
  timers: Timers;
}

export interface PayCodeOptions {
  mode?: PayCodeMode;
  /** Offline QR only: the most a kiosk may claim for the code, signed into it (minor units). */
  amountCap?: number;
  form?: OfflineForm;
  onlineTimeoutMs?: number;
  signal?: AbortSignal;
}

export type PayCode =
  | { kind: 'online'; text: string; issuedAtMs: number; expiresAtMs: number }
  | { kind: 'offline-qr'; text: string; counter: number; timestampMs: number; credentialId: string; fallback?: FallbackCause }
  | {
      kind: 'offline-numeric';
      text: string;
      step: number;
      timestampMs: number;
      stepEndsAtMs: number;
      credentialId: string;
      fallback?: FallbackCause;
    };

export interface PayCodeResult {
  code: PayCode;
  /** The state after the code; already persisted when it changed. */
  state: WalletState;
}

type OnlineOutcome = { ok: true; response: OnlineCodeResponse } | { ok: false; cause: FallbackCause; error: WalletFailure };

export async function payCode(state: WalletState, deps: PayCodeDeps, options: PayCodeOptions = {}): Promise<PayCodeResult> {
  const mode = options.mode ?? 'auto';
  const form = options.form ?? 'qr';
  const timeoutMs = options.onlineTimeoutMs ?? ONLINE_TIMEOUT_MS_DEFAULT;
  assert(
    Number.isInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= ONLINE_TIMEOUT_MS_MAX,
    `online timeout must be 1..${ONLINE_TIMEOUT_MS_MAX} ms`,
  );
  if (state.enrollment === undefined) throw new WalletError('NOT_ENROLLED', {});
  if (mode === 'offline') return offlineCode(state, deps, form, undefined, options.amountCap);
  const online = await fetchWithin(deps, timeoutMs, options.signal);
  if (online.ok) {
    const r = online.response;
    return { code: { kind: 'online', text: r.code, issuedAtMs: r.issuedAt, expiresAtMs: r.expiresAt }, state };
  }
  if (mode === 'online') throw online.error;
  return offlineCode(state, deps, form, online, options.amountCap);
}

/** Step 1: the waiting screen. The one-time code, or why the server could not give one in time. */
async function fetchWithin(deps: PayCodeDeps, timeoutMs: number, signal: AbortSignal | undefined): Promise<OnlineOutcome> {
  const controller = new AbortController();
  const onCallerAbort = () => controller.abort();
  signal?.addEventListener('abort', onCallerAbort, { once: true });
  if (signal?.aborted) controller.abort();
  let cancelTimer = () => {};
  const expired = new Promise<'timeout'>((resolve) => {
    cancelTimer = deps.timers.after(timeoutMs, () => resolve('timeout'));
  });
  const fetching = deps.fetchOnlineCode({ signal: controller.signal }).then(
    (response) => ({ response }),
    (error: unknown) => ({ error }),
  );
  try {
    const first = await Promise.race([fetching, expired]);
    if (first === 'timeout') {
      // Stop the request: a one-time code that arrives now would never be shown.
      controller.abort();
      return {
        ok: false,
        cause: 'timeout',
        error: new WalletNetworkError('NETWORK_TIMEOUT', { timeoutMs }, `no one-time code within ${timeoutMs} ms`),
      };
    }
    if ('response' in first) return { ok: true, response: first.response };
    return { ok: false, ...fallbackCause(first.error) };
  } finally {
    cancelTimer();
    signal?.removeEventListener('abort', onCallerAbort);
  }
}

/**
 * Which failures mean "communication is difficult" (fall back) and which are the server's definite
 * answer (rethrown: an offline code would not fix an UNAUTHORIZED wallet or a cancelled request).
 */
function fallbackCause(error: unknown): { cause: FallbackCause; error: WalletFailure } {
  if (error instanceof WalletNetworkError) {
    if (error.code === 'NETWORK_UNREACHABLE') return { cause: 'network', error };
    if (error.code === 'NETWORK_TIMEOUT') return { cause: 'timeout', error };
  }
  if (error instanceof WalletProtocolError) return { cause: 'bad-response', error };
  if (error instanceof WalletApiError && (error.status >= 500 || error.code === 'RATE_LIMITED')) return { cause: 'server-error', error };
  throw error;
}

/** Step 2: the offline code, persisted before it is returned (a shown counter is never reused). */
async function offlineCode(
  state: WalletState,
  deps: PayCodeDeps,
  form: OfflineForm,
  online: Extract<OnlineOutcome, { ok: false }> | undefined,
  amountCap: number | undefined,
): Promise<PayCodeResult> {
  const fallback = online === undefined ? {} : { fallback: online.cause };
  const onlineFailure = online === undefined ? {} : { onlineFailure: `${online.error.code}: ${online.error.message}` };
  if (form === 'numeric') {
    const r = nextNumericCode(state, deps.clock);
    if (!r.ok) throw unavailable(r.reason, { ...onlineFailure, ...(r.retryAfterMs === undefined ? {} : { retryAfterMs: r.retryAfterMs }) });
    await deps.persist(r.state);
    return {
      code: {
        kind: 'offline-numeric',
        text: r.text,
        step: r.step,
        timestampMs: r.timestampMs,
        stepEndsAtMs: r.stepEndsAtMs,
        credentialId: r.credentialId,
        ...fallback,
      },
      state: r.state,
    };
  }
  const r = nextOfflineCode(state, deps.clock, deps.ed, { amountCap });
  if (!r.ok) throw unavailable(r.reason, onlineFailure);
  await deps.persist(r.state);
  return {
    code: { kind: 'offline-qr', text: r.text, counter: r.counter, timestampMs: r.timestampMs, credentialId: r.credentialId, ...fallback },
    state: r.state,
  };
}

const REASON_TEXT = {
  'never-enrolled': 'the wallet is not enrolled',
  'no-credential': 'no offline credential yet: go online once and fetch one',
  'credential-expired': 'the offline credential has expired: go online once to renew it',
  'credential-not-yet-valid': 'the offline credential is not valid yet (check the clock)',
  'clock-never-synced': "the clock was never synced with the server's",
  'offline-limit-daily':
    'the offline codes shown in the last 24 hours use up the offline limit (count or amount; a code counts at its cap, else at the per-payment limit, until its payment shows in history): pay online, make a code with a smaller cap, or wait',
  'offline-limit-monthly': 'the offline codes shown in the last 30 days use up the offline limit (count or amount): pay online, or wait',
  'cap-over-per-payment': "the amount cap is above the credential's per-payment limit",
  'numeric-step-used': 'the numeric code for this time step was already shown',
} as const;

/** Why no offline code can be made, in words for the shopper. */
export function offlineUnavailableText(reason: keyof typeof REASON_TEXT): string {
  return REASON_TEXT[reason];
}

function unavailable(
  reason: keyof typeof REASON_TEXT,
  extra: { onlineFailure?: string; retryAfterMs?: number },
): WalletError<'OFFLINE_UNAVAILABLE'> {
  const wait = extra.retryAfterMs === undefined ? '' : `; a new one in ${Math.ceil(extra.retryAfterMs / 1000)} s`;
  const online = extra.onlineFailure === undefined ? '' : ` (online code failed: ${extra.onlineFailure})`;
  return new WalletError('OFFLINE_UNAVAILABLE', { reason, ...extra }, `no offline code: ${REASON_TEXT[reason]}${wait}${online}`);
}
