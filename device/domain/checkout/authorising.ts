// SPDX-License-Identifier: Apache-2.0
// The `authorising` state, step by step ([PROTO-IDEM-4], as device/domain/online-payment.ts does it
// with promises): `pay` once; no answer in time -> `status` of the same txId, up to
// statusAttemptsMax times; still nothing, or the server never saw it -> `void` the same txId, up to
// voidAttemptsMax times; still nothing -> hand the txId to the shell to void later. The kiosk never
// guesses an outcome and never re-sends a payment under a new txId.
// Uplink down: an offline QR code is pre-checked locally, then what the pre-check accepted (the
// decoded code, the amount, the capture time; carried in the state) is written to the durable
// outbox, and only then approved (the outbox entry is on disk before the screen says approved or a relay fires).
// A write that does not finish in time is declined only once the kiosk has durably recorded that
// its txId never settles (discarding).
import type { ErrorCode } from '../../../shared/errors.ts';
import type { TxStatus } from '../../../shared/kiosk-messages.ts';
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

/** A definite answer to `pay` or `status`. */
function settle(s: AuthorisingState, status: TxStatus, reason: ErrorCode | undefined, now: number, ctx: CheckoutContext): Transition {
  switch (status) {
    case 'approved':
      return enterApproved(s, now, ctx);
    case 'declined':
      return decline(s, reason ?? 'INTERNAL', now, ctx);
    case 'voided':
      return decline(s, 'TX_VOIDED', now, ctx);
    // The server never saw this txId: void it so that a late copy of `pay` can never charge.
    case 'unknown':
      return startVoiding(s, now, ctx, s.cancelled);
  }
}

/** The answer to our `void`: that decides, whatever a late `pay` answer said. */
function settleVoid(s: AuthorisingState, status: TxStatus, reason: ErrorCode | undefined, now: number, ctx: CheckoutContext): Transition {
  // A void never turns into a charge; an 'approved' answer would mean the server could not void it,
  // so the shopper has paid and gets the goods.
  if (status === 'approved') return enterApproved(s, now, ctx);
  const voided = log('info', 'tx-voided', { txId: s.attempt.txId });
  if (s.cancelled) return enterIdle(s, ctx, voided);
  return decline(s, status === 'declined' ? (reason ?? 'TX_VOIDED') : 'TX_VOIDED', now, ctx, voided);
}

export function onAuthorisingTimeout(s: AuthorisingState, now: number, ctx: CheckoutContext): Transition {
  const { txId } = s.attempt;
  const c = ctx.config;
  switch (s.step) {
    case 'paying':
      return step(s, 'askingStatus', 1, now + c.statusAnswerMs, { type: 'sendStatus', txId }, log('warn', 'pay-timeout', { txId }));
    case 'askingStatus':
      if (s.tries < c.statusAttemptsMax) return step(s, 'askingStatus', s.tries + 1, now + c.statusAnswerMs, { type: 'sendStatus', txId });
      return startVoiding(s, now, ctx, s.cancelled);
    case 'voiding':
      if (s.tries < c.voidAttemptsMax) return step(s, 'voiding', s.tries + 1, now + c.voidAnswerMs, { type: 'sendVoid', txId });
      return unresolved(s, now, ctx);
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
  const online = s.step === 'paying' || s.step === 'askingStatus';
  switch (event.type) {
    case 'txAnswer':
      if (online) return settle(s, event.status, event.reason, now, ctx);
      if (s.step === 'voiding' && event.answers === 'void') return settleVoid(s, event.status, event.reason, now, ctx);
      return stale(s, event);
    case 'txError':
      if (online) return decline(s, event.code, now, ctx);
      if (s.step === 'voiding') return unresolved(s, now, ctx);
      return stale(s, event);
    case 'paySendFailed': {
      if (s.step !== 'paying') return stale(s, event);
      const offline = { ...s, uplinkOnline: false };
      const indicator: CheckoutEffect = { type: 'offlineIndicator', on: true };
      const route = routeCode(s.attempt.code.kind, false, ctx.policyMode());
      if (route !== 'precheck') return decline(offline, route === 'server' ? 'INTERNAL' : route, now, ctx, indicator);
      // `pay` never left the kiosk, so this txId is unused: the offline path may take it.
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
