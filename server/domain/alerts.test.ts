// SPDX-License-Identifier: Apache-2.0
// The server's alert memory: numbered in order, bounded, and a flood of login-flood alerts cannot
// push the money alerts out.
import { describe, expect, it } from 'vitest';
import { money } from '../../shared/money.ts';
import { AlertSink, type NewServerAlert } from './alerts.ts';

const copy = (at: number): NewServerAlert => ({
  kind: 'offline-copy',
  severity: 'critical',
  at,
  kioskId: 'k2',
  walletId: 'w_1',
  amount: money(1_100),
  message: 'copy',
});
const flood = (at: number): NewServerAlert => ({
  kind: 'login-flood',
  severity: 'warning',
  at,
  kioskId: null,
  walletId: null,
  amount: null,
  message: 'flood',
});

describe('AlertSink', () => {
  it('numbers alerts from 1 and gives the newest N oldest first', () => {
    const sink = new AlertSink(10);
    let raised = 0;
    sink.onRaise(() => {
      raised += 1;
    });
    for (let i = 0; i < 4; i++) sink.raise(copy(100 + i));
    expect(raised).toBe(4);
    expect(sink.newest(2).map((a) => [a.seq, a.at])).toEqual([
      [3, 102],
      [4, 103],
    ]);
    expect(sink.newest(99)).toHaveLength(4);
    expect(sink.since(102).map((a) => a.seq)).toEqual([3, 4]);
  });

  it('keeps the newest `max`, forgetting login floods before money alerts', () => {
    const sink = new AlertSink(3);
    sink.raise(copy(1));
    sink.raise(copy(2));
    for (let i = 0; i < 50; i++) sink.raise(flood(10 + i));
    // The two copies stay; of the floods, the newest.
    expect(sink.newest(3).map((a) => [a.kind, a.seq])).toEqual([
      ['offline-copy', 1],
      ['offline-copy', 2],
      ['login-flood', 52],
    ]);
    // Without floods to drop, the oldest goes.
    sink.raise(copy(100));
    sink.raise(copy(101));
    expect(sink.newest(3).map((a) => a.seq)).toEqual([2, 53, 54]);
  });
});
