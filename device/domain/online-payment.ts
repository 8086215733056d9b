// SPDX-License-Identifier: Apache-2.0
// An online payment, or a void, with promises: what `kioskpay kiosk pay|void` and the demo run. Each
// request's outcome goes through the idempotent-retry rule of shared/idempotent-retry.ts
// ([PROTO-IDEM-4]), the rule the kiosk's checkout follows too: `pay` once; no answer in time ->
// `status` of the same txId; the server never saw it, or still no answer -> `void` it so that a late
// copy can never charge. Never a guess, never a new txId.
import { assert } from '../../shared/assert.ts';
import { nextOnlineStep, resultOfReply, type OnlineRequest, type RequestResult } from '../../shared/idempotent-retry.ts';
import type { ErrorReply, KioskOperations, KioskReply, PayResult, SaleLine } from '../../shared/kiosk-messages.ts';
import type { Money } from '../../shared/money.ts';
import { isUplinkError } from '../uplink/uplink.ts';

/** The part of the uplink this flow needs; rejects with UplinkTimeoutError on timeout (device/uplink/uplink.ts). */
export interface RequestUplink {
  request<K extends keyof KioskOperations>(
    req: KioskOperations[K]['request'],
  ): Promise<KioskOperations[K]['reply'] | Extract<KioskReply, { type: 'error' }>>;
}

export type OnlineOutcome =
  | { outcome: 'approved' | 'declined' | 'voided'; result: PayResult }
  | { outcome: 'error'; code: string; message: string }
  /** The uplink was down: the request was not even sent, so nothing can have been charged. */
  | { outcome: 'not-sent' }
  /** Nothing could be learned or voided: the caller keeps the txId and voids it when the uplink is back. */
  | { outcome: 'indeterminate' };

export interface OnlinePaymentOptions {
  /** Fresh correlation ids (not txIds). */
  nextId: () => string;
  /** How many `status` and `void` attempts after a timeout. */
  followUpAttempts?: number;
}

type Payment = { txId: string; code: string; amount: Money; lines?: SaleLine[] | undefined };

/** `lines`, when given, say what was sold (they should add up to `amount`; the server records them only then). */
export function payOnline(uplink: RequestUplink, p: Payment, o: OnlinePaymentOptions): Promise<OnlineOutcome> {
  return follow(uplink, p, 'pay', o);
}

/** Voids a txId (the shopper walked away, or its fate is unknown); retried on timeouts. */
export function voidTx(uplink: RequestUplink, txId: string, nextId: () => string, attempts = 3): Promise<OnlineOutcome> {
  return follow(uplink, { txId }, 'void', { nextId, followUpAttempts: attempts });
}

/** Sends `first`, then what the rule says next, until it says how the payment ended. */
async function follow(
  uplink: RequestUplink,
  p: Payment | { txId: string },
  first: OnlineRequest,
  o: OnlinePaymentOptions,
): Promise<OnlineOutcome> {
  const attempts = o.followUpAttempts ?? 3;
  const limits = { statusAttemptsMax: attempts, voidAttemptsMax: attempts };
  let at = { request: first, attempt: 1 };
  for (;;) {
    const { result, reply } = await send(uplink, requestFor(at.request, p, o.nextId()));
    const n = nextOnlineStep(at.request, at.attempt, result, limits);
    if ('next' in n) {
      at = { request: n.next, attempt: n.attempt };
      continue;
    }
    switch (n.end) {
      case 'approved':
      case 'declined':
      case 'voided':
        return { outcome: n.end, result: reply as PayResult };
      case 'refused':
        return { outcome: 'error', code: n.code, message: (reply as ErrorReply).message };
      case 'not-sent':
        return { outcome: 'not-sent' };
      case 'unresolved':
        return { outcome: 'indeterminate' };
    }
  }
}

function requestFor(request: OnlineRequest, p: Payment | { txId: string }, id: string): KioskOperations[OnlineRequest]['request'] {
  if (request !== 'pay') return { v: 1, type: request, id, txId: p.txId };
  assert('code' in p, 'only a payment is paid');
  return { v: 1, type: 'pay', id, txId: p.txId, code: p.code, amount: p.amount, ...(p.lines ? { lines: p.lines } : {}) };
}

/** One request: its reply as the rule reads it; a timeout is no answer, an uplink that is down sent nothing. */
async function send(
  uplink: RequestUplink,
  req: KioskOperations[OnlineRequest]['request'],
): Promise<{ result: RequestResult; reply?: PayResult | ErrorReply }> {
  try {
    const reply = (await uplink.request(req)) as PayResult | ErrorReply;
    return { result: resultOfReply(req.type, reply), reply };
  } catch (e) {
    if (isUplinkError(e, 'offline')) return { result: { kind: 'not-sent' } };
    if (isUplinkError(e, 'timeout')) return { result: { kind: 'no-answer' } };
    throw e;
  }
}
