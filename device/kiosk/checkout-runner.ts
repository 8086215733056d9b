// SPDX-License-Identifier: Apache-2.0
// The shell around the pure checkout machine (domain/checkout/machine.ts): feeds it events, performs
// its effects on the real ports, feeds back what happened, and keeps one timer for the state's
// deadline. Every effect's outcome comes back as an event; nothing here decides a payment.
//   sendPay              -> in-flight ledger (durable) -> uplink request (with the sale's lines) -> txAnswer | txError | paySendFailed
//   sendStatus/Void      -> uplink request -> txAnswer | txError (timeouts: the machine's)
//   precheckOffline      -> OfflineDesk.precheck -> precheckResult (with what it accepted, which the machine keeps)
//   storeOffline         -> OfflineDesk.store of what was accepted (fsync'd, with the sale's lines) -> offlineStored | offlineStoreFailed
//   discardOffline       -> OfflineDesk.discard (durable) -> offlineDiscarded;  voidLater -> the ledger's void list
//   show/hint/offlineIndicator/beep/pulseRelay, and each payment's outcome -> CheckoutEvents;  log -> the logger
import type { Logger } from 'pino';
import type { TimerHandle, Timers } from '../timers.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import { resultOfReply } from '../../shared/idempotent-retry.ts';
import type { PayResult, ErrorReply, SaleLine } from '../../shared/kiosk-messages.ts';
import type { Money } from '../../shared/money.ts';
import { deadlineOf, initialCheckoutState, reduce } from '../domain/checkout/machine.ts';
import type { AnswerTo, CheckoutContext, CheckoutEffect, CheckoutEvent, CheckoutState, Hint, Screen } from '../domain/checkout/types.ts';
import { HINT_WORDS } from '../display/words.ts';
import { isUplinkError, UplinkOfflineError, type Uplink } from '../uplink/uplink.ts';
import type { InflightRecords } from './inflight-ledger.ts';
import type { OfflineDesk } from './offline-desk.ts';

/** What the kiosk's services need of the device timers. */
export type TimerPort = Pick<Timers, 'setTimeout' | 'clearTimeout'>;

/** What happened to one payment attempt, for telemetry (no code). */
export interface PaymentOutcome {
  txId: string;
  amount: Money;
  outcome: 'approved' | 'declined';
  offline: boolean;
  reason?: ErrorCode | undefined;
}

/** What the checkout tells the kiosk around it: the screen, the lights, buzzer and relay, telemetry. */
export interface CheckoutEvents {
  /** The screen changed (hint null), or a hint appeared over it, with its words. */
  screen(screen: Screen, hint: { hint: Hint; text: string } | null): void;
  offlineIndicator(on: boolean): void;
  beep(pattern: 'accept' | 'decline'): void;
  pulseRelay(slot: number, onMs: number): void;
  /** A payment attempt ended, approved or declined. */
  payment(o: PaymentOutcome): void;
}

export interface CheckoutRunnerDeps {
  ctx: CheckoutContext;
  uplink: Pick<Uplink, 'connected' | 'request'>;
  desk: OfflineDesk;
  /** Online payments in flight and to void, durably (inflight-ledger.ts). */
  ledger: InflightRecords;
  nextRequestId: () => string;
  timers: TimerPort;
  log: Logger;
  events: CheckoutEvents;
}

export class CheckoutRunner {
  readonly #d: CheckoutRunnerDeps;
  #state: CheckoutState;
  #timer: TimerHandle | undefined;
  #stopped = false;
  /** Events raised while an event is being handled run after it, in order. */
  readonly #queue: CheckoutEvent[] = [];
  #busy = false;

  constructor(deps: CheckoutRunnerDeps) {
    this.#d = deps;
    this.#state = initialCheckoutState(deps.uplink.connected);
  }

  get state(): CheckoutState {
    return this.#state;
  }

