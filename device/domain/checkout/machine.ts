// SPDX-License-Identifier: Apache-2.0
// The kiosk's checkout as a pure state machine: reduce(state, event, ctx) -> { state, effects }.
// No I/O and no timers: the shell performs the effects, feeds back what happened as events, and
// sends `tick` with the monotonic time (deadlineOf(state) says when the next one matters).
// Time for new deadlines is ctx.clock.monotonicMs(), except on `tick`, which carries its own.
//
// Transition table. SC = self-checkout mode, V = vending mode. "hint" = a hint effect, state
// unchanged; "-" = ignored (no effect); "stale" = logged and ignored. Timeouts fire on `tick`.
//
// state        | product scan          | payment scan            | garbage scan | slotPressed (V)      | payPressed   | cancelPressed             | timeout                                   | results of the attempt
// -------------+-----------------------+-------------------------+--------------+----------------------+--------------+---------------------------+-------------------------------------------+-----------------------
// idle         | SC: add -> basket     | hint choose-products    | log          | select -> awaitingCode | hint       | -                         | (none)                                    | stale
//              | V: hint press-button  |                         |              | SC: log              |              |                           |                                           |
// basket (SC)  | add, deadline renewed | authorise (new txId)    | log          | log                  | -> awaitingCode | clear -> idle          | basketIdleMs -> idle (basket cleared)     | stale
// awaitingCode | SC: add, renewed      | authorise (new txId)    | log + hint   | V: reselect, renewed | -            | -> idle (basket voided)   | codeWaitMs -> idle (basket voided)        | stale
//              | V: hint press-button  |                         |              |                      |              |                           |                                           |
// authorising  | hint please-wait      | hint please-wait        | log          | hint please-wait     | -            | paying/askingStatus: void | paying: -> askingStatus (status, same tx) | see below
//              |                       |                         |              |                      |              | voiding: mark cancelled   | askingStatus: retry, then -> voiding      |
//              |                       |                         |              |                      |              | prechecking: -> idle      | voiding: retry, then voidLater + decline  |
//              |                       |                         |              |                      |              | storing: hint please-wait | prechecking: decline INTERNAL             |
//              |                       |                         |              |                      |              | discarding: please-wait   | storing: discardOffline -> discarding     |
//              |                       |                         |              |                      |              |                           | discarding: discardOffline again          |
// dispensing(V)| hint please-wait      | hint please-wait        | log          | hint please-wait     | -            | hint please-wait          | dispenseMs -> approved                    | stale
// approved     | hint please-wait      | hint please-wait        | log          | hint please-wait     | -            | -> idle                   | resultShowMs -> idle                      | stale
// declined     | hint please-wait      | retry: authorise (NEW)  | log + hint   | V: reselect          | -            | -> idle                   | declineShowMs -> awaitingCode, or idle    | stale
//              |                       |  if declines < max      |              |                      |              |                           |   after declinesPerBasketMax declines     |
// fault        | log                   | log                     | log          | log                  | -            | -                         | catalog: catalogWaitMs -> warn (once)     | stale
//
// In every state: uplinkChanged updates the uplink flag (offlineIndicator effect on a change);
// faultRaised enters `fault` from idle, basket, awaitingCode and declined (the basket is voided; no
// money is in flight there) and is kept as pendingFault in authorising, dispensing and approved,
// entered when the kiosk would go idle; faultCleared leaves `fault` for idle, or clears pendingFault.
// A fault is logged as a warning with what it means and what fixes it (fault-help.ts), except a missing
// catalog entered from idle and the like: every new kiosk starts without one and gets the server's
// retained catalog a moment after it connects, so that is logged at info and warned about only if
// it is still missing catalogWaitMs later.
//
// Results of the attempt in `authorising` (events whose txId is not the attempt's are stale):
//   paying/askingStatus  txAnswer approved -> approved (SC) or dispensing (V, relay pulse)
//                        txAnswer declined -> declined(reason); voided -> declined(TX_VOIDED)
//                        txAnswer unknown -> voiding; txError -> declined(code)
//                        paySendFailed (paying only) -> offline QR: prechecking, same txId; else declined(OFFLINE_FORM_REQUIRED)
//   voiding              txAnswer to `void`: voided/declined -> declined (idle if cancelled); approved -> approved
//                        answers to `pay`/`status` are stale (the void decides); txError -> voidLater + declined (idle if cancelled)
//   prechecking          precheckResult ok -> storing (storeOffline of what it accepted, kept in the state); not ok -> declined(reason)
//   storing              offlineStored -> approved/dispensing; offlineStoreFailed -> declined(INTERNAL)
//   discarding           offlineDiscarded -> declined(INTERNAL); a late offlineStored is stale (the entry never settles)
//
// Decisions: a product scanned while awaitingCode is added (nothing was sent yet, so the amount is
// still open) and renews the code deadline; in vending mode product barcodes are refused with a
// hint and a new button press replaces the selection (one item per sale, one relay pulse). A
// payment code in idle (empty basket) is ignored with a hint, never sent.
import { assertUnreachable } from '../../../shared/assert.ts';
import { ERRORS } from '../../../shared/errors.ts';
import { addItem, emptyBasket, singleItemBasket, type Basket } from './basket.ts';
import { onAuthorisingCancel, onAuthorisingResult, onAuthorisingTimeout } from './authorising.ts';
import { classifyScan, type ScanClass } from './classify-scan.ts';
import { enterAwaitingCode, enterBasket, enterIdle, log, stale, startAuthorisation, stay } from './outcomes.ts';
import { FAULT_HELP } from './fault-help.ts';
import type { CheckoutContext, CheckoutEffect, CheckoutEvent, CheckoutState, FaultKind, Hint, Transition } from './types.ts';

