// SPDX-License-Identifier: Apache-2.0
// How much the kiosk trusts its own idea of server time (docs/protocol.md section 6; flows.md
// "Clocks"). A Raspberry Pi has no battery clock and its wall clock can be set backwards or forwards
// at any moment (fake-hwclock at boot, an operator, a late NTP step), so nothing here reads the wall
// clock after a sync: server time is carried forward on the MONOTONIC clock from the last sync.
//
//   estimate    = serverTimeAtSync + (monotonicNow - monotonicAtSync)
//   uncertainty = ceil(roundTrip / 2 + driftPpm * 1e-6 * (monotonicNow - monotonicAtSync))
//
// The true server time lies in [estimate - uncertainty, estimate + uncertainty] as long as the
// crystal drifts less than driftPpm (a Pi's crystal is rated +-50 ppm at 25 C; 100 ppm leaves room
// for heat and age). Pure logic: every reading of a clock is a parameter.
import { z } from 'zod';
import { assert } from '../../../shared/assert.ts';
import type { TimeSample } from '../../../shared/time-sync.ts';

/** Default crystal drift allowance, parts per million: about 8.6 s of uncertainty per day offline. */
export const CLOCK_DRIFT_PPM_DEFAULT = 100;

/** What the kiosk believes server time is, and how far off that belief may be. */
export interface TrustedTime {
  /** Best estimate of server time, Unix ms. Always finite (also when untrusted: then a hint only). */
  readonly estimateMs: number;
  /** Half-width of the interval around estimateMs that holds server time; Infinity when untrusted. */
  readonly uncertaintyMs: number;
  /** True only after a server sync in the current monotonic epoch (boot). */
  readonly trusted: boolean;
}

export interface TrustedClockOptions {
  driftPpm?: number;
  /**
   * Names the origin of the monotonic clock, e.g. the Linux boot id when monotonic time is
   * CLOCK_MONOTONIC (process.hrtime). Saved state keeps its sync only when restored in the same
   * epoch. Leave it undefined when the monotonic origin is the process start (performance.now()):
   * then every restore counts as a reboot.
   */
  monotonicEpoch?: string;
}

/** The last sync, anchored on the monotonic clock. */
export interface ClockSync {
  /** Server time at the moment the answer arrived (t3 + offset), Unix ms. */
  serverTimeMs: number;
  /** The kiosk's monotonic clock when the answer arrived (t3). */
  monotonicMs: number;
  roundTripMs: number;
}

/** JSON-safe state for persistence (write it every minute or so, and at shutdown). */
export interface TrustedClockState {
  v: 1;
  driftPpm: number;
  monotonicEpoch: string | null;
  sync: ClockSync | null;
  /** A time server time is known to be past, Unix ms; null when nothing is known. */
  lowerBoundMs: number | null;
}

const stateSchema = z.strictObject({
  v: z.literal(1),
  driftPpm: z.number().finite().min(0),
  monotonicEpoch: z.string().nullable(),
  sync: z.strictObject({ serverTimeMs: z.number().finite(), monotonicMs: z.number().finite(), roundTripMs: z.number().finite().min(0) }).nullable(),
  lowerBoundMs: z.number().finite().nullable(),
});

/** Without a sync: the time since boot is counted from the better of the persisted bound and the wall clock. */
interface Unsynced {
  lowerBoundMs: number | null;
  /** max(lowerBoundMs, wall clock) at boot: a display hint, never trusted. */
  hintMs: number;
  monotonicMs: number;
}

export class TrustedClock {
  readonly #driftPpm: number;
  readonly #epoch: string | undefined;
  #sync: ClockSync | null;
  #unsynced: Unsynced;

  private constructor(o: TrustedClockOptions, sync: ClockSync | null, unsynced: Unsynced) {
    const driftPpm = o.driftPpm ?? CLOCK_DRIFT_PPM_DEFAULT;
    assert(Number.isFinite(driftPpm) && driftPpm >= 0, 'driftPpm must be a finite non-negative number');
    this.#driftPpm = driftPpm;
    this.#epoch = o.monotonicEpoch;
    this.#sync = sync;
    this.#unsynced = unsynced;
  }

  /**
   * A clock trusted from one sync. The sample MUST be computed from monotonic readings: t0 and t3
   * are the kiosk's monotonic clock (timeSample(t0Mono, t1, t2, t3Mono)), so that the offset maps
   * monotonic time to server time and a wall-clock jump during the exchange cannot skew it.
   * monotonicNowMs is t3, when the answer arrived.
   */
  static fromSync(sample: TimeSample, monotonicNowMs: number, o: TrustedClockOptions = {}): TrustedClock {
    const clock = new TrustedClock(o, null, { lowerBoundMs: null, hintMs: 0, monotonicMs: monotonicNowMs });
    clock.sync(sample, monotonicNowMs);
    return clock;
  }

