// SPDX-License-Identifier: Apache-2.0
// The wallet's operating errors, as typed values. Codes the server sends come from the shared table
// (shared/errors.ts) and arrive as WalletApiError; everything the wallet decides on its own has a code
// in WALLET_ERRORS below, with a typed detail per code. Programmer errors are assertions, not these.
import type { ErrorCode } from '../../shared/errors.ts';

/** Codes the wallet raises itself. The key is stable: the CLI prints it and scripts may match on it. */
export const WALLET_ERRORS = {
  NETWORK_UNREACHABLE: 'The server could not be reached (connection refused, DNS, TLS or reset).',
  NETWORK_TIMEOUT: 'The server did not answer in time.',
  ABORTED: 'The request was cancelled by the caller.',
  BAD_RESPONSE: 'The server answered with something that does not match the protocol schema.',
  NOT_ENROLLED: 'This wallet is not enrolled with a server yet.',
  ALREADY_ENROLLED: 'This wallet state is already enrolled; use another state file for another wallet.',
  OFFLINE_UNAVAILABLE: 'No offline code can be made now.',
  STATE_CORRUPT: 'The wallet state could not be read or does not match its schema.',
  STATE_LOCKED: 'Another process holds the wallet state.',
} as const;

export type WalletErrorCode = keyof typeof WALLET_ERRORS;

/** Why no offline code can be shown (see offline-codes.ts offlineAvailability). */
export type OfflineUnavailableReason =
  | 'never-enrolled'
  | 'no-credential'
  | 'credential-expired'
  | 'credential-not-yet-valid'
  | 'clock-never-synced'
  /** The codes this phone has shown use up the 24-hour (or 30-day) offline count or amount. */
  | 'offline-limit-daily'
  | 'offline-limit-monthly'
  /** The amount cap asked for is above the credential's per-payment limit. */
  | 'cap-over-per-payment'
  /** The numeric code of the current time step was shown already; the next step brings a new one. */
  | 'numeric-step-used';

/** The typed detail that goes with each local code. */
export interface WalletErrorDetails {
  NETWORK_UNREACHABLE: { cause?: string };
  NETWORK_TIMEOUT: { timeoutMs: number };
  ABORTED: Record<string, never>;
  BAD_RESPONSE: { status: number; issue: string };
  NOT_ENROLLED: Record<string, never>;
  ALREADY_ENROLLED: { walletId: string };
  OFFLINE_UNAVAILABLE: { reason: OfflineUnavailableReason; retryAfterMs?: number; onlineFailure?: string };
  STATE_CORRUPT: { path?: string; issue: string };
  STATE_LOCKED: { path?: string; holderPid?: number };
}

/** Base of every operating error the wallet throws: something with a stable `code`. */
export abstract class WalletFailure extends Error {
  abstract readonly code: WalletErrorCode | ErrorCode;
}

/** The server answered with an error body (shared/wallet-messages.ts `errorBody`). */
export class WalletApiError extends WalletFailure {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, status: number, message: string) {
    super(message);
    this.name = 'WalletApiError';
    this.code = code;
    this.status = status;
  }
}

/** A local error with its typed detail. */
export class WalletError<C extends WalletErrorCode = WalletErrorCode> extends WalletFailure {
  readonly code: C;
  readonly detail: WalletErrorDetails[C];
  constructor(code: C, detail: WalletErrorDetails[C], message?: string) {
    super(message ?? WALLET_ERRORS[code]);
    this.name = 'WalletError';
    this.code = code;
    this.detail = detail;
  }
}

export type NetworkErrorCode = 'NETWORK_UNREACHABLE' | 'NETWORK_TIMEOUT' | 'ABORTED';

/** The request never got an HTTP answer: unreachable, timed out, or aborted by the caller. */
export class WalletNetworkError extends WalletError<NetworkErrorCode> {
  constructor(code: NetworkErrorCode, detail: WalletErrorDetails[NetworkErrorCode], message?: string) {
    super(code, detail, message);
    this.name = 'WalletNetworkError';
  }
}

/** The server answered, but not in the protocol's shape. */
export class WalletProtocolError extends WalletError<'BAD_RESPONSE'> {
  constructor(status: number, issue: string) {
    super('BAD_RESPONSE', { status, issue }, `${WALLET_ERRORS.BAD_RESPONSE} (HTTP ${status}: ${issue})`);
    this.name = 'WalletProtocolError';
  }
}

export function isWalletFailure(e: unknown): e is WalletFailure {
  return e instanceof WalletFailure;
}

export function hasWalletErrorCode<C extends WalletErrorCode>(e: unknown, code: C): e is WalletError<C> {
  return e instanceof WalletError && e.code === code;
}
