// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../../shared/errors.ts';
import { MONEY_MAX } from '../../../shared/money.ts';
import { CHECKOUT_CONFIG_DEFAULTS as C } from './config.ts';
import { FAULT_HELP } from './fault-help.ts';
import { deadlineOf } from './machine.ts';
import {
  accepted,
  catalogOf,
  decoded,
  GUM,
  NUMERIC_OFFLINE_CODE,
  OFFLINE_QR,
  OFFLINE_QR_CODE,
  ofType,
  ONLINE_CODE,
  prechecked,
  TEA,
  toAuthorising,
  toAwaitingCode,
  WALL_T0_MS,
  WATER,
  world,
} from './test-world.ts';

const answer = (
  txId: string,
  status: 'approved' | 'declined' | 'voided' | 'unknown',
  answers: 'pay' | 'status' | 'void' = 'pay',
  reason?: keyof typeof ERRORS,
) => ({ type: 'txAnswer', answers, txId, status, reason }) as const;

describe('checkout: idle', () => {
  it('starts idle, with no deadline', () => {
    const w = world();
    expect(w.state).toEqual({ name: 'idle', uplinkOnline: true });
    expect(deadlineOf(w.state)).toBeUndefined();
  });

  it('opens a basket with the scanned product and its price in self-checkout', () => {
    const w = world();
    const fx = w.scan(TEA.gtin + '\r\n');
    expect(w.state).toMatchObject({ name: 'basket', basket: { total: { value: 150, currency: 'JPY' } } });
    expect(ofType(fx, 'show')[0]?.screen.name).toBe('basket');
  });

  it('ignores a payment code scanned with an empty basket, with a hint, and sends nothing', () => {
    const w = world();
    const fx = w.scan(ONLINE_CODE);
    expect(w.state.name).toBe('idle');
    expect(fx).toEqual([{ type: 'hint', hint: 'choose-products-first' }]);
    expect(w.minted).toEqual([]);
  });

  it('refuses a product barcode in vending mode with a hint to press a button', () => {
    const w = world({ mode: 'vending' });
    expect(w.scan(TEA.gtin)).toEqual([{ type: 'hint', hint: 'press-a-product-button' }]);
    expect(w.state.name).toBe('idle');
  });

  it('selects a product by its slot button in vending mode and asks for a code', () => {
    const w = world({ mode: 'vending' });
    const fx = w.send({ type: 'slotPressed', slot: 2 });
    expect(w.state).toMatchObject({
      name: 'awaitingCode',
      declines: 0,
      basket: { items: [{ gtin: GUM.gtin, slot: 2 }], total: { value: 120 } },
      deadlineMs: C.codeWaitMs,
    });
    expect(ofType(fx, 'show')[0]?.screen.name).toBe('awaitingCode');
  });

  it('beeps decline for an unknown product or slot and stays idle', () => {
    const w = world();
    expect(w.scan('4006381333948')).toEqual(
      expect.arrayContaining([
        { type: 'hint', hint: 'unknown-product' },
        { type: 'beep', pattern: 'decline' },
      ]),
    );
    expect(w.state.name).toBe('idle');
    const v = world({ mode: 'vending' });
    expect(v.send({ type: 'slotPressed', slot: 9 })).toEqual(expect.arrayContaining([{ type: 'hint', hint: 'unknown-product' }]));
    expect(v.state.name).toBe('idle');
  });

  it('says it is not ready when there is no catalog yet', () => {
    const w = world({ catalog: null });
    expect(w.scan(TEA.gtin)).toContainEqual({ type: 'hint', hint: 'not-ready' });
    const v = world({ mode: 'vending', catalog: null });
    expect(v.send({ type: 'slotPressed', slot: 1 })).toContainEqual({ type: 'hint', hint: 'not-ready' });
    expect(w.state.name).toBe('idle');
    expect(v.state.name).toBe('idle');
  });

  it('does nothing on cancel, pay without products hints, and ticks do nothing', () => {
    const w = world();
    expect(w.send({ type: 'cancelPressed' })).toEqual([]);
    expect(w.send({ type: 'payPressed' })).toEqual([{ type: 'hint', hint: 'choose-products-first' }]);
    expect(w.advance(10 * 3_600_000)).toEqual([]);
    expect(w.state).toEqual({ name: 'idle', uplinkOnline: true });
  });

  it('logs and ignores a slot press in self-checkout mode', () => {
    const w = world();
    expect(w.send({ type: 'slotPressed', slot: 1 })).toEqual([expect.objectContaining({ type: 'log', event: 'slot-ignored' })]);
    expect(w.state.name).toBe('idle');
  });

  it('logs garbage without the scanned text and changes nothing', () => {
    const w = world();
    const fx = w.scan('secret-looking-garbage');
    expect(fx).toHaveLength(1);
    expect(fx[0]).toMatchObject({ type: 'log', event: 'scan-unreadable', detail: { length: 22 } });
    expect(JSON.stringify(fx)).not.toContain('secret-looking-garbage');
    expect(w.state.name).toBe('idle');
  });
});

