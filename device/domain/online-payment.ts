// SPDX-License-Identifier: Apache-2.0
// The kiosk's online payment, as the protocol asks ([PROTO-IDEM-4]): send `pay` once; if no answer
// comes in time, do not guess: ask `status` for the same txId; if the server never saw it (or still
// cannot answer), `void` it so a late copy can never charge. Never re-send under a new txId.
import type { KioskOperations, KioskReply, PayResult, SaleLine } from '../../shared/kiosk-messages.ts';
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

const isTimeout = (e: unknown) => isUplinkError(e, 'timeout');
/** A request refused before sending because the uplink is down (UplinkOfflineError). */
const isOffline = (e: unknown) => isUplinkError(e, 'offline');
/** A request the server refused without handling it (the uplink already resent it within its deadline). */
const isRateLimited = (r: { type: string; code?: string }) => r.type === 'error' && r.code === 'RATE_LIMITED';
/** After a timeout, a follow-up that was not sent (uplink dropped) is retried like one that timed out. */
const isRetryable = (e: unknown) => isTimeout(e) || isOffline(e);

/** `lines`, when given, say what was sold (they should add up to `amount`; the server records them only then). */
export async function payOnline(
  uplink: RequestUplink,
  p: { txId: string; code: string; amount: Money; lines?: SaleLine[] | undefined },
  o: OnlinePaymentOptions,
): Promise<OnlineOutcome> {
  try {
    return settleReply(
      await uplink.request<'pay'>({
        v: 1,
        type: 'pay',
        id: o.nextId(),
        txId: p.txId,
        code: p.code,
        amount: p.amount,
        ...(p.lines ? { lines: p.lines } : {}),
      }),
    );
  } catch (e) {
    if (isOffline(e)) return { outcome: 'not-sent' };
    if (!isTimeout(e)) throw e;
  }
  const attempts = o.followUpAttempts ?? 3;
  for (let i = 0; i < attempts; i++) {
    try {
      const r = await uplink.request<'status'>({ v: 1, type: 'status', id: o.nextId(), txId: p.txId });
      // Refused unhandled: the payment's fate is still unknown, so ask again.
      if (isRateLimited(r)) continue;
      if (r.type === 'error') return { outcome: 'error', code: r.code, message: r.message };
      if (r.status !== 'unknown') return settleReply(r);
      break;
    } catch (e) {
      if (!isRetryable(e)) throw e;
    }
  }
  return voidTx(uplink, p.txId, o.nextId, attempts);
}

/** Voids a txId (the shopper walked away, or its fate is unknown); retried on timeouts. */
export async function voidTx(uplink: RequestUplink, txId: string, nextId: () => string, attempts = 3): Promise<OnlineOutcome> {
  for (let i = 0; i < attempts; i++) {
    try {
      const r = await uplink.request<'void'>({ v: 1, type: 'void', id: nextId(), txId });
      // Refused unhandled: not voided yet, so try again.
      if (!isRateLimited(r)) return settleReply(r);
    } catch (e) {
      if (!isRetryable(e)) throw e;
    }
  }
  return { outcome: 'indeterminate' };
}

function settleReply(r: PayResult | Extract<KioskReply, { type: 'error' }>): OnlineOutcome {
  if (r.type === 'error') return { outcome: 'error', code: r.code, message: r.message };
  if (r.status === 'unknown') return { outcome: 'indeterminate' };
  return { outcome: r.status, result: r };
}
