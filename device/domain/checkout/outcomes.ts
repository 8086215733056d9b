// SPDX-License-Identifier: Apache-2.0
// The entries into states that several transitions share: going idle, asking for a code, starting
// an authorisation, approving, declining. Each returns the new state and the effects of entering it.
import { assert } from '../../../shared/assert.ts';
import type { DecodedCode } from '../../../shared/codes/decode.ts';
import { ERRORS, type ErrorCode } from '../../../shared/errors.ts';
import type { SaleLine } from '../../../shared/kiosk-messages.ts';
import type { PolicyMode } from '../../../shared/kiosk-policy.ts';
import type { Money } from '../../../shared/money.ts';
import { saleLinesOf, type Basket } from './basket.ts';
import { relayOnMs } from './config.ts';
import type { CheckoutContext, CheckoutEffect, CheckoutEvent, CheckoutState, Transition } from './types.ts';

export type AuthorisingState = Extract<CheckoutState, { name: 'authorising' }>;

/** The fields every state carries over. */
export function common(s: CheckoutState): { uplinkOnline: boolean; pendingFault: CheckoutState['pendingFault'] } {
  return { uplinkOnline: s.uplinkOnline, pendingFault: s.pendingFault };
}

export function log(level: 'info' | 'warn' | 'error', event: string, detail?: Record<string, string | number | boolean>): CheckoutEffect {
  return detail === undefined ? { type: 'log', level, event } : { type: 'log', level, event, detail };
}

/** No transition; optional effects (hints, logs). */
export function stay(state: CheckoutState, ...effects: CheckoutEffect[]): Transition {
  return { state, effects };
}

/** An event that belongs to an attempt no longer in flight (late answers, stray results): logged, ignored. */
export function stale(state: CheckoutState, event: CheckoutEvent): Transition {
  const txId = 'txId' in event ? event.txId : '';
  return stay(state, log('info', 'stale-event', { event: event.type, txId, state: state.name }));
}

/** Back to idle, or into a fault that was reported while a payment was in flight. */
export function enterIdle(s: CheckoutState, ctx: CheckoutContext, ...effects: CheckoutEffect[]): Transition {
  if (s.pendingFault !== undefined) {
    const fault = s.pendingFault;
    return {
      state: { uplinkOnline: s.uplinkOnline, name: 'fault', fault },
      effects: [...effects, { type: 'show', screen: { name: 'fault', fault } }],
    };
  }
  return {
    state: { uplinkOnline: s.uplinkOnline, name: 'idle' },
    effects: [...effects, { type: 'show', screen: { name: 'idle', mode: ctx.mode } }],
  };
}

export function enterBasket(s: CheckoutState, basket: Basket, now: number, ctx: CheckoutContext): Transition {
  return {
    state: { ...common(s), name: 'basket', basket, deadlineMs: now + ctx.config.basketIdleMs },
    effects: [{ type: 'show', screen: { name: 'basket', basket } }],
  };
}

export function enterAwaitingCode(s: CheckoutState, basket: Basket, declines: number, now: number, ctx: CheckoutContext): Transition {
  return {
    state: { ...common(s), name: 'awaitingCode', basket, declines, deadlineMs: now + ctx.config.codeWaitMs },
    effects: [{ type: 'show', screen: { name: 'awaitingCode', basket } }],
  };
}

/**
 * A payment code was presented for `basket`. Where it goes depends on the uplink and the kiosk's
 * policy (shared/kiosk-policy.ts):
 *   online code or numeric offline code: to the server (`pay`); uplink down: declined at once
 *     (OFFLINE_FORM_REQUIRED, or KIOSK_OFFLINE_UNAVAILABLE under require-online)
 *   offline QR code: to the server while online; to the local pre-check while the uplink is down,
 *     or always under force-offline; never stored under require-online
 * A decline here has no txId: nothing was sent, so nothing needs voiding.
 */
