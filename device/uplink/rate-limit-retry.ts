// SPDX-License-Identifier: Apache-2.0
// Resending a request the server refused with RATE_LIMITED. Such a refusal means the request was
// not handled and nothing was charged, so the SAME request (same txId, idempotent) goes again after
// the server's retryAfterMs plus an exponential backoff with jitter, until a real answer comes or the
// request's deadline would pass. Then the last RATE_LIMITED reply is returned: still "not handled".
import type { ErrorReply } from '../../shared/kiosk-messages.ts';
import type { Timers } from '../timers.ts';

export const RATE_LIMIT_RETRY_DEFAULTS = Object.freeze({
  /** The wait when a RATE_LIMITED reply carries no retryAfterMs, in ms. */
  retryAfterMs: 100,
  /** The backoff's first step and its cap, in ms; step n adds up to min(cap, first * 2^n) of jitter. */
  backoffFirstMs: 50,
  backoffCapMs: 2_000,
});

export interface RateLimitRetryDeps {
  timers: Timers;
  /** Uniform in [0, 1): the jitter. */
  random: () => number;
  /** The pending waits; calling one ends it early (the uplink's close(), whose next send then rejects). */
  waits?: Set<() => void>;
}

/** The wait before resend number `attempt` (0 = the first resend). */
export function retryDelayMs(attempt: number, retryAfterMs: number | undefined, random: () => number): number {
  const d = RATE_LIMIT_RETRY_DEFAULTS;
  const spread = Math.min(d.backoffCapMs, d.backoffFirstMs * 2 ** attempt);
  return (retryAfterMs ?? d.retryAfterMs) + Math.floor(random() * spread);
}

const isRateLimited = (r: { type: string }): r is ErrorReply => r.type === 'error' && (r as ErrorReply).code === 'RATE_LIMITED';

/**
 * Calls `send(timeoutMs)` (one attempt, waiting at most timeoutMs for its reply) until its reply is
 * not RATE_LIMITED, all within `deadlineMs` from now. Rejections of `send` pass through unchanged.
 */
export async function sendWithRateLimitRetry<R extends { type: string }>(
  send: (timeoutMs: number) => Promise<R>,
  deadlineMs: number,
  deps: RateLimitRetryDeps,
): Promise<R> {
  const end = deps.timers.now() + deadlineMs;
  for (let attempt = 0; ; attempt++) {
    // The first attempt gets the whole deadline exactly; a resend gets what is left of it.
    const reply = await send(attempt === 0 ? deadlineMs : Math.max(1, end - deps.timers.now()));
    if (!isRateLimited(reply)) return reply;
    const delay = retryDelayMs(attempt, reply.retryAfterMs, deps.random);
    // A resend must have time left for its answer; otherwise "not handled" is the answer.
    if (deps.timers.now() + delay >= end) return reply;
    await waitMs(delay, deps.timers, deps.waits);
  }
}

/** Resolves after `ms` on `timers`; `waits` (when given) holds its early end while it waits. */
export function waitMs(ms: number, timers: Pick<Timers, 'setTimeout' | 'clearTimeout'>, waits?: Set<() => void>): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      timers.clearTimeout(handle);
      waits?.delete(done);
      resolve();
    };
    const handle = timers.setTimeout(done, ms);
    waits?.add(done);
  });
}