  send(event: CheckoutEvent): void {
    if (this.#stopped) return;
    this.#queue.push(event);
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (let e = this.#queue.shift(); e !== undefined; e = this.#queue.shift()) this.#step(e);
    } finally {
      this.#busy = false;
    }
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#d.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #step(event: CheckoutEvent): void {
    const before = this.#state;
    const t = reduce(before, event, this.#d.ctx);
    this.#state = t.state;
    for (const effect of t.effects) this.#perform(effect);
    this.#reportOutcome(before, t.state);
    this.#arm();
  }

  #arm(): void {
    if (this.#timer !== undefined) this.#d.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    const deadline = deadlineOf(this.#state);
    if (deadline === undefined || this.#stopped) return;
    const wait = Math.max(0, deadline - this.#d.ctx.clock.monotonicMs());
    this.#timer = this.#d.timers.setTimeout(() => {
      this.#timer = undefined;
      this.send({ type: 'tick', nowMonotonicMs: this.#d.ctx.clock.monotonicMs() });
    }, wait + 1);
  }

  #reportOutcome(before: CheckoutState, after: CheckoutState): void {
    if (before.name !== 'authorising' || after.name === 'authorising') return;
    const { txId, amount } = before.attempt;
    const offline = before.step === 'prechecking' || before.step === 'storing' || before.step === 'discarding';
    if (after.name === 'approved' || after.name === 'dispensing') this.#d.events.payment({ txId, amount, outcome: 'approved', offline });
    else if (after.name === 'declined') this.#d.events.payment({ txId, amount, outcome: 'declined', offline, reason: after.reason });
  }

  #perform(e: CheckoutEffect): void {
    const d = this.#d;
    switch (e.type) {
      case 'show':
        return d.events.screen(e.screen, null);
      case 'hint':
        return d.events.screen(screenOf(this.#state, d.ctx), { hint: e.hint, text: e.text ?? HINT_WORDS[e.hint] });
      case 'beep':
        return d.events.beep(e.pattern);
      case 'offlineIndicator':
        return d.events.offlineIndicator(e.on);
      case 'pulseRelay':
        return d.events.pulseRelay(e.slot, e.onMs);
      case 'sendPay':
        d.desk.noteSentOnline(e.code);
        return this.#request('pay', e.txId, { type: 'pay', code: e.code.text, amount: e.amount, lines: e.lines });
      case 'sendStatus':
        return this.#request('status', e.txId, { type: 'status' });
      case 'sendVoid':
        return this.#request('void', e.txId, { type: 'void' });
      case 'precheckOffline': {
        const r = d.desk.precheck(e.code, e.amount);
        if (!r.ok) d.log.info({ txId: e.txId, reason: r.reason, cause: r.cause }, 'offline pre-check declined');
        // Delivered after this event's effects, like any other result; an acceptance travels in the machine's state to the store.
        return this.#later(
          r.ok
            ? { type: 'precheckResult', txId: e.txId, ok: true, payment: r.payment }
            : { type: 'precheckResult', txId: e.txId, ok: false, reason: r.reason },
        );
      }
      case 'storeOffline':
        d.desk.store(e.txId, e.payment, e.lines).then(
          () => this.send({ type: 'offlineStored', txId: e.txId }),
          (err: unknown) => {
            d.log.error({ txId: e.txId, err: (err as Error).message }, 'offline payment could not be stored');
            this.send({ type: 'offlineStoreFailed', txId: e.txId });
          },
        );
        return;
      case 'discardOffline':
        // The machine declines only on offlineDiscarded; without it, it asks again on its timeout.
        d.desk.discard(e.txId).then(
          () => this.send({ type: 'offlineDiscarded', txId: e.txId }),
          (err: unknown) => d.log.error({ txId: e.txId, err: (err as Error).message }, 'discard not recorded'),
        );
        return;
      case 'voidLater':
        return void d.ledger.voidLater(e.txId);
      case 'log':
        return void d.log[e.level]({ ...e.detail, event: e.event }, e.event);
    }
  }

  #done(txId: string): void {
    this.#d.ledger
      .decided(txId)
      .catch((err: unknown) => this.#d.log.warn({ txId, err: (err as Error).message }, 'in-flight record not cleared'));
  }

  #later(event: CheckoutEvent): void {
    this.#queue.push(event);
  }

  #request(
    kind: AnswerTo,
    txId: string,
    body: { type: 'pay'; code: string; amount: Money; lines: readonly SaleLine[] | undefined } | { type: 'status' } | { type: 'void' },
  ): void {
    const d = this.#d;
    const id = d.nextRequestId();
    // A pay is recorded in flight before it is sent, so that a power loss cannot forget it.
    const req =
      body.type === 'pay'
        ? d.ledger.sending(txId).then(
            () =>
              d.uplink.request({
                v: 1,
                type: 'pay',
                id,
                txId,
                code: body.code,
                amount: { value: body.amount.value, currency: body.amount.currency },
                ...linesField(body.lines),
              }),
            // Not recorded, so not sent: nothing can be charged.
            (err: unknown) => Promise.reject(new UplinkOfflineError(`pay not recorded, so not sent: ${(err as Error).message}`)),
          )
        : d.uplink.request({ v: 1, type: body.type, id, txId });
    (req as Promise<PayResult | ErrorReply>).then(
      (reply) => {
        // Read by the retry rule (shared/idempotent-retry.ts): a status or void refused unhandled
        // (RATE_LIMITED after the uplink's resends) answered nothing, so the checkout decides on its timeout.
        const result = resultOfReply(kind, reply);
        if (result.kind === 'no-answer') {
          d.log.warn({ txId, kind }, 'request not handled (rate limited); the checkout decides on its timeout');
          return;
        }
        if (result.kind === 'refused') {
          this.send({ type: 'txError', txId, code: result.code });
          return this.#done(txId);
        }
        const answer = { type: 'txAnswer', answers: kind, txId, status: result.status, reason: result.reason } as const;
        // Approved: off the in-flight list (durably) before the screen says so, so that a power loss
        // after "approved" never voids a payment whose goods were handed out.
        if (result.status === 'approved') {
          d.ledger.decided(txId).then(
            () => this.send(answer),
            (err: unknown) => {
              d.log.error({ txId, err: (err as Error).message }, 'could not record the approval; the checkout decides on its timeout');
            },
          );
          return;
        }
        this.send(answer);
        if (result.status !== 'unknown') this.#done(txId);
      },
      (err: unknown) => {
        // Not connected: nothing left the kiosk. Only `pay` reports it; status/void retry on their timeouts.
        // The txId leaves the in-flight list first: the offline path may now store it under this txId,
        // and a void after a power loss must never hit a stored payment.
        if (isUplinkError(err, 'offline') && kind === 'pay')
          void d.ledger
            .decided(txId)
            .catch(() => undefined)
            .then(() => this.send({ type: 'paySendFailed', txId }));
        else d.log.warn({ txId, kind, err: (err as Error).message }, 'request failed; the checkout decides on its timeout');
      },
    );
  }
}

/** A request's own copy of the sale's lines, or no `lines` field at all. */
function linesField(lines: readonly SaleLine[] | undefined): { lines?: SaleLine[] } {
  if (lines === undefined) return {};
  return { lines: lines.map((l) => ({ ...l, unitPrice: { value: l.unitPrice.value, currency: l.unitPrice.currency } })) };
}

/** The screen that the current state shows (for a hint over it). */
function screenOf(s: CheckoutState, ctx: CheckoutContext): Screen {
  switch (s.name) {
    case 'idle':
      return { name: 'idle', mode: ctx.mode };
    case 'basket':
      return { name: 'basket', basket: s.basket };
    case 'awaitingCode':
      return { name: 'awaitingCode', basket: s.basket };
    case 'authorising':
      return {
        name: 'authorising',
        total: s.attempt.amount,
        offline: s.step === 'prechecking' || s.step === 'storing' || s.step === 'discarding',
      };
    case 'dispensing':
      return { name: 'dispensing', slot: s.slot };
    case 'approved':
      return { name: 'approved', total: s.total };
    case 'declined':
      return { name: 'declined', reason: s.reason, text: '' };
    case 'fault':
      return { name: 'fault', fault: s.fault };
  }
}
