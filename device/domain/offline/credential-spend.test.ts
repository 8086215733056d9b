// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import type { OfflineLimits } from '../../../shared/wallet-messages.ts';
import { SPEND_WINDOW_MS, checkCredentialSpend, spendRecords, withSpend, type SpendRecord } from './credential-spend.ts';

const T = Date.UTC(2026, 10, 28);
const DAY = 86_400_000;
const limits: OfflineLimits = {
  currency: 'JPY',
  perPayment: 5_000,
  daily: { amount: 10_000, count: 2 },
  monthly: { amount: 12_000, count: 10 },
};
const rec = (txId: string, value: number, capturedAt: number, credentialId = 'c1'): SpendRecord => ({
  txId,
  credentialId,
  amount: { value, currency: 'JPY' },
  capturedAt,
});
const jpy = (value: number) => ({ value, currency: 'JPY' as const });

describe('per-credential rolling counters on the kiosk', () => {
  it('declines past the daily count or amount, and past the 30-day amount, per credential', () => {
    expect(checkCredentialSpend([rec('a', 150, T - 1_000)], 'c1', limits, jpy(150), T)).toBeUndefined();
    expect(checkCredentialSpend([rec('a', 150, T - 1_000), rec('b', 150, T - 500)], 'c1', limits, jpy(150), T)).toBe('OFFLINE_LIMIT_DAILY');
    expect(checkCredentialSpend([rec('a', 150, T - 1_000), rec('b', 150, T - 500, 'c2')], 'c1', limits, jpy(150), T)).toBeUndefined();
    expect(checkCredentialSpend([rec('a', 5_000, T - 1_000)], 'c1', limits, jpy(5_001), T)).toBe('OFFLINE_LIMIT_DAILY');
    expect(checkCredentialSpend([rec('a', 5_000, T - 2 * DAY), rec('b', 5_000, T - 3 * DAY)], 'c1', limits, jpy(2_001), T)).toBe(
      'OFFLINE_LIMIT_MONTHLY',
    );
    expect(
      checkCredentialSpend([rec('a', 5_000, T - SPEND_WINDOW_MS - 1), rec('b', 5_000, T - 3 * DAY)], 'c1', limits, jpy(2_001), T),
    ).toBeUndefined();
  });

  it('counts each payment once, forwarded or not, and not those declined at settlement', () => {
    const stored = [rec('a', 150, T), rec('b', 150, T)];
    const kept = [rec('a', 150, T), rec('z', 150, T)];
    expect(
      spendRecords(stored, kept, new Set(['z']))
        .map((r) => r.txId)
        .sort(),
    ).toEqual(['a', 'b']);
  });

  it('keeps records for 30 days', () => {
    const kept = withSpend([rec('old', 1, T - SPEND_WINDOW_MS - 1), rec('a', 1, T - DAY)], rec('b', 1, T), T);
    expect(kept.map((r) => r.txId)).toEqual(['a', 'b']);
  });
});
