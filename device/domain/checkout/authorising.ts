// SPDX-License-Identifier: Apache-2.0
// The `authorising` state, step by step. Online, the steps follow the idempotent-retry rule of
// shared/idempotent-retry.ts ([PROTO-IDEM-4]; the CLI and the demo follow the same rule with promises):
// `pay` once (step paying); no answer in time -> `status` of the same txId (askingStatus), up to
// statusAttemptsMax times; still nothing, or the server never saw it -> `void` the same txId
// (voiding), up to voidAttemptsMax times; still nothing -> hand the txId to the shell to void later.
// The kiosk never guesses an outcome and never re-sends a payment under a new txId. What the kiosk
// adds: the shopper's cancel voids at once, and while voiding only the void's answer decides.
// Uplink down: an offline QR code is pre-checked locally, then what the pre-check accepted (the
// decoded code, the amount, the capture time; carried in the state) is written to the durable
// outbox, and only then approved (the outbox entry is on disk before the screen says approved or a relay fires).
// A write that does not finish in time is declined only once the kiosk has durably recorded that
// its txId never settles (discarding).
import type { ErrorCode } from '../../../shared/errors.ts';
import { nextOnlineStep, type OnlineNext, type OnlineRequest, type RequestResult } from '../../../shared/idempotent-retry.ts';
import {
  enterApproved,
  enterDeclined,
  enterIdle,
  log,
  precheckOffline,
  routeCode,
  stale,
  stay,
  withLines,
  type AuthorisingState,
} from './outcomes.ts';
import type { AuthorisingStep, CheckoutContext, CheckoutEffect, CheckoutEvent, Transition } from './types.ts';

function step(s: AuthorisingState, next: AuthorisingStep, tries: number, deadlineMs: number, ...effects: CheckoutEffect[]): Transition {
  return { state: { ...s, step: next, tries, deadlineMs }, effects };
}

function decline(s: AuthorisingState, reason: ErrorCode, now: number, ctx: CheckoutContext, ...effects: CheckoutEffect[]): Transition {
  return enterDeclined(s, s.basket, s.declines, reason, now, ctx, ...effects);
}

function startVoiding(s: AuthorisingState, now: number, ctx: CheckoutContext, cancelled: boolean): Transition {
  const { txId } = s.attempt;
  return {
    state: { ...s, step: 'voiding', tries: 1, cancelled, deadlineMs: now + ctx.config.voidAnswerMs },
    effects: [{ type: 'sendVoid', txId }, log('info', 'voiding', { txId, cancelled })],
  };
}

/** The txId's fate could not be learned or fixed: the shell voids it when the uplink is back. */
function unresolved(s: AuthorisingState, now: number, ctx: CheckoutContext): Transition {
  const { txId } = s.attempt;
  const effects: CheckoutEffect[] = [{ type: 'voidLater', txId }, log('warn', 'tx-unresolved', { txId })];
  return s.cancelled ? enterIdle(s, ctx, ...effects) : decline(s, 'INTERNAL', now, ctx, ...effects);
}

type OnlineStep = Extract<AuthorisingStep, 'paying' | 'askingStatus' | 'voiding'>;

/** The request each online step waits on. */
const REQUEST_OF: Readonly<Record<OnlineStep, OnlineRequest>> = { paying: 'pay', askingStatus: 'status', voiding: 'void' };

const isOnline = (step: AuthorisingStep): step is OnlineStep => step in REQUEST_OF;

/** What came back for the online step in progress, through the retry rule, to the state it says. */
function followRetryRule(s: AuthorisingState, step: OnlineStep, result: RequestResult, now: number, ctx: CheckoutContext): Transition {
  return enterNext(s, step, nextOnlineStep(REQUEST_OF[step], s.tries, result, ctx.config), now, ctx);
}

function enterNext(s: AuthorisingState, from: OnlineStep, n: OnlineNext, now: number, ctx: CheckoutContext): Transition {
  const { txId } = s.attempt;
  if ('next' in n) {
    if (n.next === 'status') {
      const logged = from === 'paying' ? [log('warn', 'pay-timeout', { txId })] : [];
      return step(s, 'askingStatus', n.attempt, now + ctx.config.statusAnswerMs, { type: 'sendStatus', txId }, ...logged);
    }
    if (n.attempt === 1) return startVoiding(s, now, ctx, s.cancelled);
    return step(s, 'voiding', n.attempt, now + ctx.config.voidAnswerMs, { type: 'sendVoid', txId });
  }
  switch (n.end) {
    case 'approved':
      // From a void too: the server could not void it (a settled payment), so the shopper has paid.
      return enterApproved(s, now, ctx);
    case 'declined':
    case 'voided':
      return ended(s, from, n.end === 'declined' ? n.reason : 'TX_VOIDED', now, ctx);
    case 'refused':
      return decline(s, n.code, now, ctx);
    case 'not-sent':
      return offlineAfterNotSent(s, now, ctx);
    case 'unresolved':
      return unresolved(s, now, ctx);
  }
}

/** Declined or voided: a void that ends goes idle if the shopper cancelled, else shows the decline. */
function ended(s: AuthorisingState, from: OnlineStep, reason: ErrorCode, now: number, ctx: CheckoutContext): Transition {
  if (from !== 'voiding') return decline(s, reason, now, ctx);
  const voided = log('info', 'tx-voided', { txId: s.attempt.txId });
  return s.cancelled ? enterIdle(s, ctx, voided) : decline(s, reason, now, ctx, voided);
}