describe('checkout: basket (self-checkout)', () => {
  it('sums prices as integer minor units, one item per scan', () => {
    const w = world();
    w.scan(TEA.gtin);
    w.scan(GUM.gtin);
    w.scan(TEA.gtin);
    expect(w.state).toMatchObject({ name: 'basket', basket: { total: { value: 420, currency: 'JPY' } } });
    if (w.state.name === 'basket') expect(w.state.basket.items.map((i) => i.gtin)).toEqual([TEA.gtin, GUM.gtin, TEA.gtin]);
  });

  it('finds a product scanned as UPC-A under its 0-prefixed GTIN', () => {
    const w = world();
    w.scan('036000291452');
    expect(w.state).toMatchObject({ name: 'basket', basket: { items: [{ gtin: WATER.gtin }], total: { value: 100 } } });
  });

  it('asks for a payment code when pay is pressed', () => {
    const w = world();
    w.scan(TEA.gtin);
    w.send({ type: 'payPressed' });
    expect(w.state).toMatchObject({ name: 'awaitingCode', declines: 0, basket: { total: { value: 150 } } });
  });

  it('starts authorising at once, under a new txId, when a payment code is scanned', () => {
    const w = world();
    w.scan(TEA.gtin);
    const fx = w.scan(ONLINE_CODE);
    expect(w.state).toMatchObject({ name: 'authorising', step: 'paying', attempt: { txId: 'tx-1' } });
    expect(ofType(fx, 'sendPay')).toEqual([
      {
        type: 'sendPay',
        txId: 'tx-1',
        code: decoded(ONLINE_CODE),
        amount: { value: 150, currency: 'JPY' },
        lines: [{ gtin: TEA.gtin, qty: 1, unitPrice: { value: 150, currency: 'JPY' } }],
      },
    ]);
  });

  it('clears the basket on cancel and goes idle', () => {
    const w = world();
    w.scan(TEA.gtin);
    const fx = w.send({ type: 'cancelPressed' });
    expect(w.state).toEqual({ name: 'idle', uplinkOnline: true });
    expect(fx).toContainEqual({ type: 'show', screen: { name: 'idle', mode: 'self-checkout' } });
  });

  it('clears an untouched basket after basketIdleMs, not a millisecond earlier', () => {
    const w = world();
    w.scan(TEA.gtin);
    expect(w.advance(C.basketIdleMs - 1)).toEqual([]);
    expect(w.state.name).toBe('basket');
    expect(w.advance(1)).toContainEqual(expect.objectContaining({ type: 'log', event: 'basket-abandoned' }));
    expect(w.state.name).toBe('idle');
  });

  it('renews the basket deadline with every scan', () => {
    const w = world();
    w.scan(TEA.gtin);
    w.clock.advance(C.basketIdleMs - 1);
    w.scan(GUM.gtin);
    w.advance(C.basketIdleMs - 1);
    expect(w.state.name).toBe('basket');
    w.advance(1);
    expect(w.state.name).toBe('idle');
  });

  it('refuses items past basketItemsMax with a hint and keeps the basket', () => {
    const w = world({ config: { basketItemsMax: 2 } });
    w.scan(TEA.gtin);
    w.scan(TEA.gtin);
    expect(w.scan(TEA.gtin)).toContainEqual({ type: 'hint', hint: 'basket-full' });
    expect(w.state).toMatchObject({ name: 'basket', basket: { total: { value: 300 } } });
  });

  it('refuses an item that would take the total past MONEY_MAX', () => {
    const gold = { gtin: TEA.gtin, name: 'Gold', price: { value: MONEY_MAX, currency: 'JPY' } };
    const w = world({ catalog: catalogOf([gold]) });
    w.scan(TEA.gtin);
    expect(w.scan(TEA.gtin)).toContainEqual(
      expect.objectContaining({ type: 'log', event: 'item-refused', detail: { gtin: TEA.gtin, reason: 'total-too-large' } }),
    );
    expect(w.state).toMatchObject({ name: 'basket', basket: { total: { value: MONEY_MAX } } });
  });

  it('ignores pay, slot presses and garbage without a hint', () => {
    const w = world();
    w.scan(TEA.gtin);
    const before = w.state;
    expect(w.scan('xyz').map((e) => e.type)).toEqual(['log']);
    expect(w.send({ type: 'slotPressed', slot: 1 }).map((e) => e.type)).toEqual(['log']);
    expect(w.state).toBe(before);
  });
});

describe('checkout: awaiting a payment code', () => {
  it('voids the basket after codeWaitMs without minting a txId or sending anything', () => {
    const w = world();
    toAwaitingCode(w);
    expect(w.advance(C.codeWaitMs - 1)).toEqual([]);
    const fx = w.advance(1);
    expect(w.state.name).toBe('idle');
    expect(fx).toContainEqual(expect.objectContaining({ event: 'code-wait-expired' }));
    expect(w.minted).toEqual([]);
    expect(ofType(w.allEffects(), 'sendPay')).toEqual([]);
  });

  it('adds a product scanned while awaiting a code and renews the deadline', () => {
    const w = world();
    toAwaitingCode(w);
    w.clock.advance(C.codeWaitMs - 10);
    w.scan(GUM.gtin);
    expect(w.state).toMatchObject({ name: 'awaitingCode', basket: { total: { value: 270 } } });
    w.advance(C.codeWaitMs - 1);
    expect(w.state.name).toBe('awaitingCode');
  });

  it('replaces the selection when another slot is pressed in vending mode', () => {
    const w = world({ mode: 'vending' });
    toAwaitingCode(w);
    w.send({ type: 'slotPressed', slot: 3 });
    expect(w.state).toMatchObject({ name: 'awaitingCode', basket: { items: [{ slot: 3 }], total: { value: 100 } } });
  });

  it('goes idle on cancel', () => {
    const w = world();
    toAwaitingCode(w);
    w.send({ type: 'cancelPressed' });
    expect(w.state.name).toBe('idle');
  });

  it('shows the unreadable-code text for garbage and keeps waiting', () => {
    const w = world();
    toAwaitingCode(w);
    const deadline = deadlineOf(w.state);
    const fx = w.scan('KP9.nonsense');
    expect(fx).toContainEqual({ type: 'hint', hint: 'unreadable-code', text: ERRORS.CODE_MALFORMED.shopper });
    expect(w.state.name).toBe('awaitingCode');
    expect(deadlineOf(w.state)).toBe(deadline);
  });

  it('ignores the pay button', () => {
    const w = world();
    toAwaitingCode(w);
    expect(w.send({ type: 'payPressed' })).toEqual([]);
  });

  it('sends pay with the basket total when online', () => {
    const w = world();
    toAwaitingCode(w);
    const fx = w.scan(NUMERIC_OFFLINE_CODE);
    expect(ofType(fx, 'sendPay')).toEqual([
      {
        type: 'sendPay',
        txId: 'tx-1',
        code: decoded(NUMERIC_OFFLINE_CODE),
        amount: { value: 150, currency: 'JPY' },
        lines: [{ gtin: TEA.gtin, qty: 1, unitPrice: { value: 150, currency: 'JPY' } }],
      },
    ]);
    expect(fx).toContainEqual({ type: 'show', screen: { name: 'authorising', total: { value: 150, currency: 'JPY' }, offline: false } });
    expect(deadlineOf(w.state)).toBe(C.payAnswerMs);
  });

  it('sends an offline QR code to the local pre-check when the uplink is down', () => {
    const w = world({ online: false });
    toAwaitingCode(w);
    const fx = w.scan(OFFLINE_QR_CODE);
    expect(w.state).toMatchObject({ name: 'authorising', step: 'prechecking', attempt: { txId: 'tx-1', code: OFFLINE_QR } });
    expect(ofType(fx, 'precheckOffline')).toEqual([
      { type: 'precheckOffline', txId: 'tx-1', code: OFFLINE_QR, amount: { value: 150, currency: 'JPY' } },
    ]);
    expect(ofType(fx, 'sendPay')).toEqual([]);
  });

  it('declines online and numeric codes while the uplink is down, without minting a txId', () => {
    for (const code of [ONLINE_CODE, NUMERIC_OFFLINE_CODE]) {
      const w = world({ online: false });
      toAwaitingCode(w);
      const fx = w.scan(code);
      expect(w.state).toMatchObject({ name: 'declined', reason: 'OFFLINE_FORM_REQUIRED', declines: 1 });
      expect(fx).toContainEqual({
        type: 'show',
        screen: { name: 'declined', reason: 'OFFLINE_FORM_REQUIRED', text: 'Please show your offline QR code.' },
      });
      expect(w.minted).toEqual([]);
    }
  });
});

