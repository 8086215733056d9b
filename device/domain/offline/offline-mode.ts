// SPDX-License-Identifier: Apache-2.0
// Which offline mode the kiosk is in, whatever code is shown, and the caps that bound it (README.md,
// "Offline modes"; docs/security.md). Two things set the mode:
//   the clock          server  synced this boot: full trust
//                      rtc     a battery-backed RTC set the wall clock: trusted, uncertainty grows per hour
//                      none    untrusted: only a persisted lower bound is known; the untrustedClock caps
//                              apply, for at most untrustedClock.durationMaxMs since boot
//   the list's age     fresh   up to revocationFreshAgeMs (the settlement loss line): full caps
//                      stale   up to staleRevocations.maxAgeMs: the staleRevocations caps
// Every cap that applies counts; the tightest wins. Pure: the caller passes the clock reading, the
// list's age and the outbox's totals.
import type { Money } from '../../../shared/money.ts';
import type { OfflineExposure, OfflinePolicy } from './offline-precheck.ts';
import type { KioskOfflineCause } from './offline-unavailable.ts';
import type { RevocationAge } from './revocation-cache.ts';
import type { ClockSource, TrustedTime } from './trusted-clock.ts';

export type OfflineMode =
  | {
      ok: true;
      clock: ClockSource;
      list: 'fresh' | 'stale';
      /** The caps in force: stored payments (including the next one) and their amount. */
      storedCountMax: number;
      storedAmountMax: number;
    }
  | { ok: false; cause: KioskOfflineCause };

const clockSource = (t: TrustedTime): ClockSource => t.source ?? (t.trusted ? 'server' : 'none');

/** Steps 4 and 5 of the pre-check, before the shopper's credential is looked at. */
export function offlineMode(time: TrustedTime, list: RevocationAge, policy: Readonly<OfflinePolicy>): OfflineMode {
  const clock = clockSource(time);
  const caps = [{ count: policy.storedCountMax, amount: policy.storedAmountMax.value }];
  if (time.trusted) {
    if (!Number.isFinite(time.uncertaintyMs) || !Number.isFinite(time.estimateMs)) return { ok: false, cause: 'CLOCK_UNTRUSTED' };
    if (!(time.uncertaintyMs <= policy.clockUncertaintyMaxMs)) return { ok: false, cause: 'CLOCK_TOO_UNCERTAIN' };
  } else {
    const u = policy.untrustedClock;
    if (time.earliestMs === undefined || time.earliestMs === null || !Number.isFinite(time.earliestMs) || u.storedCountMax === 0)
      return { ok: false, cause: 'CLOCK_UNTRUSTED' };
    if (!(time.untrustedForMs !== undefined && time.untrustedForMs <= u.durationMaxMs))
      return { ok: false, cause: 'CLOCK_UNTRUSTED_TOO_LONG' };
    caps.push({ count: u.storedCountMax, amount: u.storedAmountMax });
  }
  if (!list.ok) return { ok: false, cause: list.cause };
  const stale = !(list.ageMs <= policy.revocationFreshAgeMs);
  if (stale) {
    const s = policy.staleRevocations;
    if (!(list.ageMs <= Math.max(s.maxAgeMs, policy.revocationFreshAgeMs))) return { ok: false, cause: 'REVOCATIONS_STALE' };
    caps.push({ count: s.storedCountMax, amount: s.storedAmountMax });
  }
  return {
    ok: true,
    clock,
    list: stale ? 'stale' : 'fresh',
    storedCountMax: Math.min(...caps.map((c) => c.count)),
    storedAmountMax: Math.min(...caps.map((c) => c.amount)),
  };
}

/**
 * Step 8: the kiosk's own exposure. Time since the last uplink is judged at the late end of the
 * clock's interval; with an untrusted clock only its early end is known (the untrusted caps bound
 * the rest). A kiosk that never reached the server is treated as offline too long.
 */
export function exposureCause(
  mode: Extract<OfflineMode, { ok: true }>,
  e: OfflineExposure,
  amount: Money,
  time: TrustedTime,
  policy: Readonly<OfflinePolicy>,
): KioskOfflineCause | undefined {
  const latestMs = time.trusted ? time.estimateMs + time.uncertaintyMs : (time.earliestMs ?? Number.NaN);
  if (e.lastUplinkAtMs === null || !(latestMs - e.lastUplinkAtMs <= policy.offlineDurationMaxMs)) return 'OFFLINE_TOO_LONG';
  if (e.storedCount + 1 > mode.storedCountMax) return 'STORED_COUNT_CAP';
  if (e.storedAmount.value + amount.value > mode.storedAmountMax) return 'STORED_AMOUNT_CAP';
  return undefined;
}

/**
 * Could the kiosk take any offline code now (one payment of the smallest amount)? What the screen
 * says before the shopper scans; undefined when it could, else why not.
 */
export function offlineUnavailableCause(
  time: TrustedTime,
  list: RevocationAge,
  exposure: OfflineExposure,
  policy: Readonly<OfflinePolicy>,
): KioskOfflineCause | undefined {
  const mode = offlineMode(time, list, policy);
  if (!mode.ok) return mode.cause;
  return exposureCause(mode, exposure, { value: 1, currency: policy.storedAmountMax.currency }, time, policy);
}
