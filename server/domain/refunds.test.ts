// SPDX-License-Identifier: Apache-2.0
// Operators' refunds and voids through the ledger, against the real payment domain (SQLite, or
// PostgreSQL with KP_WORLD_DATABASE_URL): never more than was paid, whatever path gives money back;
// idempotent by request key; one audit row per action; the balance bound respected.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MONEY_MAX, money } from '../../shared/money.ts';
import { makeWorld, type World } from '../testing/world.ts';
import { merchantAccountId, shopperAccountId } from './ids.ts';
import { operatorRefund, type OperatorRefund } from './refunds.ts';
import { topUp } from './wallets.ts';

let w: World;
beforeEach(async () => {
  w = await makeWorld();
});
afterEach(async () => {
  await w.close();
});

let keys = 0;
const key = () => `request-key-${String(++keys).padStart(6, '0')}`;
const refund = (paymentId: string, amount: number, o: Partial<OperatorRefund> = {}) =>
  operatorRefund(w.ctx, { paymentId, action: 'refund', amount, reason: 'item not dispensed', operator: 'alice', requestKey: key(), ...o });
const voidIt = (paymentId: string, o: Partial<OperatorRefund> = {}) =>
  operatorRefund(w.ctx, {
    paymentId,
    action: 'void',
    amount: null,
    reason: 'wrong product charged',
    operator: 'bob',
    requestKey: key(),
    ...o,
  });
const audit = () => w.ctx.store.unit((tx) => tx.listOpsActions({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, paymentId: null }, 100));

async function paid(value: number, balance = 5_000) {
  const p = await w.phone(balance);
  const r = await w.pay('k1', await w.onlineCode(p), value);
  expect(r.status).toBe('approved');
  return { phone: p, paymentId: r.paymentId!, txId: r.txId };
}