export type { CheckoutContext, CheckoutEffect, CheckoutEvent, CheckoutState, Transition } from './types.ts';

export function initialCheckoutState(uplinkOnline: boolean): CheckoutState {
  return { name: 'idle', uplinkOnline };
}

/** The monotonic time at which the current state times out, if it can. */
export function deadlineOf(state: CheckoutState): number | undefined {
  return 'deadlineMs' in state ? state.deadlineMs : undefined;
}

const hint = (h: Hint, text?: string): CheckoutEffect => (text === undefined ? { type: 'hint', hint: h } : { type: 'hint', hint: h, text });
const busy = (s: CheckoutState) => stay(s, hint('please-wait'));

export function reduce(state: CheckoutState, event: CheckoutEvent, ctx: CheckoutContext): Transition {
  const now = event.type === 'tick' ? event.nowMonotonicMs : ctx.clock.monotonicMs();
  switch (event.type) {
    case 'scan':
      return onScan(state, classifyScan(event.text), now, ctx);
    case 'slotPressed':
      return onSlot(state, event.slot, now, ctx);
    case 'payPressed':
      return onPay(state, now, ctx);
    case 'cancelPressed':
      return onCancel(state, now, ctx);
    case 'tick':
      return deadlineOf(state) !== undefined && now >= deadlineOf(state)! ? onTimeout(state, now, ctx) : stay(state);
    case 'uplinkChanged':
      if (event.online === state.uplinkOnline) return stay(state);
      return stay(
        { ...state, uplinkOnline: event.online },
        { type: 'offlineIndicator', on: !event.online },
        log('info', 'uplink-changed', { online: event.online }),
      );
    case 'faultRaised':
      return onFault(state, event.fault, now, ctx);
    case 'faultCleared':
      if (state.name === 'fault')
        return enterIdle({ ...state, pendingFault: undefined }, ctx, log('info', 'fault-cleared', { fault: state.fault }));
      return stay({ ...state, pendingFault: undefined });
    case 'txAnswer':
    case 'txError':
    case 'paySendFailed':
    case 'precheckResult':
    case 'offlineStored':
    case 'offlineStoreFailed':
    case 'offlineDiscarded':
      return state.name === 'authorising' ? onAuthorisingResult(state, event, now, ctx) : stale(state, event);
    default:
      return assertUnreachable(event);
  }
}