describe('checkout: authorising online', () => {
  it('approves on an approved answer, beeps, and goes idle after resultShowMs', () => {
    const w = world();
    const txId = toAuthorising(w);
    const fx = w.send(answer(txId, 'approved'));
    expect(w.state).toMatchObject({ name: 'approved', txId, total: { value: 150 } });
    expect(fx).toContainEqual({ type: 'beep', pattern: 'accept' });
    expect(ofType(fx, 'pulseRelay')).toEqual([]);
    expect(w.advance(C.resultShowMs - 1)).toEqual([]);
    w.advance(1);
    expect(w.state.name).toBe('idle');
  });

  it('shows the shopper text of the decline reason', () => {
    const w = world();
    const txId = toAuthorising(w);
    const fx = w.send(answer(txId, 'declined', 'pay', 'INSUFFICIENT_FUNDS'));
    expect(w.state).toMatchObject({ name: 'declined', reason: 'INSUFFICIENT_FUNDS', declines: 1 });
    expect(fx).toContainEqual({
      type: 'show',
      screen: { name: 'declined', reason: 'INSUFFICIENT_FUNDS', text: ERRORS.INSUFFICIENT_FUNDS.shopper },
    });
    expect(fx).toContainEqual({ type: 'beep', pattern: 'decline' });
  });

  it('declines with INTERNAL when a decline carries no reason, and with TX_VOIDED when voided', () => {
    const a = world();
    a.send(answer(toAuthorising(a), 'declined'));
    expect(a.state).toMatchObject({ name: 'declined', reason: 'INTERNAL' });
    const b = world();
    b.send(answer(toAuthorising(b), 'voided'));
    expect(b.state).toMatchObject({ name: 'declined', reason: 'TX_VOIDED' });
  });

  it('declines with the code of an error reply', () => {
    const w = world();
    w.send({ type: 'txError', txId: toAuthorising(w), code: 'TX_CONFLICT' });
    expect(w.state).toMatchObject({ name: 'declined', reason: 'TX_CONFLICT' });
  });

  it('asks the status of the same txId when pay is not answered in time, and never pays again', () => {
    const w = world();
    const txId = toAuthorising(w);
    expect(w.advance(C.payAnswerMs - 1)).toEqual([]);
    const fx = w.advance(1);
    expect(ofType(fx, 'sendStatus')).toEqual([{ type: 'sendStatus', txId }]);
    expect(w.state).toMatchObject({ name: 'authorising', step: 'askingStatus', tries: 1, attempt: { txId } });
    w.send(answer(txId, 'approved', 'status'));
    expect(w.state.name).toBe('approved');
    expect(ofType(w.allEffects(), 'sendPay')).toHaveLength(1);
  });

  it('accepts a late answer to pay while asking status', () => {
    const w = world();
    const txId = toAuthorising(w);
    w.advance(C.payAnswerMs);
    w.send(answer(txId, 'declined', 'pay', 'CODE_USED'));
    expect(w.state).toMatchObject({ name: 'declined', reason: 'CODE_USED' });
  });

  it('retries status statusAttemptsMax times, then voids the same txId', () => {
    const w = world();
    const txId = toAuthorising(w);
    w.advance(C.payAnswerMs);
    for (let i = 2; i <= C.statusAttemptsMax; i++) {
      expect(ofType(w.advance(C.statusAnswerMs), 'sendStatus')).toEqual([{ type: 'sendStatus', txId }]);
      expect(w.state).toMatchObject({ step: 'askingStatus', tries: i });
    }
    const fx = w.advance(C.statusAnswerMs);
    expect(ofType(fx, 'sendVoid')).toEqual([{ type: 'sendVoid', txId }]);
    expect(w.state).toMatchObject({ step: 'voiding', tries: 1, cancelled: false });
  });

  it('voids at once when the server never saw the txId', () => {
    const w = world();
    const txId = toAuthorising(w);
    w.advance(C.payAnswerMs);
    const fx = w.send(answer(txId, 'unknown', 'status'));
    expect(ofType(fx, 'sendVoid')).toEqual([{ type: 'sendVoid', txId }]);
    expect(w.state).toMatchObject({ step: 'voiding' });
  });

  it('declines with TX_VOIDED after a void, and the retry uses a new txId', () => {
    const w = world();
    const txId = toAuthorising(w);
    w.advance(C.payAnswerMs);
    w.send(answer(txId, 'unknown', 'status'));
    w.send(answer(txId, 'voided', 'void'));
    expect(w.state).toMatchObject({ name: 'declined', reason: 'TX_VOIDED' });
    w.advance(C.declineShowMs);
    expect(w.state.name).toBe('awaitingCode');
    const fx = w.scan(ONLINE_CODE);
    expect(ofType(fx, 'sendPay')).toEqual([expect.objectContaining({ txId: 'tx-2' })]);
    expect(w.minted).toEqual(['tx-1', 'tx-2']);
  });

  it('lets the void decide: a late approved answer to pay while voiding is stale', () => {
    const w = world();
    const txId = toAuthorising(w);
    w.advance(C.payAnswerMs);
    w.send(answer(txId, 'unknown', 'status'));
    const fx = w.send(answer(txId, 'approved', 'pay'));
    expect(fx).toEqual([expect.objectContaining({ type: 'log', event: 'stale-event' })]);
    expect(w.state).toMatchObject({ name: 'authorising', step: 'voiding' });
  });

  it('approves when the void answers approved (it could not be voided), and shows the original reason when it answers declined', () => {
    const a = world();
    const ta = toAuthorising(a);
    a.send({ type: 'cancelPressed' });
    a.send(answer(ta, 'approved', 'void'));
    expect(a.state.name).toBe('approved');
    const b = world();
    const tb = toAuthorising(b);
    b.advance(C.payAnswerMs);
    b.send(answer(tb, 'unknown', 'status'));
    b.send(answer(tb, 'declined', 'void', 'CODE_EXPIRED'));
    expect(b.state).toMatchObject({ name: 'declined', reason: 'CODE_EXPIRED' });
  });

  it('retries void voidAttemptsMax times, then hands the txId over to void later and declines', () => {
    const w = world();
    const txId = toAuthorising(w);
    w.advance(C.payAnswerMs);
    for (let i = 1; i < C.statusAttemptsMax; i++) w.advance(C.statusAnswerMs);
    w.advance(C.statusAnswerMs);
    for (let i = 2; i <= C.voidAttemptsMax; i++) {
      expect(ofType(w.advance(C.voidAnswerMs), 'sendVoid')).toEqual([{ type: 'sendVoid', txId }]);
    }
    const fx = w.advance(C.voidAnswerMs);
    expect(fx).toContainEqual({ type: 'voidLater', txId });
    expect(w.state).toMatchObject({ name: 'declined', reason: 'INTERNAL' });
    const sent = w.allEffects().filter((e) => e.type === 'sendPay' || e.type === 'sendStatus' || e.type === 'sendVoid');
    expect(sent.map((e) => e.type)).toEqual([
      'sendPay',
      ...Array(C.statusAttemptsMax).fill('sendStatus'),
      ...Array(C.voidAttemptsMax).fill('sendVoid'),
    ]);
    expect(new Set(sent.map((e) => ('txId' in e ? e.txId : '')))).toEqual(new Set([txId]));
  });

  it('hands the txId over to void later when the void gets an error reply', () => {
    const w = world();
    const txId = toAuthorising(w);
    w.send({ type: 'cancelPressed' });
    const fx = w.send({ type: 'txError', txId, code: 'INTERNAL' });
    expect(fx).toContainEqual({ type: 'voidLater', txId });
    expect(w.state.name).toBe('idle');
  });

  it('hands the txId over to void later when the void is answered unknown: nothing was voided', () => {
    const w = world();
    const txId = toAuthorising(w);
    w.advance(C.payAnswerMs);
    w.send(answer(txId, 'unknown', 'status'));
    const fx = w.send(answer(txId, 'unknown', 'void'));
    expect(fx).toContainEqual({ type: 'voidLater', txId });
    expect(w.state).toMatchObject({ name: 'declined', reason: 'INTERNAL' });
  });

  it('treats an answer for another txId as stale', () => {
    const w = world();
    toAuthorising(w);
    const before = w.state;
    expect(w.send(answer('tx-99', 'approved'))).toEqual([expect.objectContaining({ event: 'stale-event' })]);
    expect(w.state).toBe(before);
  });

  it('voids the same txId on cancel while paying, and goes idle once voided', () => {
    const w = world();
    const txId = toAuthorising(w);
    const fx = w.send({ type: 'cancelPressed' });
    expect(ofType(fx, 'sendVoid')).toEqual([{ type: 'sendVoid', txId }]);
    expect(w.state).toMatchObject({ step: 'voiding', cancelled: true });
    w.send(answer(txId, 'voided', 'void'));
    expect(w.state.name).toBe('idle');
  });

  it('voids on cancel while asking status', () => {
    const w = world();
    const txId = toAuthorising(w);
    w.advance(C.payAnswerMs);
    expect(ofType(w.send({ type: 'cancelPressed' }), 'sendVoid')).toEqual([{ type: 'sendVoid', txId }]);
    expect(w.state).toMatchObject({ step: 'voiding', cancelled: true });
  });

  it('remembers a cancel while voiding, and ends idle even when the void never answers', () => {
    const w = world();
    const txId = toAuthorising(w);
    w.advance(C.payAnswerMs);
    w.send(answer(txId, 'unknown', 'status'));
    w.send({ type: 'cancelPressed' });
    expect(w.state).toMatchObject({ step: 'voiding', cancelled: true });
    for (let i = 0; i < C.voidAttemptsMax; i++) w.advance(C.voidAnswerMs);
    expect(w.state.name).toBe('idle');
    expect(w.allEffects()).toContainEqual({ type: 'voidLater', txId });
  });

  it('asks the shopper to wait when anything is scanned or pressed', () => {
    const w = world();
    toAuthorising(w);
    const before = w.state;
    for (const fx of [w.scan(TEA.gtin), w.scan(ONLINE_CODE), w.send({ type: 'slotPressed', slot: 1 })])
      expect(fx).toEqual([{ type: 'hint', hint: 'please-wait' }]);
    expect(w.send({ type: 'payPressed' })).toEqual([]);
    expect(w.state).toBe(before);
    expect(w.minted).toEqual(['tx-1']);
  });

  it('declines an online code with OFFLINE_FORM_REQUIRED when pay could not be sent', () => {
    const w = world();
    const txId = toAuthorising(w);
    const fx = w.send({ type: 'paySendFailed', txId });
    expect(w.state).toMatchObject({ name: 'declined', reason: 'OFFLINE_FORM_REQUIRED', uplinkOnline: false });
    expect(fx).toContainEqual({ type: 'offlineIndicator', on: true });
  });

  it('pre-checks an offline QR code under the same txId when pay could not be sent', () => {
    const w = world();
    const txId = toAuthorising(w, OFFLINE_QR_CODE);
    const fx = w.send({ type: 'paySendFailed', txId });
    expect(w.state).toMatchObject({ name: 'authorising', step: 'prechecking', uplinkOnline: false, attempt: { txId } });
    expect(ofType(fx, 'precheckOffline')).toEqual([expect.objectContaining({ txId })]);
    expect(w.minted).toEqual(['tx-1']);
  });

  it('lists what the basket sold on pay, and keeps the same lines for the offline path of the same txId', () => {
    const w = world();
    for (const gtin of [TEA.gtin, GUM.gtin, TEA.gtin]) w.scan(gtin);
    const yen = (value: number) => ({ value, currency: 'JPY' }) as const;
    const lines = [
      { gtin: TEA.gtin, qty: 2, unitPrice: yen(150) },
      { gtin: GUM.gtin, qty: 1, unitPrice: yen(120) },
    ];
    const fx = w.scan(OFFLINE_QR_CODE);
    expect(ofType(fx, 'sendPay')).toEqual([{ type: 'sendPay', txId: 'tx-1', code: OFFLINE_QR, amount: yen(420), lines }]);
    w.send({ type: 'paySendFailed', txId: 'tx-1' });
    const payment = prechecked(yen(420), WALL_T0_MS + 5);
    expect(ofType(w.send(accepted('tx-1', payment)), 'storeOffline')).toEqual([{ type: 'storeOffline', txId: 'tx-1', payment, lines }]);
  });

  it('names a vending sale by the GTIN and slot of the selection', () => {
    const w = world({ mode: 'vending' });
    w.send({ type: 'slotPressed', slot: 2 });
    expect(ofType(w.scan(ONLINE_CODE), 'sendPay')).toEqual([
      expect.objectContaining({ amount: GUM.price, lines: [{ gtin: GUM.gtin, slot: 2, qty: 1, unitPrice: GUM.price }] }),
    ]);
  });

  it('treats a send failure after pay was sent as stale (the timeouts handle follow-ups)', () => {
    const w = world();
    const txId = toAuthorising(w);
    w.advance(C.payAnswerMs);
    expect(w.send({ type: 'paySendFailed', txId })).toEqual([expect.objectContaining({ event: 'stale-event' })]);
    expect(w.state).toMatchObject({ step: 'askingStatus' });
  });

  it('treats offline results as stale while paying online', () => {
    const w = world();
    const txId = toAuthorising(w);
    for (const e of [accepted(txId), { type: 'offlineStored', txId }, { type: 'offlineStoreFailed', txId }] as const) {
      expect(w.send(e)).toEqual([expect.objectContaining({ event: 'stale-event' })]);
    }
    expect(w.state).toMatchObject({ step: 'paying' });
  });
});

