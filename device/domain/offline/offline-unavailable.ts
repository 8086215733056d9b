// SPDX-License-Identifier: Apache-2.0
// Why THIS KIOSK cannot take an offline payment right now, whatever code is shown: its revocation
// list is missing or too old, its clock is not known or too uncertain, or its own exposure caps
// are reached (the exposure limits of docs/security.md). No code in shared/errors.ts says this: the
// closest, TIME_OUT_OF_WINDOW and CREDENTIAL_REVOKED, blame the shopper's code and would send them
// to refresh it in vain.
// The decline is KIOSK_OFFLINE_UNAVAILABLE (shared/errors.ts). It is decided on the kiosk only; the
// server never sends it. The cause below is its typed detail, for the screen log and telemetry,
// never for the shopper.
import { ERRORS, type ErrorCode } from '../../../shared/errors.ts';

export const KIOSK_OFFLINE_UNAVAILABLE = 'KIOSK_OFFLINE_UNAVAILABLE' as const satisfies ErrorCode;
export type KioskOfflineUnavailable = typeof KIOSK_OFFLINE_UNAVAILABLE;

export const KIOSK_OFFLINE_UNAVAILABLE_SHOPPER_TEXT = ERRORS.KIOSK_OFFLINE_UNAVAILABLE.shopper;

export type KioskOfflineCause =
  /** No valid signed revocation list was ever received (or the saved one did not verify). */
  | 'REVOCATIONS_MISSING'
  /** The cached list is older than the policy's hard bound (staleRevocations.maxAgeMs). */
  | 'REVOCATIONS_STALE'
  /** No server sync since boot, no trusted RTC, and no persisted lower bound (or the untrusted-clock mode is off). */
  | 'CLOCK_UNTRUSTED'
  /** Selling on an untrusted clock for longer than untrustedClock.durationMaxMs since boot. */
  | 'CLOCK_UNTRUSTED_TOO_LONG'
  /** Synced (or RTC), but the uncertainty has grown past clockUncertaintyMaxMs. */
  | 'CLOCK_TOO_UNCERTAIN'
  /** The policy's mode is require-online: no stored payments at all. */
  | 'POLICY_REQUIRES_ONLINE'
  | 'STORED_COUNT_CAP'
  | 'STORED_AMOUNT_CAP'
  /** More than offlineDurationMaxMs since the last contact with the server (or never). */
  | 'OFFLINE_TOO_LONG';