// ---- scans -----------------------------------------------------------------------------------

function onScan(s: CheckoutState, scan: ScanClass, now: number, ctx: CheckoutContext): Transition {
  if (scan.kind === 'garbage') {
    // Never log the text itself: it may be a code.
    const logged = log('info', 'scan-unreadable', { length: scan.length, detail: scan.detail });
    const asking = s.name === 'awaitingCode' || s.name === 'declined';
    return asking ? stay(s, hint('unreadable-code', ERRORS.CODE_MALFORMED.shopper), logged) : stay(s, logged);
  }
  switch (s.name) {
    case 'idle':
      if (scan.kind === 'payment') return stay(s, hint('choose-products-first'));
      return addProduct(s, emptyBasketFor(ctx), scan.gtin, now, ctx);
    case 'basket':
      if (scan.kind === 'payment') return startAuthorisation(s, s.basket, 0, scan.code, now, ctx);
      return addProduct(s, s.basket, scan.gtin, now, ctx);
    case 'awaitingCode':
      if (scan.kind === 'payment') return startAuthorisation(s, s.basket, s.declines, scan.code, now, ctx);
      return addProduct(s, s.basket, scan.gtin, now, ctx);
    case 'declined':
      if (scan.kind === 'payment' && s.declines < ctx.config.declinesPerBasketMax)
        return startAuthorisation(s, s.basket, s.declines, scan.code, now, ctx);
      return busy(s);
    case 'authorising':
    case 'dispensing':
    case 'approved':
      return busy(s);
    case 'fault':
      return stay(s, log('info', 'scan-ignored-in-fault', { kind: scan.kind }));
    default:
      return assertUnreachable(s);
  }
}

function emptyBasketFor(ctx: CheckoutContext): Basket | undefined {
  const catalog = ctx.catalog();
  return catalog === undefined ? undefined : emptyBasket(catalog.currency);
}

/** Self-checkout: adds one item; from idle it opens a basket, in basket/awaitingCode it renews the deadline. */
function addProduct(
  s: Extract<CheckoutState, { name: 'idle' | 'basket' | 'awaitingCode' }>,
  basket: Basket | undefined,
  gtin: string,
  now: number,
  ctx: CheckoutContext,
): Transition {
  if (ctx.mode === 'vending') return stay(s, hint('press-a-product-button'));
  const item = ctx.catalog()?.byGtin(gtin);
  if (basket === undefined) return stay(s, hint('not-ready'), log('warn', 'no-catalog'));
  if (item === undefined)
    return stay(s, hint('unknown-product'), { type: 'beep', pattern: 'decline' }, log('info', 'unknown-product', { gtin }));
  const added = addItem(basket, item, ctx.config.basketItemsMax);
  if (!added.ok)
    return stay(s, hint('basket-full'), { type: 'beep', pattern: 'decline' }, log('warn', 'item-refused', { gtin, reason: added.reason }));
  if (s.name === 'awaitingCode') return enterAwaitingCode(s, added.basket, s.declines, now, ctx);
  return enterBasket(s, added.basket, now, ctx);
}

// ---- buttons ---------------------------------------------------------------------------------

function onSlot(s: CheckoutState, slot: number, now: number, ctx: CheckoutContext): Transition {
  if (s.name === 'authorising' || s.name === 'dispensing' || s.name === 'approved') return busy(s);
  if (ctx.mode !== 'vending' || s.name === 'fault' || s.name === 'basket')
    return stay(s, log('info', 'slot-ignored', { slot, state: s.name }));
  const catalog = ctx.catalog();
  if (catalog === undefined) return stay(s, hint('not-ready'), log('warn', 'no-catalog'));
  const item = catalog.bySlot(slot);
  if (item === undefined)
    return stay(s, hint('unknown-product'), { type: 'beep', pattern: 'decline' }, log('info', 'unknown-slot', { slot }));
  const declines = s.name === 'idle' ? 0 : s.declines;
  return enterAwaitingCode(s, singleItemBasket(item), declines, now, ctx);
}

