// SPDX-License-Identifier: Apache-2.0
// The closed table of error and decline codes. The wire value is the key; it never changes once
// published. docs/protocol.md lists exactly these codes (test/docs-sync.test.ts keeps them in sync).
//
// kind: 'decline' - a payment was refused for a reason the shopper or kiosk should see;
//       'error'   - the request itself was refused (malformed, unauthorised, ...).

interface ErrorSpec {
  readonly kind: 'decline' | 'error';
  /** HTTP status when the code answers an HTTP request. */
  readonly http: number;
  /** What it means, for developers (docs/protocol.md). */
  readonly meaning: string;
  /** What a kiosk shows a shopper, in plain words. */
  readonly shopper: string;
}

export const ERRORS = {
  // Requests
  MALFORMED_MESSAGE: {
    kind: 'error',
    http: 400,
    meaning: 'The message is not valid JSON or does not match its schema.',
    shopper: 'Something went wrong. Please try again.',
  },
  UNKNOWN_MESSAGE_TYPE: {
    kind: 'error',
    http: 400,
    meaning: 'The message type is not one this endpoint accepts.',
    shopper: 'Something went wrong. Please try again.',
  },
  MESSAGE_TOO_LARGE: {
    kind: 'error',
    http: 413,
    meaning: 'The message is larger than the endpoint accepts.',
    shopper: 'Something went wrong. Please try again.',
  },
  UNKNOWN_KIOSK: {
    kind: 'error',
    http: 403,
    meaning: 'The kiosk id is not registered with this server.',
    shopper: 'This kiosk is not in service.',
  },
  UNAUTHORIZED: { kind: 'error', http: 401, meaning: 'Missing or invalid wallet token.', shopper: 'Please sign in again.' },
  NOT_FOUND: { kind: 'error', http: 404, meaning: 'No such resource.', shopper: 'Something went wrong. Please try again.' },
  RATE_LIMITED: {
    kind: 'error',
    http: 429,
    meaning: 'Too many requests from this client; retry later.',
    shopper: 'Please wait a moment and try again.',
  },
  TOPUP_DISABLED: { kind: 'error', http: 403, meaning: 'Demo top-up is disabled on this server.', shopper: 'Top-up is not available.' },
  OFFLINE_NOT_ELIGIBLE: {
    kind: 'error',
    http: 403,
    meaning: 'The wallet may not get an offline credential now (negative balance or revoked credential not yet settled).',
    shopper: 'Offline payment is not available for this account.',
  },
  INTERNAL: {
    kind: 'error',
    http: 500,
    meaning: 'Unexpected server fault; nothing was charged.',
    shopper: 'Something went wrong. Please try again.',
  },
  // Payment declines: the code
  CODE_MALFORMED: {
    kind: 'decline',
    http: 422,
    meaning: 'The scanned text is not a kioskpay code of any known version.',
    shopper: 'This code cannot be read. Please show your payment code.',
  },
  CODE_UNKNOWN: {
    kind: 'decline',
    http: 422,
    meaning: 'No such one-time code was issued.',
    shopper: 'This code is not valid. Please refresh the code in your app.',
  },
  CODE_USED: {
    kind: 'decline',
    http: 422,
    meaning: 'The one-time code or offline code was already used.',
    shopper: 'This code was already used. Please show a new code.',
  },
  CODE_EXPIRED: {
    kind: 'decline',
    http: 422,
    meaning: 'The one-time code is past its validity.',
    shopper: 'This code has expired. Please refresh the code in your app.',
  },
  // Payment declines: money
  AMOUNT_INVALID: {
    kind: 'decline',
    http: 422,
    meaning: 'The amount is zero, negative, not an integer or too large.',
    shopper: 'The amount is not valid.',
  },
  CURRENCY_MISMATCH: {
    kind: 'decline',
    http: 422,
    meaning: 'The payment currency differs from the account or credential currency.',
    shopper: 'This currency is not accepted.',
  },
  INSUFFICIENT_FUNDS: {
    kind: 'decline',
    http: 422,
    meaning: 'The shopper balance does not cover the amount.',
    shopper: 'Your balance is not enough.',
  },
  // Payment declines: offline codes
  SIGNATURE_INVALID: {
    kind: 'decline',
    http: 422,
    meaning: "The phone's signature over the offline code does not verify.",
    shopper: 'This code is not valid. Please show a new code.',
  },
  CREDENTIAL_INVALID: {
    kind: 'decline',
    http: 422,
    meaning: 'The offline credential is not signed by a known issuer key, or this server never issued it.',
    shopper: 'This code is not valid. Please go online once in your app.',
  },
  CREDENTIAL_EXPIRED: {
    kind: 'decline',
    http: 422,
    meaning: 'The offline credential is outside its validity period.',
    shopper: 'Offline payment has expired. Please go online once in your app.',
  },
  CREDENTIAL_REVOKED: {
    kind: 'decline',
    http: 422,
    meaning: 'The offline credential is on the revocation list.',
    shopper: 'Offline payment is not available for this account.',
  },
  TIME_OUT_OF_WINDOW: {
    kind: 'decline',
    http: 422,
    meaning: "The code's timestamp is too far from the server's (or the kiosk's capture) time.",
    shopper: 'This code is too old. Please show a new code.',
  },
  COUNTER_REUSED: {
    kind: 'decline',
    http: 422,
    meaning: 'This offline code (credential and counter, or numeric time step) was presented before: a replay.',
    shopper: 'This code was already used. Please show a new code.',
  },
  OFFLINE_LIMIT_PER_PAYMENT: {
    kind: 'decline',
    http: 422,
    meaning: 'The amount exceeds the offline per-payment limit.',
    shopper: 'This amount is over the offline limit. Please pay online.',
  },
  OFFLINE_LIMIT_DAILY: {
    kind: 'decline',
    http: 422,
    meaning: 'The offline amount or count in the last 24 hours would exceed the limit.',
    shopper: 'Offline limit for today reached. Please pay online.',
  },
  OFFLINE_LIMIT_MONTHLY: {
    kind: 'decline',
    http: 422,
    meaning: 'The offline amount or count in the last 30 days would exceed the limit.',
    shopper: 'Offline limit for this month reached. Please pay online.',
  },
  // Transactions
  TX_CONFLICT: {
    kind: 'decline',
    http: 409,
    meaning: 'The kiosk transaction id was used before with a different code or amount.',
    shopper: 'Something went wrong. Please try again.',
  },
  OFFLINE_FORM_REQUIRED: {
    kind: 'decline',
    http: 422,
    meaning:
      'Only an offline QR code can be accepted by a kiosk without uplink and settled later; online and numeric codes need the server at the till.',
    shopper: 'Please show your offline QR code.',
  },
  KIOSK_OFFLINE_UNAVAILABLE: {
    kind: 'decline',
    http: 422,
    meaning:
      'Decided on the kiosk only: its uplink is down and it cannot accept offline codes now (revocation list missing or older than its policy allows, clock untrusted or too uncertain, or its offline exposure caps reached).',
    shopper: 'This kiosk cannot take offline payments right now. Please pay another way.',
  },
  TX_VOIDED: {
    kind: 'decline',
    http: 409,
    meaning: 'The kiosk voided this transaction id; it can never be approved.',
    shopper: 'This payment was cancelled.',
  },
  BALANCE_LIMIT: {
    kind: 'decline',
    http: 422,
    meaning: 'The credit (top-up, payment to a merchant, refund, settlement) would take an account balance above 10^12 minor units.',
    shopper: 'This amount cannot be accepted. Please contact the operator.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    kind: 'error',
    http: 415,
    meaning: 'A request body must be sent as content-type application/json.',
    shopper: 'Something went wrong. Please try again.',
  },
  REFUND_NOT_ALLOWED: {
    kind: 'error',
    http: 409,
    meaning: 'Only an approved or settled payment can be refunded or voided by an operator; this one was declined, or is voided already.',
    shopper: 'Something went wrong. Please try again.',
  },
  REFUND_EXCEEDS_PAID: {
    kind: 'error',
    http: 422,
    meaning: 'The refund is more than what is left of the payment: its amount less what was refunded before.',
    shopper: 'Something went wrong. Please try again.',
  },
  REQUEST_KEY_CONFLICT: {
    kind: 'error',
    http: 409,
    meaning: 'The request key was used before for a different request; an operator request is repeated only with the same content.',
    shopper: 'Something went wrong. Please try again.',
  },
  CSRF_REFUSED: {
    kind: 'error',
    http: 403,
    meaning: "A state-changing operator request came without the session's CSRF token, or from another origin.",
    shopper: 'Something went wrong. Please try again.',
  },
  CODE_GUESS_LOCKED: {
    kind: 'decline',
    http: 429,
    meaning:
      'Too many failed lookups of 20-digit codes for this numeric-code handle, from this kiosk, or across the server: such codes are refused there until the lockout ends (docs/security.md).',
    shopper: 'This code cannot be checked right now. Please show your offline QR code or try again later.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;
export type DeclineCode = { [K in ErrorCode]: (typeof ERRORS)[K]['kind'] extends 'decline' ? K : never }[ErrorCode];

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === 'string' && Object.hasOwn(ERRORS, x);
}

/**
 * Machine-readable details that some codes carry beside code and message, written once: the wire
 * (MQTT error replies, HTTP error bodies and headers) and KioskpayError take them from here.
 */
export interface ErrorDetails {
  /** How long to wait before sending again, in ms. */
  RATE_LIMITED: { readonly retryAfterMs: number };
}
/** The details of code C: an object for codes listed in ErrorDetails, never anything for the rest. */
export type DetailsOf<C extends ErrorCode> = C extends keyof ErrorDetails ? ErrorDetails[C] : undefined;

/** An operating error as a value that can cross a boundary (HTTP body, MQTT reply). */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  /** RATE_LIMITED only (ErrorDetails). */
  readonly retryAfterMs?: number;
}

/** Thrown inside request handlers and turned into a typed reply at the boundary. */
export class KioskpayError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly details: DetailsOf<C> | undefined;
  constructor(code: C, message?: string, ...details: C extends keyof ErrorDetails ? [DetailsOf<C>] : []) {
    super(message ?? ERRORS[code].meaning);
    this.name = 'KioskpayError';
    this.code = code;
    this.details = details[0] as DetailsOf<C> | undefined;
  }
  toWire(): WireError {
    return { code: this.code, message: this.message, ...(this.details ?? {}) };
  }
}
