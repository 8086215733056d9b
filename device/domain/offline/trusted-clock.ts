// SPDX-License-Identifier: Apache-2.0
// How much the kiosk trusts its own idea of server time (docs/protocol.md section 6,
// "Clocks"). A Raspberry Pi 4 has no battery clock (a Pi 5 has one only with a battery fitted) and its wall clock can be set backwards or forwards
// at any moment (fake-hwclock at boot, an operator, a late NTP step), so nothing here reads the wall
// clock after a sync: server time is carried forward on the MONOTONIC clock from the last sync.
//
//   estimate    = serverTimeAtSync + (monotonicNow - monotonicAtSync)
//   uncertainty = ceil(roundTrip / 2 + driftPpm * 1e-6 * (monotonicNow - monotonicAtSync))
//
// The true server time lies in [estimate - uncertainty, estimate + uncertainty] as long as the
// crystal drifts less than driftPpm (a Pi's crystal is rated +-50 ppm at 25 C; 100 ppm leaves room
// for heat and age). Pure logic: every reading of a clock is a parameter.
//
// After a reboot without a sync there are two more ways to know the time (README.md, "Clock policy"):
//   rtc   the system clock was set at boot from a battery-backed RTC: its wall time is taken, never
//         earlier than the persisted lower bound, with an uncertainty that grows by a drift
//         allowance per hour since the last server sync (trusted, source 'rtc')
//   none  no RTC: untrusted; only the persisted lower bound, carried on the monotonic clock, is
//         known (earliestMs), and how long the kiosk has run since boot (untrustedForMs)
import { z } from 'zod';
import { assert } from '../../../shared/assert.ts';
import type { TimeSample } from '../../../shared/time-sync.ts';

/** Default crystal drift allowance, parts per million: about 8.6 s of uncertainty per day offline. */
export const CLOCK_DRIFT_PPM_DEFAULT = 100;
/** Default RTC drift allowance per hour since the last server sync (README.md, "Clock policy"). */
export const RTC_DRIFT_MS_PER_HOUR_DEFAULT = 1_000;
/** An RTC counts whole seconds and the kernel copies it whole (hctosys): up to 1 s lost at boot. */
export const RTC_RESOLUTION_MS = 1_000;
const HOUR_MS = 3_600_000;

/** Where the kiosk's idea of server time comes from. */
export type ClockSource = 'server' | 'rtc' | 'none';

/** What the kiosk believes server time is, and how far off that belief may be. */
export interface TrustedTime {
  /** Best estimate of server time, Unix ms. Always finite (also when untrusted: then a hint only). */
  readonly estimateMs: number;
  /** Half-width of the interval around estimateMs that holds server time; Infinity when untrusted. */
  readonly uncertaintyMs: number;
  /** True after a server sync in the current monotonic epoch (boot), or from a trusted RTC. */
  readonly trusted: boolean;
  /** Absent: 'server' when trusted, 'none' when not. */
  readonly source?: ClockSource;
  /** A time server time is surely past (the persisted bound carried forward); absent or null when unknown. */
  readonly earliestMs?: number | null;
  /** Untrusted only: how long this boot has run without a trusted time, by the monotonic clock. */
  readonly untrustedForMs?: number;
}

/** Trust the system clock as set from a battery-backed RTC at boot (config offline.clock). */
export interface RtcTrust {
  driftAllowanceMsPerHour: number;
  /** The RTC is not used when its uncertainty at boot is already above this (clockUncertaintyMaxMs). */
  uncertaintyMaxMs: number;
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
  /** Set when a battery-backed RTC set the system clock at this boot; consulted only after a reboot. */
  rtc?: RtcTrust | undefined;
}

/** The last sync, anchored on the monotonic clock. */
export interface ClockSync {
  /** Server time at the moment the answer arrived (t3 + offset), Unix ms. */
  serverTimeMs: number;
  /** The kiosk's monotonic clock when the answer arrived (t3). */
  monotonicMs: number;
  roundTripMs: number;
  /** Server time minus the kiosk's wall clock at the sync; null when not measured. An RTC carries this error. */
  wallOffsetMs: number | null;
}

/** JSON-safe state for persistence (write it every minute or so, and at shutdown). */
export interface TrustedClockState {
  v: 1;
  driftPpm: number;
  monotonicEpoch: string | null;
  sync: ClockSync | null;
  /** The last server sync of any boot (what an RTC's uncertainty is counted from). */
  lastSync: ClockSync | null;
  /** A time server time is known to be past, Unix ms; null when nothing is known. */
  lowerBoundMs: number | null;
}

