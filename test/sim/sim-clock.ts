// SPDX-License-Identifier: Apache-2.0
// A kiosk's own clocks on simulated time. True time is the server's clock. The kiosk's monotonic
// clock starts at 0 on every boot and runs at (1 + driftPpm / 1e6) times true speed (a crystal's
// error); its wall clock is true time plus an offset that jumps when it is set wrong (fake-hwclock
// at boot, an operator, a late NTP step). Integer milliseconds throughout, so every run replays.
import type { Clock } from '../../shared/clock.ts';

export class KioskClock implements Clock {
  /** True time and monotonic reading at the last change of rate. */
  #baseTrue: number;
  #baseMono = 0;
  #driftPpm = 0;
  #wallOffsetMs = 0;

  constructor(
    private readonly trueNow: () => number,
    driftPpm = 0,
  ) {
    this.#baseTrue = trueNow();
    this.#driftPpm = driftPpm;
  }

  get driftPpm(): number {
    return this.#driftPpm;
  }

  nowMs(): number {
    return this.trueNow() + this.#wallOffsetMs;
  }

  monotonicMs(): number {
    return this.monotonicAt(this.trueNow());
  }

  /** The monotonic reading at true time `t` (t >= the last rate change). */
  monotonicAt(t: number): number {
    return this.#baseMono + Math.floor(((t - this.#baseTrue) * (1_000_000 + this.#driftPpm)) / 1_000_000);
  }

  /** The first true time at which the monotonic clock reads at least `mono`. */
  trueTimeOf(mono: number): number {
    const now = this.trueNow();
    if (mono <= this.monotonicAt(now)) return now;
    let t = this.#baseTrue + Math.ceil(((mono - this.#baseMono) * 1_000_000) / (1_000_000 + this.#driftPpm));
    while (this.monotonicAt(t) < mono) t++;
    return Math.max(t, now);
  }

  /** Changes the crystal's error from now on. */
  setDrift(ppm: number): void {
    const now = this.trueNow();
    this.#baseMono = this.monotonicAt(now);
    this.#baseTrue = now;
    this.#driftPpm = ppm;
  }

  /** Steps the wall clock by `ms` (monotonic time does not move). */
  jumpWall(ms: number): void {
    this.#wallOffsetMs += ms;
  }

  get wallOffsetMs(): number {
    return this.#wallOffsetMs;
  }
}