describe('checkout: authorising offline', () => {
  function prechecking(mode: 'self-checkout' | 'vending' = 'self-checkout') {
    const w = world({ online: false, mode });
    const txId = toAuthorising(w, OFFLINE_QR_CODE);
    return { w, txId };
  }

  it('stores exactly what the pre-check accepted (its capture time, not the wall clock at the store) before approving', () => {
    const { w, txId } = prechecking();
    w.clock.advance(700);
    // The pre-check judged the code's window against its trusted clock's estimate, here 300 ms after T0.
    const payment = prechecked({ value: 150, currency: 'JPY' }, WALL_T0_MS + 300);
    const fx = w.send(accepted(txId, payment));
    expect(fx).toEqual([
      { type: 'storeOffline', txId, payment, lines: [{ gtin: TEA.gtin, qty: 1, unitPrice: { value: 150, currency: 'JPY' } }] },
    ]);
    expect(w.state).toMatchObject({ name: 'authorising', step: 'storing', prechecked: payment, deadlineMs: 700 + C.storeOfflineMs });
    w.send({ type: 'offlineStored', txId });
    expect(w.state.name).toBe('approved');
  });

  it('fires the relay only after the outbox entry is stored, in vending mode', () => {
    const { w, txId } = prechecking('vending');
    const beforeStore = w.send(accepted(txId));
    expect(ofType(beforeStore, 'pulseRelay')).toEqual([]);
    expect(ofType(beforeStore, 'beep')).toEqual([]);
    const fx = w.send({ type: 'offlineStored', txId });
    expect(ofType(fx, 'pulseRelay')).toEqual([{ type: 'pulseRelay', slot: 1, onMs: C.relayPulseMs }]);
    expect(w.state.name).toBe('dispensing');
  });

  it('declines with the pre-check reason in the shopper words', () => {
    const { w, txId } = prechecking();
    const fx = w.send({ type: 'precheckResult', txId, ok: false, reason: 'OFFLINE_LIMIT_PER_PAYMENT' });
    expect(fx).toContainEqual({
      type: 'show',
      screen: { name: 'declined', reason: 'OFFLINE_LIMIT_PER_PAYMENT', text: ERRORS.OFFLINE_LIMIT_PER_PAYMENT.shopper },
    });
  });

  it('declines with INTERNAL when the pre-check does not answer within precheckMs', () => {
    const { w } = prechecking();
    expect(w.advance(C.precheckMs - 1)).toEqual([]);
    w.advance(1);
    expect(w.state).toMatchObject({ name: 'declined', reason: 'INTERNAL' });
    expect(ofType(w.allEffects(), 'storeOffline')).toEqual([]);
  });

  it('declines with INTERNAL when the outbox write fails', () => {
    const { w, txId } = prechecking();
    w.send(accepted(txId));
    const fx = w.send({ type: 'offlineStoreFailed', txId });
    expect(w.state).toMatchObject({ name: 'declined', reason: 'INTERNAL' });
    expect(fx).toContainEqual(expect.objectContaining({ type: 'log', level: 'error', event: 'store-failed' }));
  });

  it('discards the payment when the write does not finish within storeOfflineMs, and declines only once that is recorded', () => {
    const { w, txId } = prechecking();
    w.send(accepted(txId));
    w.advance(C.storeOfflineMs - 1);
    expect(w.state).toMatchObject({ step: 'storing' });
    const fx = w.advance(1);
    expect(fx).toContainEqual({ type: 'discardOffline', txId });
    expect(w.state).toMatchObject({ name: 'authorising', step: 'discarding' });
    // The late write is stale: the payment is being discarded, never approved.
    expect(w.send({ type: 'offlineStored', txId })).toEqual([expect.objectContaining({ event: 'stale-event' })]);
    expect(w.send({ type: 'cancelPressed' })).toEqual([{ type: 'hint', hint: 'please-wait' }]);
    // Not recorded in time (a stalled disk): asked again, still no decline.
    expect(w.advance(C.storeOfflineMs)).toContainEqual({ type: 'discardOffline', txId });
    expect(w.state).toMatchObject({ name: 'authorising', step: 'discarding', tries: 2 });
    w.send({ type: 'offlineDiscarded', txId });
    expect(w.state).toMatchObject({ name: 'declined', reason: 'INTERNAL' });
    expect(ofType(w.allEffects(), 'pulseRelay')).toEqual([]);
  });

  it('goes idle on cancel during the pre-check, and ignores its late result', () => {
    const { w, txId } = prechecking();
    w.send({ type: 'cancelPressed' });
    expect(w.state.name).toBe('idle');
    expect(w.send(accepted(txId))).toEqual([expect.objectContaining({ event: 'stale-event' })]);
    expect(ofType(w.allEffects(), 'storeOffline')).toEqual([]);
  });

  it('refuses to cancel while the payment is being stored', () => {
    const { w, txId } = prechecking();
    w.send(accepted(txId));
    expect(w.send({ type: 'cancelPressed' })).toEqual([{ type: 'hint', hint: 'please-wait' }]);
    expect(w.state).toMatchObject({ step: 'storing' });
  });

  it('treats online answers as stale while pre-checking or storing', () => {
    const { w, txId } = prechecking();
    expect(w.send(answer(txId, 'approved'))).toEqual([expect.objectContaining({ event: 'stale-event' })]);
    expect(w.send({ type: 'txError', txId, code: 'INTERNAL' })).toEqual([expect.objectContaining({ event: 'stale-event' })]);
    w.send(accepted(txId));
    expect(w.send(accepted(txId))).toEqual([expect.objectContaining({ event: 'stale-event' })]);
    expect(w.state).toMatchObject({ step: 'storing' });
  });
});