const syncSchema = z.strictObject({
  serverTimeMs: z.number().finite(),
  monotonicMs: z.number().finite(),
  roundTripMs: z.number().finite().min(0),
  wallOffsetMs: z.number().finite().nullable().default(null),
});
const stateSchema = z.strictObject({
  v: z.literal(1),
  driftPpm: z.number().finite().min(0),
  monotonicEpoch: z.string().nullable(),
  sync: syncSchema.nullable(),
  lastSync: syncSchema.nullable().default(null),
  lowerBoundMs: z.number().finite().nullable(),
});

/** Without a sync: the time since boot is counted from the better of the persisted bound and the wall clock. */
interface Unsynced {
  lowerBoundMs: number | null;
  /** max(lowerBoundMs, wall clock) at boot: a display hint, never trusted (unless an RTC set the wall clock). */
  hintMs: number;
  monotonicMs: number;
}

/** The RTC's reading at boot, taken as server time within a growing uncertainty. */
interface RtcAnchor {
  /** Uncertainty at the last sync's moment: RTC resolution, half its round trip, the wall clock's offset then. */
  baseMs: number;
  lastSyncServerMs: number;
  msPerHour: number;
}

export class TrustedClock {
  readonly #driftPpm: number;
  readonly #epoch: string | undefined;
  #sync: ClockSync | null;
  #lastSync: ClockSync | null;
  #unsynced: Unsynced;
  #rtc: RtcAnchor | null = null;

  private constructor(o: TrustedClockOptions, sync: ClockSync | null, unsynced: Unsynced, lastSync: ClockSync | null = sync) {
    const driftPpm = o.driftPpm ?? CLOCK_DRIFT_PPM_DEFAULT;
    assert(Number.isFinite(driftPpm) && driftPpm >= 0, 'driftPpm must be a finite non-negative number');
    this.#driftPpm = driftPpm;
    this.#epoch = o.monotonicEpoch;
    this.#sync = sync;
    this.#lastSync = lastSync;
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
   * After a reboot (or a restart in a new monotonic epoch) with no sync yet. With `o.rtc` and a
   * last sync whose wall-clock offset is known, and a wall clock not behind the persisted bound, the
   * wall clock is trusted (source 'rtc'). Otherwise UNTRUSTED, with an infinite uncertainty, until
   * the next sync: the estimate is max(persisted lower bound, wall clock at boot) carried on the
   * monotonic clock, shown for display and logs only, and the lower bound keeps growing with
   * monotonic time so re-persisting it never moves it backwards.
   */
  static afterReboot(
    persistedLowerBoundMs: number | null,
    wallNowMs: number,
    monotonicNowMs: number,
    o: TrustedClockOptions = {},
    lastSync: ClockSync | null = null,
  ): TrustedClock {
    assert(persistedLowerBoundMs === null || Number.isFinite(persistedLowerBoundMs), 'persistedLowerBoundMs must be finite or null');
    assert(Number.isFinite(wallNowMs) && Number.isFinite(monotonicNowMs), 'wallNowMs and monotonicNowMs must be finite');
    const hintMs = persistedLowerBoundMs === null ? wallNowMs : Math.max(persistedLowerBoundMs, wallNowMs);
    const clock = new TrustedClock(o, null, { lowerBoundMs: persistedLowerBoundMs, hintMs, monotonicMs: monotonicNowMs }, lastSync);
    const rtc = o.rtc;
    // An RTC behind a time already passed has lost time (a flat battery): it is not trusted.
    if (
      rtc !== undefined &&
      lastSync !== null &&
      lastSync.wallOffsetMs !== null &&
      (persistedLowerBoundMs === null || wallNowMs >= persistedLowerBoundMs)
    ) {
      assert(
        Number.isFinite(rtc.driftAllowanceMsPerHour) && rtc.driftAllowanceMsPerHour >= 0,
        'driftAllowanceMsPerHour must be a finite non-negative number',
      );
      clock.#rtc = {
        baseMs: RTC_RESOLUTION_MS + Math.ceil(lastSync.roundTripMs / 2) + Math.abs(lastSync.wallOffsetMs),
        lastSyncServerMs: lastSync.serverTimeMs,
        msPerHour: rtc.driftAllowanceMsPerHour,
      };
      if (!(clock.now(monotonicNowMs).uncertaintyMs <= rtc.uncertaintyMaxMs)) clock.#rtc = null;
    }
    return clock;
  }