export function startAuthorisation(
  s: CheckoutState,
  basket: Basket,
  declines: number,
  code: DecodedCode,
  now: number,
  ctx: CheckoutContext,
): Transition {
  assert(basket.items.length > 0 && basket.total.value > 0, 'an authorisation needs a non-empty basket');
  const route = routeCode(code.kind, s.uplinkOnline, ctx.policyMode());
  if (route !== 'server' && route !== 'precheck') return enterDeclined(s, basket, declines, route, now, ctx);
  const txId = ctx.nextTxId();
  const lines = saleLinesOf(basket, ctx.mode === 'vending' ? 'slot' : 'scan');
  const attempt = { txId, code, amount: basket.total, lines };
  const online = route === 'server';
  const state: AuthorisingState = {
    ...common(s),
    name: 'authorising',
    basket,
    declines,
    attempt,
    cancelled: false,
    tries: 1,
    step: online ? 'paying' : 'prechecking',
    deadlineMs: now + (online ? ctx.config.payAnswerMs : ctx.config.precheckMs),
  };
  const request: CheckoutEffect = online
    ? { type: 'sendPay', txId, code, amount: basket.total, ...withLines(lines) }
    : precheckOffline(txId, code, basket.total);
  return {
    state,
    effects: [
      { type: 'show', screen: { name: 'authorising', total: basket.total, offline: !online } },
      request,
      log('info', 'authorisation-started', {
        txId,
        codeKind: code.kind,
        amount: basket.total.value,
        currency: basket.total.currency,
        online,
        lines: lines?.length ?? 0,
      }),
      ...(lines === undefined ? [log('warn', 'sale-lines-omitted', { txId, items: basket.items.length })] : []),
    ],
  };
}

/** The local pre-check of a code routed to it (routeCode: only an offline QR code is). */
export function precheckOffline(txId: string, code: DecodedCode, amount: Money): CheckoutEffect {
  assert(code.kind === 'offline-qr', 'only an offline QR code is pre-checked');
  return { type: 'precheckOffline', txId, code, amount };
}

/** `{ lines }` when the sale has lines, else nothing: an effect or request carries no empty `lines`. */
export function withLines(lines: readonly SaleLine[] | undefined): { lines?: readonly SaleLine[] } {
  return lines === undefined ? {} : { lines };
}

/** Where a code of this kind goes now, or the decline when it can go nowhere. */
export function routeCode(kind: DecodedCode['kind'], uplinkOnline: boolean, policy: PolicyMode): 'server' | 'precheck' | ErrorCode {
  if (kind === 'offline-qr' && policy === 'force-offline') return 'precheck';
  if (uplinkOnline) return 'server';
  if (policy === 'require-online') return 'KIOSK_OFFLINE_UNAVAILABLE';
  return kind === 'offline-qr' ? 'precheck' : 'OFFLINE_FORM_REQUIRED';
}

/** Money is taken (online approval, or offline payment safely in the outbox). */
export function enterApproved(s: AuthorisingState, now: number, ctx: CheckoutContext): Transition {
  const { txId, amount } = s.attempt;
  const approvedLog = log('info', 'approved', { txId, amount: amount.value, currency: amount.currency });
  if (ctx.mode === 'vending') {
    const item = s.basket.items[0];
    assert(s.basket.items.length === 1 && item?.slot !== undefined, 'a vending basket holds exactly one item with a slot');
    return {
      state: { ...common(s), name: 'dispensing', txId, slot: item.slot, total: amount, deadlineMs: now + ctx.config.dispenseMs },
      effects: [
        { type: 'show', screen: { name: 'dispensing', slot: item.slot } },
        { type: 'beep', pattern: 'accept' },
        { type: 'pulseRelay', slot: item.slot, onMs: relayOnMs(ctx.config) },
        approvedLog,
      ],
    };
  }
  return {
    state: { ...common(s), name: 'approved', txId, total: amount, deadlineMs: now + ctx.config.resultShowMs },
    effects: [{ type: 'show', screen: { name: 'approved', total: amount } }, { type: 'beep', pattern: 'accept' }, approvedLog],
  };
}

/** Shows why, in the shopper's words, then (on timeout) offers a retry under a new txId. */
export function enterDeclined(
  s: CheckoutState,
  basket: Basket,
  declines: number,
  reason: ErrorCode,
  now: number,
  ctx: CheckoutContext,
  ...effects: CheckoutEffect[]
): Transition {
  const txId = s.name === 'authorising' ? s.attempt.txId : '';
  return {
    state: { ...common(s), name: 'declined', basket, declines: declines + 1, reason, deadlineMs: now + ctx.config.declineShowMs },
    effects: [
      ...effects,
      { type: 'show', screen: { name: 'declined', reason, text: ERRORS[reason].shopper } },
      { type: 'beep', pattern: 'decline' },
      log('info', 'declined', { txId, reason }),
    ],
  };
}