describe('checkout: approved and dispensing', () => {
  it('pulses the slot relay for relayPulseMs, shows approved after dispenseMs, and goes idle after resultShowMs', () => {
    const w = world({ mode: 'vending' });
    const txId = toAuthorising(w);
    const fx = w.send(answer(txId, 'approved'));
    expect(fx).toContainEqual({ type: 'pulseRelay', slot: 1, onMs: C.relayPulseMs });
    expect(fx).toContainEqual({ type: 'show', screen: { name: 'dispensing', slot: 1 } });
    expect(w.state).toMatchObject({ name: 'dispensing', slot: 1 });
    expect(w.advance(C.dispenseMs - 1)).toEqual([]);
    expect(w.advance(1)).toEqual([{ type: 'show', screen: { name: 'approved', total: { value: 150, currency: 'JPY' } } }]);
    expect(w.state.name).toBe('approved');
    w.advance(C.resultShowMs);
    expect(w.state.name).toBe('idle');
    expect(ofType(w.allEffects(), 'pulseRelay')).toHaveLength(1);
  });

  it('never commands a relay pulse above relayPulseMaxMs', () => {
    for (const [relayPulseMs, relayPulseMaxMs] of [
      [1, 1],
      [500, 2000],
      [2000, 2000],
      [10_000, 10_000],
    ] as const) {
      const w = world({ mode: 'vending', config: { relayPulseMs, relayPulseMaxMs } });
      w.send(answer(toAuthorising(w), 'approved'));
      for (const p of ofType(w.allEffects(), 'pulseRelay')) expect(p.onMs).toBeLessThanOrEqual(relayPulseMaxMs);
    }
  });

  it('asks to wait on cancel while dispensing, and dismisses the approved screen on cancel', () => {
    const w = world({ mode: 'vending' });
    w.send(answer(toAuthorising(w), 'approved'));
    expect(w.send({ type: 'cancelPressed' })).toEqual([{ type: 'hint', hint: 'please-wait' }]);
    w.advance(C.dispenseMs);
    w.send({ type: 'cancelPressed' });
    expect(w.state.name).toBe('idle');
  });

  it('asks to wait for scans and buttons, and treats late answers as stale', () => {
    const w = world();
    const txId = toAuthorising(w);
    w.send(answer(txId, 'approved'));
    expect(w.scan(TEA.gtin)).toEqual([{ type: 'hint', hint: 'please-wait' }]);
    expect(w.send({ type: 'slotPressed', slot: 1 })).toEqual([{ type: 'hint', hint: 'please-wait' }]);
    expect(w.send(answer(txId, 'declined', 'status'))).toEqual([expect.objectContaining({ event: 'stale-event' })]);
    expect(w.state.name).toBe('approved');
  });
});

