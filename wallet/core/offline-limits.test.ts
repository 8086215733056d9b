// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import type { PaymentRecord } from '../../shared/wallet-messages.ts';
import { TEST_LIMITS, T0 } from '../testing/fixtures.ts';
import { CAPTURE_SLACK_MS, OFFLINE_WINDOWS_MS, offlineLimitsLeft } from './offline-limits.ts';
import type { ShownCode } from './wallet-state.ts';

let seq = 0;
const pay = (value: number, at: number, o: Partial<PaymentRecord> = {}): PaymentRecord => ({
  paymentId: `p${++seq}`,
  kind: 'offline-qr',
  status: 'settled',
  amount: { value, currency: 'JPY' },
  kioskId: 'kiosk-1',
  at,
  offline: { credentialId: 'c', counter: seq },
  ...o,
});

describe('offlineLimitsLeft (TEST_LIMITS: 5,000 per payment; 10,000 and 2 per day; 50,000 and 10 per 30 days)', () => {
  it('allows a payment while the daily count and amount have room', () => {
    expect(offlineLimitsLeft(TEST_LIMITS, [pay(3_000, T0 - 1_000)], T0)).toEqual({
      ok: true,
      daily: { amount: 3_000, count: 1 },
      monthly: { amount: 3_000, count: 1 },
    });
  });

  it('says the daily count is used up after two offline payments within 24 hours', () => {
    const r = offlineLimitsLeft(TEST_LIMITS, [pay(100, T0 - 5_000), pay(100, T0 - 1_000)], T0);
    expect(r).toMatchObject({ ok: false, window: 'daily', by: 'count' });
  });

  it('counts only approved and settled offline payments in the same currency, inside the rolling window and its slack', () => {
    const payments = [
      pay(100, T0 - 1_000, { kind: 'online', offline: undefined }),
      pay(100, T0 - 1_000, { status: 'declined' }),
      pay(100, T0 - 1_000, { amount: { value: 100, currency: 'USD' } }),
      pay(100, T0 - OFFLINE_WINDOWS_MS.daily - CAPTURE_SLACK_MS - 1),
    ];
    expect(offlineLimitsLeft(TEST_LIMITS, payments, T0)).toEqual({
      ok: true,
      daily: { amount: 0, count: 0 },
      monthly: { amount: 100, count: 1 },
    });
    // Just past 24 h, but within the slack the server's capture times allow: still counted.
    const edge = [pay(100, T0 - OFFLINE_WINDOWS_MS.daily - 1)];
    expect(offlineLimitsLeft(TEST_LIMITS, edge, T0)).toMatchObject({ daily: { amount: 100, count: 1 } });
  });

  it('counts a refunded offline payment at what it was, as the server does: a refund gives back money, not allowance', () => {
    const refunded = pay(3_000, T0 - 1_000, { refunded: { value: 2_000, currency: 'JPY' } });
    expect(offlineLimitsLeft(TEST_LIMITS, [refunded], T0)).toMatchObject({ ok: true, daily: { amount: 3_000, count: 1 } });
  });

  it('says the monthly amount is used up when nothing is left of it', () => {
    const payments = Array.from({ length: 9 }, (_, i) => pay(5_000 + (i === 0 ? 5_000 : 0), T0 - (i + 2) * OFFLINE_WINDOWS_MS.daily));
    expect(offlineLimitsLeft(TEST_LIMITS, payments, T0)).toMatchObject({ ok: false, window: 'monthly', by: 'amount' });
  });
});

describe('offlineLimitsLeft with the codes the phone has shown', () => {
  const shown = (counter: number, at: number, o: Partial<ShownCode> = {}): ShownCode => ({
    form: 'qr',
    credentialId: 'c',
    counter,
    shownAtMs: at,
    ...o,
  });

  it('counts a shown code at once, at its cap or else at the per-payment limit', () => {
    expect(offlineLimitsLeft(TEST_LIMITS, [], T0, [shown(1, T0 - 1_000)], 5_000)).toMatchObject({
      ok: true,
      daily: { amount: 5_000, count: 1 },
    });
    expect(
      offlineLimitsLeft(TEST_LIMITS, [], T0, [shown(1, T0 - 1_000, { amountCap: 6_000 }), shown(2, T0 - 500, { amountCap: 100 })], 100),
    ).toMatchObject({ ok: false, window: 'daily', by: 'count' });
    expect(
      offlineLimitsLeft({ ...TEST_LIMITS, daily: { amount: 10_000, count: 5 } }, [], T0, [shown(1, T0 - 1_000), shown(2, T0 - 500)], 1),
    ).toMatchObject({ ok: false, window: 'daily', by: 'amount' });
  });

  it('counts the codes one screen refreshed as one sitting, and a sitting history saw at its charge', () => {
    const sitting = [shown(1, T0 - 9_000), shown(2, T0 - 4_000, { sameSitting: true }), shown(3, T0 - 1_000, { sameSitting: true })];
    expect(offlineLimitsLeft(TEST_LIMITS, [], T0, sitting, 5_000)).toMatchObject({ ok: true, daily: { amount: 5_000, count: 1 } });
    const seen = [sitting[0]!, { ...sitting[1]!, charged: 800 }, sitting[2]!];
    const history = [pay(800, T0 - 4_000, { offline: { credentialId: 'c', counter: 2 } })];
    expect(offlineLimitsLeft(TEST_LIMITS, history, T0, seen, 5_000)).toMatchObject({ ok: true, daily: { amount: 800, count: 1 } });
    expect(offlineLimitsLeft(TEST_LIMITS, [], T0, [{ ...sitting[0]!, charged: 0 }], 5_000)).toMatchObject({
      ok: true,
      daily: { amount: 0, count: 0 },
    });
  });
});