function onPay(s: CheckoutState, now: number, ctx: CheckoutContext): Transition {
  if (s.name === 'basket') return enterAwaitingCode(s, s.basket, 0, now, ctx);
  if (s.name === 'idle') return stay(s, hint('choose-products-first'));
  return stay(s);
}

function onCancel(s: CheckoutState, now: number, ctx: CheckoutContext): Transition {
  switch (s.name) {
    case 'idle':
    case 'fault':
      return stay(s);
    case 'basket':
    case 'awaitingCode':
    case 'declined':
      return enterIdle(s, ctx, log('info', 'basket-cancelled', { state: s.name, items: s.basket.items.length }));
    case 'authorising':
      return onAuthorisingCancel(s, ctx, now);
    case 'dispensing':
      return busy(s);
    case 'approved':
      return enterIdle(s, ctx);
    default:
      return assertUnreachable(s);
  }
}

// ---- time and faults -------------------------------------------------------------------------

function onTimeout(s: CheckoutState, now: number, ctx: CheckoutContext): Transition {
  switch (s.name) {
    case 'basket':
      return enterIdle(s, ctx, log('info', 'basket-abandoned', { items: s.basket.items.length }));
    case 'awaitingCode':
      return enterIdle(s, ctx, log('info', 'code-wait-expired', { items: s.basket.items.length }));
    case 'authorising':
      return onAuthorisingTimeout(s, now, ctx);
    case 'dispensing':
      return {
        state: {
          uplinkOnline: s.uplinkOnline,
          pendingFault: s.pendingFault,
          name: 'approved',
          txId: s.txId,
          total: s.total,
          deadlineMs: now + ctx.config.resultShowMs,
        },
        effects: [{ type: 'show', screen: { name: 'approved', total: s.total } }],
      };
    case 'approved':
      return enterIdle(s, ctx);
    case 'declined':
      if (s.declines < ctx.config.declinesPerBasketMax) return enterAwaitingCode(s, s.basket, s.declines, now, ctx);
      return enterIdle(s, ctx, log('info', 'declines-exhausted', { declines: s.declines }));
    case 'fault': {
      // Still no catalog when the wait ended: warn once, saying what it means and what fixes it.
      const { deadlineMs: _waited, ...waiting } = s;
      return stay(
        waiting,
        log('warn', 'fault', { fault: s.fault, state: 'fault', waitedMs: ctx.config.catalogWaitMs, ...FAULT_HELP[s.fault] }),
      );
    }
    case 'idle':
      return stay(s);
    default:
      return assertUnreachable(s);
  }
}

function onFault(s: CheckoutState, fault: FaultKind, now: number, ctx: CheckoutContext): Transition {
  const logged = log('warn', 'fault', { fault, state: s.name, ...FAULT_HELP[fault] });
  if (s.name === 'authorising' || s.name === 'dispensing' || s.name === 'approved') return stay({ ...s, pendingFault: fault }, logged);
  if (fault === 'catalog-unavailable') {
    // No product list yet is what every new kiosk starts with: the server's retained catalog comes a
    // moment after the first connection. Out of service meanwhile, but a warning only if it stays.
    if (s.name === 'fault' && s.fault === fault) return stay(s);
    return {
      state: { uplinkOnline: s.uplinkOnline, name: 'fault', fault, deadlineMs: now + ctx.config.catalogWaitMs },
      effects: [
        log('info', 'waiting-for-catalog', { state: s.name, waitMs: ctx.config.catalogWaitMs }),
        { type: 'show', screen: { name: 'fault', fault } },
      ],
    };
  }
  return enterIdle({ ...s, pendingFault: fault }, ctx, logged);
}