  /**
   * After a reboot (or a restart in a new monotonic epoch) with no sync yet: UNTRUSTED, with an
   * infinite uncertainty, until the next sync. Policy: the estimate is max(persisted lower bound,
   * wall clock at boot) carried on the monotonic clock, shown for display and logs only; the lower
   * bound keeps growing with monotonic time so re-persisting it never moves it backwards.
   */
  static afterReboot(persistedLowerBoundMs: number | null, wallNowMs: number, monotonicNowMs: number, o: TrustedClockOptions = {}): TrustedClock {
    assert(persistedLowerBoundMs === null || Number.isFinite(persistedLowerBoundMs), 'persistedLowerBoundMs must be finite or null');
    assert(Number.isFinite(wallNowMs) && Number.isFinite(monotonicNowMs), 'wallNowMs and monotonicNowMs must be finite');
    const hintMs = persistedLowerBoundMs === null ? wallNowMs : Math.max(persistedLowerBoundMs, wallNowMs);
    return new TrustedClock(o, null, { lowerBoundMs: persistedLowerBoundMs, hintMs, monotonicMs: monotonicNowMs });
  }

  /**
   * Rebuilds a clock from saved state. The sync survives only when the saved and current monotonic
   * epochs are both known and equal (a process restart within one boot, with a boot-relative
   * monotonic clock); otherwise this is afterReboot with the saved lower bound. Unreadable state
   * (a torn or foreign file) is an operating condition, not a crash: it counts as no state.
   */
  static restore(state: unknown, wallNowMs: number, monotonicNowMs: number, o: TrustedClockOptions = {}): TrustedClock {
    const parsed = stateSchema.safeParse(state);
    if (!parsed.success) return TrustedClock.afterReboot(null, wallNowMs, monotonicNowMs, o);
    const s = parsed.data;
    const options = { ...o, driftPpm: o.driftPpm ?? s.driftPpm };
    const sameEpoch = o.monotonicEpoch !== undefined && s.monotonicEpoch === o.monotonicEpoch;
    if (sameEpoch && s.sync !== null && monotonicNowMs >= s.sync.monotonicMs) {
      return new TrustedClock(options, { ...s.sync }, { lowerBoundMs: s.lowerBoundMs, hintMs: 0, monotonicMs: monotonicNowMs });
    }
    return TrustedClock.afterReboot(s.lowerBoundMs, wallNowMs, monotonicNowMs, options);
  }

  /**
   * Offers a new sample (monotonic-based, as for fromSync). It replaces the current sync when it is
   * at least as tight as the current one has become (rtt/2 <= current uncertainty), so one slow
   * exchange never loosens a good sync. Returns whether it was taken.
   */
  sync(sample: TimeSample, monotonicNowMs: number): boolean {
    assert(Number.isFinite(sample.offsetMs) && Number.isFinite(sample.roundTripMs) && sample.roundTripMs >= 0, 'time sample must be finite with a non-negative round trip');
    assert(Number.isFinite(monotonicNowMs), 'monotonicNowMs must be finite');
    const candidate: ClockSync = { serverTimeMs: monotonicNowMs + sample.offsetMs, monotonicMs: monotonicNowMs, roundTripMs: sample.roundTripMs };
    if (this.#sync !== null && this.#readSync(this.#sync, monotonicNowMs).uncertaintyMs < Math.ceil(sample.roundTripMs / 2)) return false;
    this.#sync = candidate;
    return true;
  }

  now(monotonicNowMs: number): TrustedTime {
    assert(Number.isFinite(monotonicNowMs), 'monotonicNowMs must be finite');
    if (this.#sync !== null) return this.#readSync(this.#sync, monotonicNowMs);
    const u = this.#unsynced;
    return { estimateMs: u.hintMs + Math.max(0, monotonicNowMs - u.monotonicMs), uncertaintyMs: Infinity, trusted: false };
  }

  /** A time that server time is surely past: what to persist for the next boot. Null when unknown. */
  lowerBoundMs(monotonicNowMs: number): number | null {
    const t = this.now(monotonicNowMs);
    // The server is the reference: after a sync its time replaces whatever was persisted before.
    if (t.trusted) return t.estimateMs - t.uncertaintyMs;
    const u = this.#unsynced;
    if (u.lowerBoundMs === null) return null;
    // Monotonic time since boot, shortened by the drift allowance, still only adds real time.
    const elapsedMs = Math.max(0, monotonicNowMs - u.monotonicMs);
    return u.lowerBoundMs + Math.floor(elapsedMs * (1 - this.#driftPpm * 1e-6));
  }

  toState(monotonicNowMs: number): TrustedClockState {
    return {
      v: 1,
      driftPpm: this.#driftPpm,
      monotonicEpoch: this.#epoch ?? null,
      sync: this.#sync === null ? null : { ...this.#sync },
      lowerBoundMs: this.lowerBoundMs(monotonicNowMs),
    };
  }

  #readSync(s: ClockSync, monotonicNowMs: number): TrustedTime {
    const elapsedMs = monotonicNowMs - s.monotonicMs;
    // Monotonic time running backwards means the reading is from another epoch: fail closed.
    if (elapsedMs < 0) return { estimateMs: s.serverTimeMs, uncertaintyMs: Infinity, trusted: false };
    const uncertaintyMs = Math.ceil(s.roundTripMs / 2 + this.#driftPpm * 1e-6 * elapsedMs);
    return { estimateMs: Math.round(s.serverTimeMs + elapsedMs), uncertaintyMs, trusted: true };
  }
}
