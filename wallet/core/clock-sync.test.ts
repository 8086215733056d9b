// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.ts';
import type { TimeSyncResponse } from '../../shared/wallet-messages.ts';
import { T0 } from '../testing/fixtures.ts';
import { syncClock, type TimeApi } from './clock-sync.ts';
import { WalletNetworkError, WalletProtocolError } from './wallet-errors.ts';

/**
 * A simulated server whose clock runs `offsetMs` ahead of the phone's. Each exchange i takes
 * `up[i]` ms to reach it and `down[i]` ms to come back; `fail[i]` makes exchange i fail instead.
 */
function simulatedServer(
  clock: ManualClock,
  offsetMs: number,
  up: number[],
  down: number[],
  fail: (Error | undefined)[] = [],
): TimeApi & { calls: number } {
  const api = {
    calls: 0,
    async time(t0: number): Promise<TimeSyncResponse> {
      const i = api.calls++;
      const f = fail[i];
      if (f) throw f;
      clock.advance(up[i] ?? 0);
      const t1 = clock.nowMs() + offsetMs;
      clock.advance(1);
      const t2 = clock.nowMs() + offsetMs;
      clock.advance(down[i] ?? 0);
      return { t0, t1, t2 };
    },
  };
  return api;
}

describe('syncClock', () => {
  it('takes four samples and keeps the one with the shortest round trip', async () => {
    const clock = new ManualClock(T0);
    // Sample 2 is symmetric and fast: its offset is exact. The others are slow and lopsided.
    const api = simulatedServer(clock, 7_000, [400, 300, 5, 50], [20, 500, 5, 400]);
    const r = await syncClock(api, clock);
    expect(api.calls).toBe(4);
    expect(r.answered).toBe(4);
    expect(r.sample).toEqual({ offsetMs: 7_000, roundTripMs: 10, uncertaintyMs: 5 });
    expect(r.syncedAtMs).toBe(clock.nowMs());
  });

  it('skips exchanges that fail and uses the ones that answered', async () => {
    const clock = new ManualClock(T0);
    const down = new WalletNetworkError('NETWORK_TIMEOUT', { timeoutMs: 100 });
    const api = simulatedServer(clock, -3_000, [10, 10, 10, 10], [10, 10, 10, 10], [down, undefined, down, undefined]);
    const r = await syncClock(api, clock);
    expect(r.answered).toBe(2);
    expect(r.sample.offsetMs).toBe(-3_000);
  });

  it('throws the last error when no exchange answers', async () => {
    const clock = new ManualClock(T0);
    const e = new WalletNetworkError('NETWORK_UNREACHABLE', { cause: 'ECONNREFUSED' });
    await expect(syncClock(simulatedServer(clock, 0, [], [], [e, e, e, e]), clock)).rejects.toBe(e);
  });

  it('refuses an answer that does not echo our t0', async () => {
    const clock = new ManualClock(T0);
    const api: TimeApi = { time: async (t0) => ({ t0: t0 - 1, t1: t0, t2: t0 }) };
    await expect(syncClock(api, clock, { samples: 1 })).rejects.toBeInstanceOf(WalletProtocolError);
  });

  it('measures the round trip on the monotonic clock, so a wall-clock jump mid-exchange does not distort it', async () => {
    const clock = new ManualClock(T0);
    const api: TimeApi = {
      async time(t0) {
        clock.advance(10);
        const t = clock.nowMs() + 2_000;
        clock.setWall(clock.nowMs() + 3_600_000); // the OS sets the clock an hour ahead
        clock.advance(10);
        return { t0, t1: t, t2: t };
      },
    };
    const r = await syncClock(api, clock, { samples: 1 });
    expect(r.sample).toEqual({ offsetMs: 2_000, roundTripMs: 20, uncertaintyMs: 10 });
  });
});