describe('operator refunds and voids', () => {
  it('refunds in parts up to what was paid and refuses more, each refund credited through the ledger and audited', async () => {
    const { phone, paymentId } = await paid(1_000);
    const first = await refund(paymentId, 300);
    expect(first).toMatchObject({ repeated: false, refunded: 300, remaining: 700, shopperBalance: { value: 4_300, currency: 'JPY' } });
    expect(first.payment.status).toBe('approved');
    w.clock.advance(60_000);
    expect((await refund(paymentId, 700)).remaining).toBe(0);
    await expect(refund(paymentId, 1)).rejects.toMatchObject({
      code: 'REFUND_EXCEEDS_PAID',
      message: expect.stringContaining('more than the 0 left'),
    });
    expect(await w.balance(shopperAccountId(phone.walletId))).toBe(5_000);
    expect(await w.balance(merchantAccountId('shop'))).toBe(0);
    expect(await w.totals()).toEqual(new Map([['JPY', 0]]));
    const rows = await audit();
    expect(rows.map((a) => [a.action, a.paymentId, a.amount, a.currency, a.operator, a.reason])).toEqual([
      ['refund', paymentId, 700, 'JPY', 'alice', 'item not dispensed'],
      ['refund', paymentId, 300, 'JPY', 'alice', 'item not dispensed'],
    ]);
    expect(rows.map((a) => w.clock.nowMs() - a.at)).toEqual([0, 60_000]);
  });

  it('refuses a refund larger than the payment at once, moving nothing and auditing nothing', async () => {
    const { phone, paymentId } = await paid(1_000);
    await expect(refund(paymentId, 1_001)).rejects.toMatchObject({ code: 'REFUND_EXCEEDS_PAID' });
    expect(await w.balance(shopperAccountId(phone.walletId))).toBe(4_000);
    expect(await audit()).toEqual([]);
  });

  it('answers a repeated request key with the first answer and moves nothing; the same key asking otherwise is refused', async () => {
    const { phone, paymentId } = await paid(1_000);
    const requestKey = key();
    const first = await refund(paymentId, 400, { requestKey });
    const again = await refund(paymentId, 400, { requestKey });
    expect(again).toMatchObject({ repeated: true, refunded: 400, action: first.action });
    expect(await w.balance(shopperAccountId(phone.walletId))).toBe(4_400);
    await expect(refund(paymentId, 500, { requestKey })).rejects.toMatchObject({ code: 'REQUEST_KEY_CONFLICT' });
    await expect(refund(paymentId, 400, { requestKey, reason: 'another reason' })).rejects.toMatchObject({ code: 'REQUEST_KEY_CONFLICT' });
    expect((await audit()).length).toBe(1);
  });

  it('voids: gives back what is left, marks the payment voided so it is no sale, and refuses anything after', async () => {
    const { phone, paymentId } = await paid(1_000);
    await refund(paymentId, 250);
    const v = await voidIt(paymentId);
    expect(v).toMatchObject({ refunded: 1_000, remaining: 0, shopperBalance: { value: 5_000 } });
    expect(v.payment).toMatchObject({ status: 'voided', reason: 'TX_VOIDED' });
    expect(v.action).toMatchObject({ action: 'void', amount: 750, operator: 'bob', reason: 'wrong product charged' });
    await expect(refund(paymentId, 1)).rejects.toMatchObject({ code: 'REFUND_NOT_ALLOWED' });
    await expect(voidIt(paymentId)).rejects.toMatchObject({ code: 'REFUND_NOT_ALLOWED' });
    // A kiosk's void of the same txId gives nothing back twice.
    expect((await w.send('k1', { v: 1, type: 'void', id: 'c-v', txId: 'tx-1' })).type).toBe('pay.result');
    expect(await w.balance(shopperAccountId(phone.walletId))).toBe(5_000);
    expect(await w.totals()).toEqual(new Map([['JPY', 0]]));
  });

  it('gives back only what is left when a kiosk voids a payment an operator partly refunded', async () => {
    const { phone, paymentId, txId } = await paid(1_000);
    await refund(paymentId, 600);
    const r = await w.send('k1', { v: 1, type: 'void', id: 'c-void', txId });
    expect(r).toMatchObject({ type: 'pay.result', status: 'voided' });
    expect(await w.balance(shopperAccountId(phone.walletId))).toBe(5_000);
    expect(await w.balance(merchantAccountId('shop'))).toBe(0);
  });

  it('refuses declined, voided and unknown payments, and malformed requests', async () => {
    const broke = await w.phone(0);
    const declined = await w.pay('k1', await w.onlineCode(broke), 100);
    expect(declined.reason).toBe('INSUFFICIENT_FUNDS');
    await expect(refund(declined.paymentId!, 100)).rejects.toMatchObject({ code: 'REFUND_NOT_ALLOWED' });
    await expect(refund('pay_nope', 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const { paymentId } = await paid(500);
    await expect(refund(paymentId, 0)).rejects.toMatchObject({ code: 'AMOUNT_INVALID' });
    await expect(refund(paymentId, 1.5)).rejects.toMatchObject({ code: 'AMOUNT_INVALID' });
    await expect(refund(paymentId, 10, { reason: '   ' })).rejects.toMatchObject({ code: 'MALFORMED_MESSAGE' });
    await expect(refund(paymentId, 10, { reason: 'two\nlines' })).rejects.toMatchObject({ code: 'MALFORMED_MESSAGE' });
    await expect(refund(paymentId, 10, { reason: 'x'.repeat(201) })).rejects.toMatchObject({ code: 'MALFORMED_MESSAGE' });
    await expect(refund(paymentId, 10, { requestKey: 'short' })).rejects.toMatchObject({ code: 'MALFORMED_MESSAGE' });
    await expect(voidIt(paymentId, { amount: 10 })).rejects.toMatchObject({ code: 'MALFORMED_MESSAGE' });
    expect(await audit()).toEqual([]);
  });

  it('refuses a refund whose credit would take the shopper past the balance bound, and records nothing', async () => {
    const { phone, paymentId } = await paid(100, MONEY_MAX);
    await topUp(w.ctx, phone.walletId, money(60, 'JPY'));
    await expect(refund(paymentId, 100)).rejects.toMatchObject({ code: 'BALANCE_LIMIT' });
    expect(await audit()).toEqual([]);
    expect(await w.ctx.store.unit((tx) => tx.refundedAmount(paymentId))).toBe(0);
    expect((await refund(paymentId, 40)).shopperBalance.value).toBe(MONEY_MAX);
  });

  it('refunds a settled offline payment, and a later earlier capture reverses only what is left of the copy', async () => {
    const p = await w.phone(20_000);
    await w.credential(p);
    const at = w.clock.nowMs();
    const code = w.offlineCode(p);
    // k1 forwards its capture first; an operator refunds part of it; then k3's earlier capture of the same code arrives.
    const late = await w.settle('k1', [{ txId: 'late', code, amount: { value: 1_000, currency: 'JPY' }, capturedAt: at + 5_000 }]);
    expect(late.items[0]?.status).toBe('settled');
    await refund(late.items[0]!.paymentId!, 300);
    const early = await w.settle('k3', [{ txId: 'early', code, amount: { value: 1_000, currency: 'JPY' }, capturedAt: at }]);
    expect(early.items[0]?.status).toBe('settled');
    // The shopper paid once: 1,000 to k3's merchant; the copy was given back whole (300 + 700).
    expect(await w.balance(shopperAccountId(p.walletId))).toBe(19_000);
    expect(await w.balance(merchantAccountId('shop'))).toBe(0);
    expect(await w.balance(merchantAccountId('other'))).toBe(1_000);
    expect(await w.ctx.store.unit((tx) => tx.refundedAmount(late.items[0]!.paymentId!))).toBe(1_000);
  });
});
