// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { answers, type KioskReply, type KioskRequest } from './kiosk-messages.ts';

const amount = { value: 500, currency: 'JPY' as const };
const pay: KioskRequest = { v: 1, type: 'pay', id: 'r1', txId: 'tx-1', code: '31000000000000000000', amount };
const status: KioskRequest = { v: 1, type: 'status', id: 'r2', txId: 'tx-1' };
const voidReq: KioskRequest = { v: 1, type: 'void', id: 'r3', txId: 'tx-1' };
const settle: KioskRequest = { v: 1, type: 'settle', id: 'r4', items: [] };
const time: KioskRequest = { v: 1, type: 'time', id: 'r5', t0: 1000 };

const payResult = (txId: string): KioskReply => ({ v: 1, type: 'pay.result', re: 'x', txId, status: 'approved' });
const settleResult: KioskReply = { v: 1, type: 'settle.result', re: 'x', items: [] };
const timeResult = (t0: number): KioskReply => ({ v: 1, type: 'time.result', re: 'x', t0, t1: 2, t2: 3 });
const error: KioskReply = { v: 1, type: 'error', re: 'x', code: 'MALFORMED_MESSAGE', message: 'no' };

describe('answers(request, reply)', () => {
  it('takes an error reply as the answer to any request', () => {
    for (const r of [pay, status, voidReq, settle, time]) expect(answers(r, error), r.type).toBe(true);
  });

  it('takes pay.result for pay, status and void only when it names the same txId', () => {
    for (const r of [pay, status, voidReq]) {
      expect(answers(r, payResult('tx-1')), r.type).toBe(true);
      expect(answers(r, payResult('tx-2')), r.type).toBe(false);
    }
    expect(answers(settle, payResult('tx-1'))).toBe(false);
    expect(answers(time, payResult('tx-1'))).toBe(false);
  });

  it('takes settle.result only for settle', () => {
    expect(answers(settle, settleResult)).toBe(true);
    for (const r of [pay, status, voidReq, time]) expect(answers(r, settleResult), r.type).toBe(false);
  });

  it('takes time.result only for time, and only when it echoes the same t0', () => {
    expect(answers(time, timeResult(1000))).toBe(true);
    expect(answers(time, timeResult(999))).toBe(false);
    for (const r of [pay, status, voidReq, settle]) expect(answers(r, timeResult(1000)), r.type).toBe(false);
  });
});