describe('checkout: declined', () => {
  function declinedWorld(mode: 'self-checkout' | 'vending' = 'self-checkout', config = {}) {
    const w = world({ mode, config });
    w.send(answer(toAuthorising(w), 'declined', 'pay', 'INSUFFICIENT_FUNDS'));
    return w;
  }

  it('asks for a code again after declineShowMs, keeping the basket', () => {
    const w = declinedWorld();
    expect(w.advance(C.declineShowMs - 1)).toEqual([]);
    w.advance(1);
    expect(w.state).toMatchObject({ name: 'awaitingCode', declines: 1, basket: { total: { value: 150 } } });
  });

  it('starts a retry at once when a new code is scanned, under a new txId', () => {
    const w = declinedWorld();
    const fx = w.scan(ONLINE_CODE);
    expect(ofType(fx, 'sendPay')).toEqual([expect.objectContaining({ txId: 'tx-2' })]);
    expect(w.state).toMatchObject({ name: 'authorising', declines: 1 });
  });

  it('gives up after declinesPerBasketMax declines and goes idle', () => {
    const w = declinedWorld('self-checkout', { declinesPerBasketMax: 2 });
    w.scan(ONLINE_CODE);
    w.send(answer('tx-2', 'declined', 'pay', 'CODE_USED'));
    expect(w.state).toMatchObject({ name: 'declined', declines: 2 });
    expect(w.scan(ONLINE_CODE)).toEqual([{ type: 'hint', hint: 'please-wait' }]);
    w.advance(C.declineShowMs);
    expect(w.state.name).toBe('idle');
    expect(w.minted).toEqual(['tx-1', 'tx-2']);
  });

  it('goes idle on cancel, hints on garbage, and asks to wait for products', () => {
    const w = declinedWorld();
    expect(w.scan('garbage')).toContainEqual({ type: 'hint', hint: 'unreadable-code', text: ERRORS.CODE_MALFORMED.shopper });
    expect(w.scan(TEA.gtin)).toEqual([{ type: 'hint', hint: 'please-wait' }]);
    w.send({ type: 'cancelPressed' });
    expect(w.state.name).toBe('idle');
  });

  it('takes a new selection in vending mode, keeping the decline count', () => {
    const w = declinedWorld('vending');
    w.send({ type: 'slotPressed', slot: 2 });
    expect(w.state).toMatchObject({ name: 'awaitingCode', declines: 1, basket: { total: { value: 120 } } });
  });
});