  /**
   * Rebuilds a clock from saved state. The sync survives only when the saved and current monotonic
   * epochs are both known and equal (a process restart within one boot, with a boot-relative
   * monotonic clock); otherwise this is afterReboot with the saved lower bound and last sync.
   * Unreadable state (a torn or foreign file) is an operating condition, not a crash: it counts as
   * no state.
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
    const lastSync = s.lastSync ?? s.sync;
    return TrustedClock.afterReboot(s.lowerBoundMs, wallNowMs, monotonicNowMs, options, lastSync === null ? null : { ...lastSync });
  }

  /**
   * Offers a new sample (monotonic-based, as for fromSync). It replaces the current sync when it is
   * at least as tight as the current one has become (rtt/2 <= current uncertainty), so one slow
   * exchange never loosens a good sync. wallNowMs, the wall clock at t3, records how far the wall
   * clock (and so an RTC set from it) is from server time. Returns whether it was taken.
   */
  sync(sample: TimeSample, monotonicNowMs: number, wallNowMs?: number): boolean {
    assert(
      Number.isFinite(sample.offsetMs) && Number.isFinite(sample.roundTripMs) && sample.roundTripMs >= 0,
      'time sample must be finite with a non-negative round trip',
    );
    assert(Number.isFinite(monotonicNowMs), 'monotonicNowMs must be finite');
    const serverTimeMs = monotonicNowMs + sample.offsetMs;
    const wallOffsetMs = wallNowMs !== undefined && Number.isFinite(wallNowMs) ? Math.round(serverTimeMs - wallNowMs) : null;
    const candidate: ClockSync = { serverTimeMs, monotonicMs: monotonicNowMs, roundTripMs: sample.roundTripMs, wallOffsetMs };
    if (this.#sync !== null && this.#readSync(this.#sync, monotonicNowMs).uncertaintyMs < Math.ceil(sample.roundTripMs / 2)) return false;
    this.#sync = candidate;
    this.#lastSync = candidate;
    this.#rtc = null;
    return true;
  }

  now(monotonicNowMs: number): TrustedTime {
    assert(Number.isFinite(monotonicNowMs), 'monotonicNowMs must be finite');
    if (this.#sync !== null) return this.#readSync(this.#sync, monotonicNowMs);
    const u = this.#unsynced;
    const elapsedMs = Math.max(0, monotonicNowMs - u.monotonicMs);
    const estimateMs = u.hintMs + elapsedMs;
    const r = this.#rtc;
    if (r !== null) {
      const hoursSinceSync = Math.max(0, estimateMs - r.lastSyncServerMs) / HOUR_MS;
      const uncertaintyMs = Math.ceil(r.baseMs + r.msPerHour * hoursSinceSync + this.#driftPpm * 1e-6 * elapsedMs);
      const bound = this.#carriedBound(monotonicNowMs);
      return {
        estimateMs,
        uncertaintyMs,
        trusted: true,
        source: 'rtc',
        earliestMs: bound === null ? estimateMs - uncertaintyMs : Math.max(bound, estimateMs - uncertaintyMs),
      };
    }
    return {
      estimateMs,
      uncertaintyMs: Infinity,
      trusted: false,
      source: 'none',
      earliestMs: this.#carriedBound(monotonicNowMs),
      untrustedForMs: elapsedMs,
    };
  }

  /** A time that server time is surely past: what to persist for the next boot. Null when unknown. */
  lowerBoundMs(monotonicNowMs: number): number | null {
    // The server is the reference: after a sync its time replaces whatever was persisted before.
    if (this.#sync !== null) {
      const t = this.#readSync(this.#sync, monotonicNowMs);
      if (t.trusted) return t.estimateMs - t.uncertaintyMs;
    }
    return this.now(monotonicNowMs).earliestMs ?? null;
  }

  toState(monotonicNowMs: number): TrustedClockState {
    return {
      v: 1,
      driftPpm: this.#driftPpm,
      monotonicEpoch: this.#epoch ?? null,
      sync: this.#sync === null ? null : { ...this.#sync },
      lastSync: this.#lastSync === null ? null : { ...this.#lastSync },
      lowerBoundMs: this.lowerBoundMs(monotonicNowMs),
    };
  }

  /** The persisted bound carried forward: monotonic time since boot, shortened by the drift allowance, only adds real time. */
  #carriedBound(monotonicNowMs: number): number | null {
    const u = this.#unsynced;
    if (u.lowerBoundMs === null) return null;
    const elapsedMs = Math.max(0, monotonicNowMs - u.monotonicMs);
    return u.lowerBoundMs + Math.floor(elapsedMs * (1 - this.#driftPpm * 1e-6));
  }

  #readSync(s: ClockSync, monotonicNowMs: number): TrustedTime {
    const elapsedMs = monotonicNowMs - s.monotonicMs;
    // Monotonic time running backwards means the reading is from another epoch: fail closed.
    if (elapsedMs < 0)
      return { estimateMs: s.serverTimeMs, uncertaintyMs: Infinity, trusted: false, source: 'none', earliestMs: null, untrustedForMs: 0 };
    const uncertaintyMs = Math.ceil(s.roundTripMs / 2 + this.#driftPpm * 1e-6 * elapsedMs);
    const estimateMs = Math.round(s.serverTimeMs + elapsedMs);
    return { estimateMs, uncertaintyMs, trusted: true, source: 'server', earliestMs: estimateMs - uncertaintyMs };
  }
}