/** `pay` never left the kiosk, so this txId is unused: an offline QR code may take the offline path under it. */
function offlineAfterNotSent(s: AuthorisingState, now: number, ctx: CheckoutContext): Transition {
  const offline = { ...s, uplinkOnline: false };
  const indicator: CheckoutEffect = { type: 'offlineIndicator', on: true };
  const route = routeCode(s.attempt.code.kind, false, ctx.policyMode());
  if (route !== 'precheck') return decline(offline, route === 'server' ? 'INTERNAL' : route, now, ctx, indicator);
  const { txId, code, amount } = s.attempt;
  return {
    state: { ...offline, step: 'prechecking', tries: 1, deadlineMs: now + ctx.config.precheckMs },
    effects: [
      indicator,
      { type: 'show', screen: { name: 'authorising', total: amount, offline: true } },
      precheckOffline(txId, code, amount),
    ],
  };
}

export function onAuthorisingTimeout(s: AuthorisingState, now: number, ctx: CheckoutContext): Transition {
  const { txId } = s.attempt;
  const c = ctx.config;
  switch (s.step) {
    case 'paying':
    case 'askingStatus':
    case 'voiding':
      return followRetryRule(s, s.step, { kind: 'no-answer' }, now, ctx);
    case 'prechecking':
      // Nothing was stored, so nothing can be charged: a plain decline.
      return decline(s, 'INTERNAL', now, ctx, log('error', 'precheck-timeout', { txId }));
    case 'storing':
      // The write may still land: the decline waits until the kiosk has durably recorded that this
      // txId never settles, else a power loss could leave a declined payment on disk to be settled.
      return step(s, 'discarding', 1, now + c.storeOfflineMs, { type: 'discardOffline', txId }, log('error', 'store-timeout', { txId }));
    case 'discarding':
      // Not recorded yet (a stalled or failing disk): keep asking; the screen says please wait.
      return step(
        s,
        'discarding',
        s.tries + 1,
        now + c.storeOfflineMs,
        { type: 'discardOffline', txId },
        log('error', 'discard-slow', { txId, tries: s.tries + 1 }),
      );
  }
}

export function onAuthorisingCancel(s: AuthorisingState, ctx: CheckoutContext, now: number): Transition {
  switch (s.step) {
    case 'paying':
    case 'askingStatus':
      return startVoiding(s, now, ctx, true);
    case 'voiding':
      return stay({ ...s, cancelled: true }, log('info', 'cancel-while-voiding', { txId: s.attempt.txId }));
    case 'prechecking':
      // Nothing is stored yet; the late pre-check result will be stale.
      return enterIdle(s, ctx, log('info', 'cancelled-before-store', { txId: s.attempt.txId }));
    case 'storing':
    // The payment may already be on disk and will be settled: the shopper gets the goods.
    case 'discarding':
      return stay(s, { type: 'hint', hint: 'please-wait' });
  }
}

/** Answers, errors and results about the attempt in flight. */
export function onAuthorisingResult(s: AuthorisingState, event: CheckoutEvent, now: number, ctx: CheckoutContext): Transition {
  if (!('txId' in event) || event.txId !== s.attempt.txId) return stale(s, event);
  const step = s.step;
  switch (event.type) {
    case 'txAnswer':
      if (!isOnline(step)) return stale(s, event);
      // While voiding, only the void's answer decides, whatever a late `pay` or `status` answer says.
      if (step === 'voiding' && event.answers !== 'void') return stale(s, event);
      return followRetryRule(s, step, { kind: 'answer', status: event.status, reason: event.reason }, now, ctx);
    case 'txError':
      return isOnline(step) ? followRetryRule(s, step, { kind: 'refused', code: event.code }, now, ctx) : stale(s, event);
    case 'paySendFailed':
      // Only `pay` reports that it was not sent; follow-ups not sent are retried on their timeouts.
      return step === 'paying' ? followRetryRule(s, step, { kind: 'not-sent' }, now, ctx) : stale(s, event);
    case 'precheckResult': {
      if (s.step !== 'prechecking') return stale(s, event);
      if (!event.ok) return decline(s, event.reason, now, ctx);
      // What the pre-check accepted is what is stored: carried in the state until the write is done.
      const { txId, lines } = s.attempt;
      return {
        state: { ...s, step: 'storing', tries: 1, prechecked: event.payment, deadlineMs: now + ctx.config.storeOfflineMs },
        effects: [{ type: 'storeOffline', txId, payment: event.payment, ...withLines(lines) }],
      };
    }
    case 'offlineStored':
      return s.step === 'storing' ? enterApproved(s, now, ctx) : stale(s, event);
    case 'offlineStoreFailed':
      return s.step === 'storing'
        ? decline(s, 'INTERNAL', now, ctx, log('error', 'store-failed', { txId: s.attempt.txId }))
        : stale(s, event);
    case 'offlineDiscarded':
      return s.step === 'discarding' ? decline(s, 'INTERNAL', now, ctx) : stale(s, event);
    default:
      return stale(s, event);
  }
}
