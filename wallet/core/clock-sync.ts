// SPDX-License-Identifier: Apache-2.0
// Claim 5: the app synchronises its clock with the server's at set moments. NTP-style (RFC 5905
// section 8) over POST /v1/time: a few exchanges one after another, and the sample with the shortest
// round trip wins (shared/time-sync.ts).
import { assert } from '../../shared/assert.ts';
import type { Clock } from '../../shared/clock.ts';
import { bestSample, timeSample, type TimeSample } from '../../shared/time-sync.ts';
import type { TimeSyncResponse } from '../../shared/wallet-messages.ts';
import type { CallOptions } from './api-client.ts';
import { WalletNetworkError, WalletProtocolError } from './wallet-errors.ts';

export const CLOCK_SYNC_SAMPLES_DEFAULT = 4;
export const CLOCK_SYNC_SAMPLES_MAX = 16;

/** The one API call clock sync needs; WalletApiClient satisfies it. */
export interface TimeApi {
  time(t0: number, opts?: CallOptions): Promise<TimeSyncResponse>;
}

export interface ClockSyncOptions extends CallOptions {
  samples?: number;
}

export interface ClockSyncResult {
  sample: TimeSample;
  /** Local wall-clock time when the sync finished: store it as the sync time. */
  syncedAtMs: number;
  /** How many exchanges answered (the rest failed and were skipped). */
  answered: number;
}

/**
 * Takes `samples` exchanges and keeps the best. A failed exchange is skipped; if none answers, the
 * last error is thrown (WalletNetworkError, WalletApiError or WalletProtocolError). An abort stops
 * further exchanges: the samples taken so far are used, or the abort error is thrown if there are none.
 */
export async function syncClock(api: TimeApi, clock: Clock, options: ClockSyncOptions = {}): Promise<ClockSyncResult> {
  const n = options.samples ?? CLOCK_SYNC_SAMPLES_DEFAULT;
  assert(Number.isInteger(n) && n >= 1 && n <= CLOCK_SYNC_SAMPLES_MAX, `clock sync samples must be 1..${CLOCK_SYNC_SAMPLES_MAX}`);
  const samples: TimeSample[] = [];
  let lastError: unknown;
  for (let i = 0; i < n; i++) {
    if (options.signal?.aborted) break;
    try {
      samples.push(await exchange(api, clock, options));
    } catch (e) {
      lastError = e;
    }
  }
  const best = bestSample(samples);
  if (best === undefined) throw lastError ?? new WalletNetworkError('ABORTED', {}, 'clock sync cancelled before any exchange');
  return { sample: best, syncedAtMs: clock.nowMs(), answered: samples.length };
}

/**
 * One exchange. t3 is t0 plus the monotonic time elapsed, so a wall-clock jump during the exchange
 * cannot distort the round trip.
 */
async function exchange(api: TimeApi, clock: Clock, options: CallOptions): Promise<TimeSample> {
  const t0 = clock.nowMs();
  const m0 = clock.monotonicMs();
  const r = await api.time(t0, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  // Whole milliseconds, like the server's timestamps (a monotonic clock may have fractions).
  const t3 = t0 + Math.round(clock.monotonicMs() - m0);
  // An answer to some other request (a stale or replayed response) must not be taken for ours.
  if (r.t0 !== t0) throw new WalletProtocolError(200, `time answer echoes t0=${r.t0}, sent ${t0}`);
  if (r.t2 < r.t1) throw new WalletProtocolError(200, 'time answer has t2 before t1');
  return timeSample(t0, r.t1, r.t2, t3);
}
