// SPDX-License-Identifier: Apache-2.0
// Resending after RATE_LIMITED on fake timers: the same request goes again only after the server's
// retryAfterMs (plus jitter), the waits grow, and nothing is resent past the request's deadline.
import { describe, expect, it } from 'vitest';
import type { ErrorReply, PayResult } from '../../shared/kiosk-messages.ts';
import { ManualTimers } from '../timers.ts';
import { retryDelayMs, sendWithRateLimitRetry } from './rate-limit-retry.ts';

const limited = (retryAfterMs?: number): ErrorReply => ({
  v: 1,
  type: 'error',
  re: 'c1',
  code: 'RATE_LIMITED',
  message: 'slow down',
  ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
});
const approved: PayResult = { v: 1, type: 'pay.result', re: 'c1', txId: 'tx-1', status: 'approved' };

/** A send that answers from a script and records each attempt's time and timeout. */
function scripted(timers: ManualTimers, replies: Array<PayResult | ErrorReply>) {
  const attempts: Array<{ at: number; timeoutMs: number }> = [];
  const send = async (timeoutMs: number) => {
    attempts.push({ at: timers.now(), timeoutMs });
    return replies.shift() ?? limited(50);
  };
  return { send, attempts };
}

/** Lets pending promise callbacks run (no real time passes). */
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('resending after RATE_LIMITED', () => {
  it('resends only after retryAfterMs, then returns the real answer', async () => {
    const timers = new ManualTimers();
    const { send, attempts } = scripted(timers, [limited(200), approved]);
    let result: unknown;
    void sendWithRateLimitRetry(send, 5_000, { timers, random: () => 0.5 }).then((r) => {
      result = r;
    });
    await settle();
    expect(attempts).toHaveLength(1);
    timers.advance(199);
    await settle();
    expect(attempts).toHaveLength(1);
    timers.advance(26); // the wait is 200 + 0.5 * 50 of jitter
    await settle();
    expect(result).toEqual(approved);
    expect(attempts.map((a) => a.at)).toEqual([0, 200 + 25]);
    // The resend waits only for what is left of the one deadline.
    expect(attempts[1]!.timeoutMs).toBe(5_000 - 225);
  });

  it('returns the RATE_LIMITED reply, unsent again, when no resend fits the deadline', async () => {
    const timers = new ManualTimers();
    const { send, attempts } = scripted(timers, []);
    let result: unknown;
    void sendWithRateLimitRetry(send, 1_000, { timers, random: () => 0.99 }).then((r) => {
      result = r;
    });
    for (let i = 0; i < 20 && result === undefined; i++) {
      await settle();
      timers.advance(100);
    }
    expect(result).toMatchObject({ code: 'RATE_LIMITED' });
    expect(attempts.length).toBeGreaterThan(1);
    expect(attempts.every((a) => a.at < 1_000)).toBe(true);
    expect(timers.pending).toBe(0);
  });

  it('backs off exponentially with jitter, never below retryAfterMs, capped', () => {
    expect(retryDelayMs(0, 50, () => 0)).toBe(50);
    expect([0, 1, 2, 3].map((n) => retryDelayMs(n, 50, () => 0.999))).toEqual([99, 149, 249, 449]);
    expect(retryDelayMs(30, 50, () => 0.999)).toBe(50 + 1_998);
    expect(retryDelayMs(0, undefined, () => 0)).toBe(100);
  });

  it('a wait ended early (close) lets the caller stop at once', async () => {
    const timers = new ManualTimers();
    const waits = new Set<() => void>();
    let closed = false;
    const send = async () => {
      if (closed) throw new Error('closed');
      return limited(1_000);
    };
    const run = sendWithRateLimitRetry(send, 5_000, { timers, random: () => 0, waits });
    await settle();
    expect(waits.size).toBe(1);
    closed = true;
    for (const end of [...waits]) end();
    await expect(run).rejects.toThrow('closed');
    expect(timers.pending).toBe(0);
  });
});
