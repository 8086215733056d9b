// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/clock.ts';
import { timeSample } from '../../../shared/time-sync.ts';
import { TrustedClock } from './trusted-clock.ts';

const SERVER_MS = 1_800_000_000_000;
const HOUR_MS = 3_600_000;

/** A sync exchange measured on the kiosk's monotonic clock: sent at t0, answered rttMs later. */
function exchange(t0Mono: number, rttMs: number, serverAtArrivalMs: number) {
  const t3 = t0Mono + rttMs;
  const t1 = serverAtArrivalMs - rttMs / 2;
  return { sample: timeSample(t0Mono, t1, t1, t3), t3 };
}

describe('trusted clock', () => {
  it('after a sync estimates server time from monotonic time, with half the round trip as uncertainty', () => {
    const { sample, t3 } = exchange(1_000, 40, SERVER_MS);
    const clock = TrustedClock.fromSync(sample, t3);
    expect(clock.now(t3)).toEqual({
      estimateMs: SERVER_MS,
      uncertaintyMs: 20,
      trusted: true,
      source: 'server',
      earliestMs: SERVER_MS - 20,
    });
    expect(clock.now(t3 + 5_000).estimateMs).toBe(SERVER_MS + 5_000);
  });

  it('grows the uncertainty with the drift allowance: 100 ppm is 8.64 s per day', () => {
    const { sample, t3 } = exchange(0, 40, SERVER_MS);
    const clock = TrustedClock.fromSync(sample, t3);
    expect(clock.now(t3 + 24 * HOUR_MS).uncertaintyMs).toBe(20 + 8_640);
    const tight = TrustedClock.fromSync(sample, t3, { driftPpm: 10 });
    expect(tight.now(t3 + 24 * HOUR_MS).uncertaintyMs).toBe(20 + 864);
  });

  it('is not fooled when the wall clock is set backwards or forwards: only monotonic time counts', () => {
    const machine = new ManualClock(SERVER_MS - 3_000); // wall clock 3 s behind the server
    const t0 = machine.monotonicMs();
    machine.advance(30);
    const t1 = SERVER_MS - 15;
    const clock = TrustedClock.fromSync(timeSample(t0, t1, t1, machine.monotonicMs()), machine.monotonicMs());
    machine.advance(10_000);
    const before = clock.now(machine.monotonicMs());
    machine.setWall(0); // set back to 1970
    expect(clock.now(machine.monotonicMs())).toEqual(before);
    machine.setWall(SERVER_MS + 365 * 24 * HOUR_MS); // a year ahead
    expect(clock.now(machine.monotonicMs())).toEqual(before);
    expect(before.estimateMs).toBe(SERVER_MS + 10_000);
  });

  it('fails closed if monotonic time runs backwards (a reading from another epoch)', () => {
    const { sample, t3 } = exchange(10_000, 20, SERVER_MS);
    const t = TrustedClock.fromSync(sample, t3).now(t3 - 1);
    expect(t.trusted).toBe(false);
    expect(t.uncertaintyMs).toBe(Infinity);
  });

  it('keeps a tight sync when a later sample is looser, and takes a tighter one', () => {
    const first = exchange(0, 20, SERVER_MS);
    const clock = TrustedClock.fromSync(first.sample, first.t3);
    const loose = exchange(60_000, 2_000, SERVER_MS + 60_000 + 500);
    expect(clock.sync(loose.sample, loose.t3)).toBe(false);
    expect(clock.now(loose.t3).estimateMs).toBe(SERVER_MS + 61_980);
    const tight = exchange(70_000, 10, SERVER_MS + 70_100);
    expect(clock.sync(tight.sample, tight.t3)).toBe(true);
    expect(clock.now(tight.t3)).toMatchObject({ estimateMs: SERVER_MS + 70_100, uncertaintyMs: 5, trusted: true });
  });

  it('takes a looser sample once drift has made the old sync looser still', () => {
    const first = exchange(0, 20, SERVER_MS);
    const clock = TrustedClock.fromSync(first.sample, first.t3);
    const later = exchange(24 * HOUR_MS, 2_000, SERVER_MS + 24 * HOUR_MS);
    expect(clock.sync(later.sample, later.t3)).toBe(true);
    expect(clock.now(later.t3).uncertaintyMs).toBe(1_000);
  });

  it('after a reboot is untrusted with infinite uncertainty until the next sync', () => {
    const clock = TrustedClock.afterReboot(SERVER_MS, 0, 5);
    expect(clock.now(5)).toEqual({
      estimateMs: SERVER_MS,
      uncertaintyMs: Infinity,
      trusted: false,
      source: 'none',
      earliestMs: SERVER_MS,
      untrustedForMs: 0,
    });
    const { sample, t3 } = exchange(1_000, 30, SERVER_MS + 60_000);
    expect(clock.sync(sample, t3)).toBe(true);
    expect(clock.now(t3)).toMatchObject({ estimateMs: SERVER_MS + 60_000, uncertaintyMs: 15, trusted: true, source: 'server' });
  });

  it('after a reboot uses the wall clock as a hint only when it is past the persisted lower bound', () => {
    expect(TrustedClock.afterReboot(SERVER_MS, SERVER_MS + 9_000, 0).now(1_000).estimateMs).toBe(SERVER_MS + 10_000);
    expect(TrustedClock.afterReboot(SERVER_MS, 86_400_000, 0).now(1_000).estimateMs).toBe(SERVER_MS + 1_000);
    expect(TrustedClock.afterReboot(null, 86_400_000, 0).now(0)).toEqual({
      estimateMs: 86_400_000,
      uncertaintyMs: Infinity,
      trusted: false,
      source: 'none',
      earliestMs: null,
      untrustedForMs: 0,
    });
  });

  it('persists a lower bound that never moves backwards across reboots, whatever the wall clock says', () => {
    const { sample, t3 } = exchange(0, 40, SERVER_MS);
    const clock = TrustedClock.fromSync(sample, t3);
    const bound = clock.lowerBoundMs(t3 + HOUR_MS)!;
    expect(bound).toBe(SERVER_MS + HOUR_MS - 20 - 360);
    const rebooted = TrustedClock.afterReboot(bound, 0, 0); // wall clock reset to 1970
    expect(rebooted.lowerBoundMs(0)).toBe(bound);
    expect(rebooted.lowerBoundMs(HOUR_MS)).toBe(bound + HOUR_MS - 360);
    expect(TrustedClock.afterReboot(null, 0, 0).lowerBoundMs(HOUR_MS)).toBeNull();
  });

  it('restores a saved sync only within the same monotonic epoch', () => {
    const { sample, t3 } = exchange(0, 40, SERVER_MS);
    const clock = TrustedClock.fromSync(sample, t3, { monotonicEpoch: 'boot-a' });
    const state = JSON.parse(JSON.stringify(clock.toState(t3 + 1_000))) as unknown;
    const same = TrustedClock.restore(state, 0, t3 + 2_000, { monotonicEpoch: 'boot-a' });
    expect(same.now(t3 + 2_000)).toEqual(clock.now(t3 + 2_000));
    // Across epochs only the lower bound survives: 1 s after sync minus 20 ms (rtt/2) and 0.1 ms drift, rounded up.
    const rebooted = TrustedClock.restore(state, 0, 50, { monotonicEpoch: 'boot-b' });
    expect(rebooted.now(50)).toMatchObject({
      estimateMs: SERVER_MS + 1_000 - 21,
      uncertaintyMs: Infinity,
      trusted: false,
      earliestMs: SERVER_MS + 1_000 - 21,
    });
    const noEpoch = TrustedClock.restore(state, 0, t3 + 2_000);
    expect(noEpoch.now(t3 + 2_000).trusted).toBe(false);
  });

  it('treats unreadable saved state as no state', () => {
    for (const junk of [null, 'x', { v: 2 }, { v: 1, driftPpm: -1, monotonicEpoch: null, sync: null, lowerBoundMs: null }]) {
      const clock = TrustedClock.restore(junk, 123, 0);
      expect(clock.now(0)).toMatchObject({ estimateMs: 123, uncertaintyMs: Infinity, trusted: false, earliestMs: null });
      expect(clock.lowerBoundMs(0)).toBeNull();
    }
  });

  it('trusts an RTC-set wall clock after a reboot, with an uncertainty that grows per hour since the last sync', () => {
    const machine = new ManualClock(SERVER_MS - 200); // the wall clock runs 200 ms behind the server
    const t0 = machine.monotonicMs();
    machine.advance(40);
    const synced = TrustedClock.fromSync(timeSample(t0, SERVER_MS + 20, SERVER_MS + 20, machine.monotonicMs()), machine.monotonicMs(), {
      monotonicEpoch: 'a',
    });
    synced.sync(timeSample(t0, SERVER_MS + 20, SERVER_MS + 20, machine.monotonicMs()), machine.monotonicMs(), machine.nowMs());
    const state = JSON.parse(JSON.stringify(synced.toState(machine.monotonicMs()))) as unknown;
    const rtc = { driftAllowanceMsPerHour: 1_000, uncertaintyMaxMs: 60_000 };
    // Power is off for 10 hours; the RTC kept the wall clock (still 200 ms behind). New boot, monotonic from 0.
    const wallAtBoot = SERVER_MS + 40 + 10 * HOUR_MS - 200;
    const clock = TrustedClock.restore(state, wallAtBoot, 0, { monotonicEpoch: 'b', rtc });
    const t = clock.now(0);
    expect(t).toMatchObject({ estimateMs: wallAtBoot, trusted: true, source: 'rtc' });
    // 1 s of RTC resolution + 20 ms (half the round trip) + 200 ms (the wall clock's offset) + 10 h x 1 s.
    expect(t.uncertaintyMs).toBe(1_000 + 20 + 200 + 10_000);
    expect(t.estimateMs - t.uncertaintyMs).toBeLessThanOrEqual(SERVER_MS + 40 + 10 * HOUR_MS);
    expect(t.estimateMs + t.uncertaintyMs).toBeGreaterThanOrEqual(SERVER_MS + 40 + 10 * HOUR_MS);
    // Another hour: one more second, plus the crystal's 100 ppm (0.36 s).
    expect(clock.now(HOUR_MS).uncertaintyMs).toBe(1_000 + 20 + 200 + 11_000 + 360);
    expect(clock.lowerBoundMs(0)).toBe(t.earliestMs);
    // Without the RTC setting the same reboot is untrusted.
    expect(TrustedClock.restore(state, wallAtBoot, 0, { monotonicEpoch: 'b' }).now(0).trusted).toBe(false);
  });

  it('refuses an RTC that is behind the persisted bound, one never compared with the server, or one already too uncertain', () => {
    const { sample, t3 } = exchange(0, 40, SERVER_MS);
    const clock = TrustedClock.fromSync(sample, t3, { monotonicEpoch: 'a' });
    clock.sync(sample, t3, SERVER_MS);
    const state = JSON.parse(JSON.stringify(clock.toState(t3 + HOUR_MS))) as { lowerBoundMs: number };
    const rtc = { driftAllowanceMsPerHour: 1_000, uncertaintyMaxMs: 60_000 };
    // A flat battery: the RTC restarted from 1970, behind a time already passed.
    const flat = TrustedClock.restore(state, 0, 0, { monotonicEpoch: 'b', rtc }).now(0);
    expect(flat).toMatchObject({ trusted: false, source: 'none', earliestMs: state.lowerBoundMs });
    // State written before the wall clock's offset was measured: nothing to judge the RTC by.
    const old = { ...(state as object), sync: null, lastSync: { serverTimeMs: SERVER_MS, monotonicMs: t3, roundTripMs: 40 } };
    expect(TrustedClock.restore(old, SERVER_MS + 2 * HOUR_MS, 0, { monotonicEpoch: 'b', rtc }).now(0).trusted).toBe(false);
    // 70 hours since the last sync at 1 s/h: past the 60 s the policy allows, so not used at all.
    expect(TrustedClock.restore(state, SERVER_MS + 70 * HOUR_MS, 0, { monotonicEpoch: 'b', rtc }).now(0).trusted).toBe(false);
    expect(TrustedClock.restore(state, SERVER_MS + 50 * HOUR_MS, 0, { monotonicEpoch: 'b', rtc }).now(0).trusted).toBe(true);
  });

  it('keeps the last sync across reboots without one, so a second power cut still finds the RTC usable', () => {
    const { sample, t3 } = exchange(0, 40, SERVER_MS);
    const clock = TrustedClock.fromSync(sample, t3, { monotonicEpoch: 'a' });
    clock.sync(sample, t3, SERVER_MS);
    const first = TrustedClock.restore(JSON.parse(JSON.stringify(clock.toState(t3))), SERVER_MS + HOUR_MS, 0, { monotonicEpoch: 'b' });
    const second = TrustedClock.restore(JSON.parse(JSON.stringify(first.toState(1_000))), SERVER_MS + 2 * HOUR_MS, 0, {
      monotonicEpoch: 'c',
      rtc: { driftAllowanceMsPerHour: 1_000, uncertaintyMaxMs: 60_000 },
    });
    expect(second.now(0)).toMatchObject({ trusted: true, source: 'rtc', estimateMs: SERVER_MS + 2 * HOUR_MS });
  });

  it('rejects nonsense as programmer errors', () => {
    const { sample, t3 } = exchange(0, 40, SERVER_MS);
    expect(() => TrustedClock.fromSync(sample, t3, { driftPpm: -1 })).toThrow(/driftPpm/);
    expect(() => TrustedClock.fromSync({ ...sample, roundTripMs: -1 }, t3)).toThrow(/round trip/);
    expect(() => TrustedClock.fromSync(sample, NaN)).toThrow(/finite/);
  });
});
