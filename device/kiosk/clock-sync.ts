// SPDX-License-Identifier: Apache-2.0
// NTP-style sync of the kiosk's trusted clock with the server, over the uplink's `time` request.
// Four exchanges, the one with the shortest round trip wins (shared/time-sync.ts). t0 and t3 are
// MONOTONIC readings (a wall-clock step during the exchange cannot skew the sample); the server's
// t1 and t2 are its wall clock. The trusted clock keeps a sample only if it is at least as tight as
// what it already has (domain/offline/trusted-clock.ts).
import type { Clock } from '../../shared/clock.ts';
import { bestSample, timeSample, type TimeSample } from '../../shared/time-sync.ts';
import type { TrustedClock } from '../domain/offline/trusted-clock.ts';
import type { Uplink } from '../uplink/uplink.ts';

export const CLOCK_SYNC_SAMPLES = 4;

export type ClockSyncResult =
  | { ok: true; sample: TimeSample; taken: boolean }
  | { ok: false; reason: string };

/** Measures up to `samples` exchanges and offers the best to the trusted clock. Never throws. */
export async function syncClock(
  uplink: Pick<Uplink, 'request'>, trusted: TrustedClock, clock: Clock, nextId: () => string, samples = CLOCK_SYNC_SAMPLES,
): Promise<ClockSyncResult> {
  const taken: TimeSample[] = [];
  let failure = 'no answer';
  for (let i = 0; i < samples; i++) {
    const t0 = clock.monotonicMs();
    try {
      const reply = await uplink.request({ v: 1, type: 'time', id: nextId(), t0 });
      const t3 = clock.monotonicMs();
      if (reply.type === 'error') {
        failure = `server error ${reply.code}`;
        continue;
      }
      taken.push(timeSample(t0, reply.t1, reply.t2, t3));
    } catch (e) {
      failure = (e as Error).message;
      break;
    }
  }
  const best = bestSample(taken);
  if (!best) return { ok: false, reason: failure };
  return { ok: true, sample: best, taken: trusted.sync(best, clock.monotonicMs(), clock.nowMs()) };
}
