// SPDX-License-Identifier: Apache-2.0
// The idempotent-retry rule of an online payment (docs/protocol.md 3.3 and 3.4, [PROTO-IDEM-4]),
// written once for every client that pays or voids online: the kiosk's checkout
// (device/domain/checkout/authorising.ts and the checkout runner), its pending voids
// (device/kiosk/kiosk-forwarder.ts), and the `kioskpay kiosk pay|void` commands and the demo
// (device/domain/online-payment.ts). Pure: the caller sends each request under the payment's one
// txId (so a repeat is the same request, [PROTO-IDEM-1]) and says what came back; the rule says
// what to send next, or how the payment ended. It never guesses and never asks for a new txId.
//
//   request  what came back                              next
//   pay      approved, declined or voided                that outcome
//            unknown                                     void (the server never saw it: a late copy must never charge)
//            an error reply (RATE_LIMITED too)           refused: the server did not take it, nothing was charged
//            no answer in time                           status, attempt 1
//            not sent (the uplink was down)              not-sent: nothing can have been charged
//   status   approved, declined or voided                that outcome
//            unknown                                     void, attempt 1
//            no answer, not sent, or RATE_LIMITED        status again up to statusAttemptsMax, then void
//            another error reply                         void, attempt 1 (the refusal says nothing about the pay)
//   void     approved, declined or voided                that outcome (approved: a settled offline payment, not voidable)
//            no answer, not sent, or RATE_LIMITED        void again up to voidAttemptsMax, then unresolved
//            unknown, or another error reply             unresolved: nothing was voided
// A RATE_LIMITED reply to `status` or `void` says nothing about the payment (the request was not
// handled), so it counts as no answer. Unresolved: the caller keeps the txId and voids it later.
import type { ErrorCode } from './errors.ts';
import type { ErrorReply, PayResult, TxStatus } from './kiosk-messages.ts';

/** The three requests of an online payment, all for the same txId. */
export type OnlineRequest = 'pay' | 'status' | 'void';

/** What came back from one request, as the rule reads it. */
export type RequestResult =
  | { readonly kind: 'answer'; readonly status: TxStatus; readonly reason?: ErrorCode | undefined }
  /** An error reply: the server refused the request itself. */
  | { readonly kind: 'refused'; readonly code: ErrorCode }
  /** No answer in time (or one that says nothing about the payment). */
  | { readonly kind: 'no-answer' }
  /** The request never left (the uplink was down). */
  | { readonly kind: 'not-sent' };

export interface RetryLimits {
  /** `status` requests after a `pay` went unanswered. */
  readonly statusAttemptsMax: number;
  /** `void` requests before the txId is left unresolved. */
  readonly voidAttemptsMax: number;
}

/** What to do next: send `status` or `void` (attempt n of that request), or the payment's end. */
export type OnlineNext =
  | { readonly next: 'status' | 'void'; readonly attempt: number }
  | { readonly end: 'approved' }
  | { readonly end: 'declined'; readonly reason: ErrorCode }
  | { readonly end: 'voided' }
  | { readonly end: 'refused'; readonly code: ErrorCode }
  | { readonly end: 'not-sent' }
  | { readonly end: 'unresolved' };

/** What a reply can say (a request that got one was sent). */
export type ReplyResult = Exclude<RequestResult, { kind: 'not-sent' }>;

/** A `pay.result` or an error reply, read for the request it answers. */
export function resultOfReply(request: OnlineRequest, reply: PayResult | ErrorReply): ReplyResult {
  if (reply.type === 'pay.result') return { kind: 'answer', status: reply.status, reason: reply.reason };
  if (reply.code === 'RATE_LIMITED' && request !== 'pay') return { kind: 'no-answer' };
  return { kind: 'refused', code: reply.code };
}

/** The rule: after attempt `attempt` of `request` brought `result`, what comes next. */
export function nextOnlineStep(request: OnlineRequest, attempt: number, result: RequestResult, limits: RetryLimits): OnlineNext {
  switch (result.kind) {
    case 'answer':
      return afterAnswer(request, result.status, result.reason);
    case 'refused':
      // A refused `pay` was not taken: nothing was charged. A refused `status` says nothing about the
      // `pay` it asks after, which may have charged: only a void settles that (refund or tombstone).
      if (request === 'pay') return { end: 'refused', code: result.code };
      return request === 'status' ? { next: 'void', attempt: 1 } : { end: 'unresolved' };
    case 'not-sent':
      if (request === 'pay') return { end: 'not-sent' };
      return askAgain(request, attempt, limits);
    case 'no-answer':
      return askAgain(request, attempt, limits);
  }
}

function afterAnswer(request: OnlineRequest, status: TxStatus, reason: ErrorCode | undefined): OnlineNext {
  switch (status) {
    case 'approved':
      return { end: 'approved' };
    case 'declined':
      return { end: 'declined', reason: reason ?? (request === 'void' ? 'TX_VOIDED' : 'INTERNAL') };
    case 'voided':
      return { end: 'voided' };
    case 'unknown':
      return request === 'void' ? { end: 'unresolved' } : { next: 'void', attempt: 1 };
  }
}

/** Nothing learned from attempt `attempt` of `request`: the same request again, or the next one. */
function askAgain(request: OnlineRequest, attempt: number, limits: RetryLimits): OnlineNext {
  switch (request) {
    case 'pay':
      return { next: 'status', attempt: 1 };
    case 'status':
      return attempt < limits.statusAttemptsMax ? { next: 'status', attempt: attempt + 1 } : { next: 'void', attempt: 1 };
    case 'void':
      return attempt < limits.voidAttemptsMax ? { next: 'void', attempt: attempt + 1 } : { end: 'unresolved' };
  }
}