describe('checkout: faults', () => {
  it('enters fault from idle, ignores everything, and recovers to idle', () => {
    const w = world();
    const fx = w.send({ type: 'faultRaised', fault: 'scanner-unavailable' });
    expect(w.state).toEqual({ name: 'fault', fault: 'scanner-unavailable', uplinkOnline: true });
    expect(fx).toContainEqual({ type: 'show', screen: { name: 'fault', fault: 'scanner-unavailable' } });
    const before = w.state;
    w.scan(TEA.gtin);
    w.scan(ONLINE_CODE);
    w.send({ type: 'slotPressed', slot: 1 });
    expect(w.send({ type: 'cancelPressed' })).toEqual([]);
    expect(w.send({ type: 'payPressed' })).toEqual([]);
    expect(w.advance(3_600_000)).toEqual([]);
    expect(w.state).toBe(before);
    w.send({ type: 'faultCleared' });
    expect(w.state).toEqual({ name: 'idle', uplinkOnline: true });
  });

  it('voids the basket when a fault comes in basket, awaitingCode or declined', () => {
    for (const setup of [
      (w: ReturnType<typeof world>) => w.scan(TEA.gtin),
      toAwaitingCode,
      (w: ReturnType<typeof world>) => w.send(answer(toAuthorising(w), 'declined')),
    ]) {
      const w = world();
      setup(w);
      w.send({ type: 'faultRaised', fault: 'display-unavailable' });
      expect(w.state).toMatchObject({ name: 'fault', fault: 'display-unavailable' });
      w.send({ type: 'faultCleared' });
      expect(w.state.name).toBe('idle');
    }
  });

  it('lets a payment in flight finish and enters the fault when it would go idle', () => {
    const w = world({ mode: 'vending' });
    const txId = toAuthorising(w);
    w.send({ type: 'faultRaised', fault: 'scanner-unavailable' });
    expect(w.state).toMatchObject({ name: 'authorising', pendingFault: 'scanner-unavailable' });
    w.send(answer(txId, 'approved'));
    expect(w.state).toMatchObject({ name: 'dispensing', pendingFault: 'scanner-unavailable' });
    w.send({ type: 'faultRaised', fault: 'relay-unavailable' });
    w.advance(C.dispenseMs);
    expect(w.state).toMatchObject({ name: 'approved', pendingFault: 'relay-unavailable' });
    w.advance(C.resultShowMs);
    expect(w.state).toEqual({ name: 'fault', fault: 'relay-unavailable', uplinkOnline: true });
  });

  it('forgets a pending fault that clears before the payment ends', () => {
    const w = world();
    const txId = toAuthorising(w);
    w.send({ type: 'faultRaised', fault: 'scanner-unavailable' });
    w.send({ type: 'faultCleared' });
    w.send(answer(txId, 'approved'));
    w.advance(C.resultShowMs);
    expect(w.state.name).toBe('idle');
  });

  it('updates the fault kind when another fault comes in, and ignores a clear in idle', () => {
    const w = world();
    expect(w.send({ type: 'faultCleared' })).toEqual([]);
    w.send({ type: 'faultRaised', fault: 'scanner-unavailable' });
    w.send({ type: 'faultRaised', fault: 'catalog-unavailable' });
    expect(w.state).toMatchObject({ name: 'fault', fault: 'catalog-unavailable' });
  });

  it('warns of a fault at once, with what it means and what fixes it', () => {
    const w = world();
    const fx = w.send({ type: 'faultRaised', fault: 'scanner-unavailable' });
    expect(fx).toContainEqual({
      type: 'log',
      level: 'warn',
      event: 'fault',
      detail: { fault: 'scanner-unavailable', state: 'idle', ...FAULT_HELP['scanner-unavailable'] },
    });
  });

  it('waits for a first catalog without a warning, and warns once if it never comes', () => {
    // A new kiosk: out of service until the retained catalog arrives, logged at info only.
    const w = world();
    const fx = w.send({ type: 'faultRaised', fault: 'catalog-unavailable' });
    expect(fx).toEqual([
      { type: 'log', level: 'info', event: 'waiting-for-catalog', detail: { state: 'idle', waitMs: C.catalogWaitMs } },
      { type: 'show', screen: { name: 'fault', fault: 'catalog-unavailable' } },
    ]);
    expect(w.state).toMatchObject({ name: 'fault', fault: 'catalog-unavailable' });
    expect(w.advance(C.catalogWaitMs - 1)).toEqual([]);
    // Raised again while waiting (another fault changed): no new log, the same deadline.
    expect(w.send({ type: 'faultRaised', fault: 'catalog-unavailable' })).toEqual([]);
    const cleared = w.send({ type: 'faultCleared' });
    expect(cleared.filter((e) => e.type === 'log' && e.level === 'warn')).toEqual([]);
    expect(w.state.name).toBe('idle');
    expect(w.advance(C.catalogWaitMs)).toEqual([]);

    // It never comes: one warning at the end of the wait, saying what to check.
    w.send({ type: 'faultRaised', fault: 'catalog-unavailable' });
    w.advance(C.catalogWaitMs - 1);
    const warned = w.advance(1);
    expect(warned).toEqual([
      {
        type: 'log',
        level: 'warn',
        event: 'fault',
        detail: { fault: 'catalog-unavailable', state: 'fault', waitedMs: C.catalogWaitMs, ...FAULT_HELP['catalog-unavailable'] },
      },
    ]);
    expect(FAULT_HELP['catalog-unavailable'].fix).toContain('kioskpay console reload-catalog KIOSK');
    expect(w.advance(10 * C.catalogWaitMs)).toEqual([]);
    expect(w.state).toEqual({ name: 'fault', fault: 'catalog-unavailable', uplinkOnline: true });
    w.send({ type: 'faultCleared' });
    expect(w.state.name).toBe('idle');
  });

  it('warns at once of a catalog lost during a payment (reload-catalog), and enters the fault after it', () => {
    const w = world();
    const txId = toAuthorising(w);
    const fx = w.send({ type: 'faultRaised', fault: 'catalog-unavailable' });
    expect(fx).toContainEqual(expect.objectContaining({ type: 'log', level: 'warn', event: 'fault' }));
    w.send(answer(txId, 'approved'));
    w.advance(C.resultShowMs);
    expect(w.state).toEqual({ name: 'fault', fault: 'catalog-unavailable', uplinkOnline: true });
  });

  it('treats attempt results as stale in fault', () => {
    const w = world();
    w.send({ type: 'faultRaised', fault: 'scanner-unavailable' });
    expect(w.send(answer('tx-1', 'approved'))).toEqual([expect.objectContaining({ event: 'stale-event' })]);
  });
});

