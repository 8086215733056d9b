// SPDX-License-Identifier: Apache-2.0
// Money back to a shopper, through the ledger: the merchant account is debited and the shopper's
// credited by a `refund` transfer named after the payment (double entry; the store refuses a credit
// past the balance bound, 10^12 minor units, with BALANCE_LIMIT and the whole unit is undone).
// What was refunded of a payment is always the sum of its refund transfers, so no path can give
// back more than was paid: a kiosk's void, a copied offline code reversed at settlement, and an
// operator's refund or void (this file) all credit only what is left.
//
// Operator actions (the dashboard, server/ops/): a *refund* gives back part or all of what is left
// of an approved or settled payment, which stays a sale; a *void* gives back whatever is left and
// marks the payment voided (TX_VOIDED), so it is no longer a sale. Each names a reason and the
// operator, and is written to the audit table (ops_actions) in the same unit as its money. Each
// carries the client's request key: the same key again gets the first answer and moves nothing,
// the same key asking something else is refused (REQUEST_KEY_CONFLICT).
import { KioskpayError } from '../../shared/errors.ts';
import { MONEY_MAX, type Money } from '../../shared/money.ts';
import type { OpsActionKind, OpsActionRow, PaymentRow, StoreTx } from '../ports/store.ts';
import type { ServerContext } from './context.ts';
import { newId, sha256Hex } from './ids.ts';

/** Longest reason, in UTF-16 code units. */
export const REFUND_REASON_MAX = 200;
/** A request key: 16-64 characters of base64url (the page sends a random one per form). */
export const REQUEST_KEY = /^[A-Za-z0-9_-]{16,64}$/;

/** What is left to refund of a payment: its amount less its refund transfers. */
export async function refundable(tx: StoreTx, p: PaymentRow): Promise<number> {
  return p.amount - (await tx.refundedAmount(p.id));
}

/** Credits `amount` of payment `p` back to its shopper (merchant debited), as a `refund` transfer. */
export async function creditBack(tx: StoreTx, p: PaymentRow, amount: number, at: number): Promise<void> {
  const wallet = p.walletId ? await tx.getWallet(p.walletId) : undefined;
  if (!wallet) throw new Error(`payment ${p.id} has no wallet to refund`);
  await tx.transfer({
    paymentId: p.id,
    debitAccount: p.merchantAccount,
    creditAccount: wallet.accountId,
    amount,
    currency: p.currency,
    kind: 'refund',
    at,
  });
}

export interface OperatorRefund {
  paymentId: string;
  action: OpsActionKind;
  /** Minor units, for a refund; null for a void (it gives back what is left). */
  amount: number | null;
  reason: string;
  /** The operator login. */
  operator: string;
  requestKey: string;
}

export interface OperatorRefundResult {
  /** The audit row: this request's, or the first one's when the key was seen before. */
  action: OpsActionRow;
  /** True when the key was seen before: nothing moved this time. */
  repeated: boolean;
  /** The payment as it is now. */
  payment: PaymentRow;
  /** Refunded of it so far, and what is left. */
  refunded: number;
  remaining: number;
  /** The shopper's balance now. */
  shopperBalance: Money;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this pattern's job
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Checks an operator's refund or void and carries it out in one store unit. Throws KioskpayError. */
export async function operatorRefund(ctx: ServerContext, r: OperatorRefund): Promise<OperatorRefundResult> {
  const reason = r.reason.trim();
  if (reason.length === 0 || reason.length > REFUND_REASON_MAX || CONTROL.test(reason)) {
    throw new KioskpayError('MALFORMED_MESSAGE', `a reason of 1-${REFUND_REASON_MAX} characters is required, on one line`);
  }
  if (!REQUEST_KEY.test(r.requestKey))
    throw new KioskpayError('MALFORMED_MESSAGE', 'requestKey must be 16-64 characters of A-Z a-z 0-9 _ -');
  if (r.action === 'refund' && !(r.amount !== null && Number.isSafeInteger(r.amount) && r.amount >= 1 && r.amount <= MONEY_MAX)) {
    throw new KioskpayError('AMOUNT_INVALID', `a refund amount is an integer count of minor units, 1 to ${MONEY_MAX}`);
  }
  if (r.action === 'void' && r.amount !== null)
    throw new KioskpayError('MALFORMED_MESSAGE', 'a void gives back what is left of the payment: it takes no amount');
  const requestHash = sha256Hex(JSON.stringify([r.paymentId, r.action, r.amount, reason]));
  const out = await ctx.store.unit(async (tx) => {
    const seen = await tx.getOpsActionByKey(r.requestKey);
    if (seen) {
      if (seen.requestHash !== requestHash)
        throw new KioskpayError(
          'REQUEST_KEY_CONFLICT',
          `request key ${r.requestKey} was used for another request (${seen.action} of ${seen.paymentId})`,
        );
      return result(tx, seen, true);
    }
    const p = await tx.getPayment(r.paymentId);
    if (!p) throw new KioskpayError('NOT_FOUND', `no payment ${r.paymentId}`);
    if (p.status !== 'approved' && p.status !== 'settled') {
      throw new KioskpayError(
        'REFUND_NOT_ALLOWED',
        `payment ${p.id} is ${p.status}${p.reason ? ` (${p.reason})` : ''}: only approved and settled payments can be refunded or voided`,
      );
    }
    const left = await refundable(tx, p);
    const amount = r.action === 'void' ? left : r.amount!;
    if (amount > left)
      throw new KioskpayError(
        'REFUND_EXCEEDS_PAID',
        `a refund of ${amount} is more than the ${left} left of payment ${p.id} (${p.amount} paid, ${p.amount - left} refunded)`,
      );
    const now = ctx.clock.nowMs();
    if (amount > 0) await creditBack(tx, p, amount, now);
    if (r.action === 'void') await tx.updatePayment(p.id, 'voided', 'TX_VOIDED', now);
    const row: OpsActionRow = {
      id: newId('act', ctx.random),
      requestKey: r.requestKey,
      requestHash,
      at: now,
      operator: r.operator,
      action: r.action,
      paymentId: p.id,
      amount,
      currency: p.currency,
      reason,
    };
    await tx.insertOpsAction(row);
    return result(tx, row, false);
  });
  if (!out.repeated)
    ctx.log.info(
      { operator: r.operator, action: r.action, paymentId: r.paymentId, amount: out.action.amount, currency: out.action.currency },
      'operator refund',
    );
  return out;
}

async function result(tx: StoreTx, action: OpsActionRow, repeated: boolean): Promise<OperatorRefundResult> {
  const payment = await tx.getPayment(action.paymentId);
  if (!payment) throw new Error(`audited payment ${action.paymentId} is gone`);
  const refunded = await tx.refundedAmount(payment.id);
  const wallet = payment.walletId ? await tx.getWallet(payment.walletId) : undefined;
  const account = wallet && (await tx.getAccount(wallet.accountId));
  if (!account) throw new Error(`payment ${payment.id} has no shopper account`);
  return {
    action,
    repeated,
    payment,
    refunded,
    remaining: payment.status === 'voided' ? 0 : payment.amount - refunded,
    shopperBalance: { value: account.balance, currency: account.currency },
  };
}