describe('checkout: uplink and time', () => {
  it('switches the offline indicator only when the uplink state changes, in any state', () => {
    const w = world();
    w.scan(TEA.gtin);
    expect(w.send({ type: 'uplinkChanged', online: true })).toEqual([]);
    expect(w.send({ type: 'uplinkChanged', online: false })).toContainEqual({ type: 'offlineIndicator', on: true });
    expect(w.state).toMatchObject({ name: 'basket', uplinkOnline: false });
    expect(w.send({ type: 'uplinkChanged', online: true })).toContainEqual({ type: 'offlineIndicator', on: false });
  });

  it('routes by the uplink state at the moment the code is scanned', () => {
    const w = world();
    toAwaitingCode(w);
    w.send({ type: 'uplinkChanged', online: false });
    w.scan(OFFLINE_QR_CODE);
    expect(w.state).toMatchObject({ step: 'prechecking' });
  });

  it('times out on the tick time, not the clock, so a late tick fires every due timeout once', () => {
    const w = world();
    const txId = toAuthorising(w);
    expect(w.send({ type: 'tick', nowMonotonicMs: C.payAnswerMs + 60_000 }).map((e) => e.type)).toContain('sendStatus');
    expect(w.state).toMatchObject({
      step: 'askingStatus',
      tries: 1,
      deadlineMs: C.payAnswerMs + 60_000 + C.statusAnswerMs,
      attempt: { txId },
    });
  });

  it('gives the same effects for the same events (deterministic)', () => {
    const run = () => {
      const w = world({ mode: 'vending' });
      const txId = toAuthorising(w);
      w.advance(C.payAnswerMs);
      w.send(answer(txId, 'approved', 'status'));
      w.advance(C.dispenseMs);
      w.advance(C.resultShowMs);
      return w.log;
    };
    expect(run()).toEqual(run());
  });
});
