// SPDX-License-Identifier: Apache-2.0
// A kiosk's payment policy, set by the server or a technician (the `set-policy` command) and kept
// by the kiosk across restarts. `mode` says when the kiosk takes offline codes:
//   prefer-online   online first; offline QR codes are pre-checked locally only while the uplink
//                   is down (the default, as Stripe Terminal's "offline mode enabled")
//   require-online  never store a payment: while the uplink is down every code is declined
//   force-offline   pre-check and store offline QR codes even while the uplink is up (for a site
//                   whose uplink is known to be bad); online codes still go to the server
// The caps bound what a kiosk may hold unacknowledged while it sells alone (docs/protocol.md).
// Two tighter sets apply on top of them when the kiosk knows less (docs/security.md, "Offline modes"):
//   staleRevocations  its revocation list is older than the fresh age (the settlement loss line):
//                     reduced caps, and no offline codes at all past maxAgeMs
//   untrustedClock    it rebooted without its uplink and has no battery clock it may trust: it
//                     knows only a time already passed (its persisted bound), so it sells at most
//                     this much, for at most durationMaxMs of its own running time
// A kiosk that saved a policy before these existed gets the defaults.
import { z } from 'zod';
import { MONEY_MAX } from './money.ts';

export const POLICY_MODES = ['prefer-online', 'require-online', 'force-offline'] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];

/** Exposure caps of the offline path; amounts in the kiosk's currency, minor units. */
export const exposureCapsSchema = z.strictObject({
  /** Stored, unacknowledged offline payments, at most. */
  storedCountMax: z.int().min(1).max(10_000),
  /** Their total amount, at most (minor units of the kiosk's currency). */
  storedAmountMax: z.int().min(1).max(MONEY_MAX),
  /** Longest time the kiosk keeps selling offline since its last contact with the server. */
  offlineDurationMaxMs: z
    .int()
    .min(60_000)
    .max(7 * 24 * 3_600_000),
});
export type ExposureCaps = z.infer<typeof exposureCapsSchema>;

/** Caps while the revocation list is older than its fresh age; past maxAgeMs nothing is taken offline. */
export const staleRevocationsSchema = z.strictObject({
  storedCountMax: z.int().min(0).max(10_000),
  storedAmountMax: z.int().min(0).max(MONEY_MAX),
  /** The list's age (judged pessimistically) beyond which the kiosk takes no offline code. */
  maxAgeMs: z
    .int()
    .min(60_000)
    .max(14 * 24 * 3_600_000),
});
export type StaleRevocationsCaps = z.infer<typeof staleRevocationsSchema>;

/** Caps while the kiosk's clock is untrusted (rebooted without uplink, no trusted battery clock). */
export const untrustedClockSchema = z.strictObject({
  /** 0 turns the mode off: an untrusted clock then takes no offline code. */
  storedCountMax: z.int().min(0).max(10_000),
  storedAmountMax: z.int().min(0).max(MONEY_MAX),
  /** Longest the kiosk sells on an untrusted clock, counted on its own monotonic clock since boot. */
  durationMaxMs: z
    .int()
    .min(0)
    .max(7 * 24 * 3_600_000),
});
export type UntrustedClockCaps = z.infer<typeof untrustedClockSchema>;

/** A quarter of the full caps, for 3 days: a weekend without uplink (docs/security.md). */
export const DEFAULT_STALE_REVOCATIONS: StaleRevocationsCaps = Object.freeze({
  storedCountMax: 50,
  storedAmountMax: 50_000,
  maxAgeMs: 72 * 3_600_000,
});

/** One night at a quiet machine: 20 payments, ¥20,000 (four at the ¥5,000 per-payment default), 12 h. */
export const DEFAULT_UNTRUSTED_CLOCK: UntrustedClockCaps = Object.freeze({
  storedCountMax: 20,
  storedAmountMax: 20_000,
  durationMaxMs: 12 * 3_600_000,
});

export const kioskPolicySchema = z.strictObject({
  mode: z.enum(POLICY_MODES),
  caps: exposureCapsSchema,
  staleRevocations: staleRevocationsSchema.default(DEFAULT_STALE_REVOCATIONS),
  untrustedClock: untrustedClockSchema.default(DEFAULT_UNTRUSTED_CLOCK),
});
export type KioskPolicy = z.infer<typeof kioskPolicySchema>;

/** A change to the policy: any subset of its fields. */
export const policyChangeSchema = z.strictObject({
  mode: z.enum(POLICY_MODES).optional(),
  caps: exposureCapsSchema.partial().optional(),
  staleRevocations: staleRevocationsSchema.partial().optional(),
  untrustedClock: untrustedClockSchema.partial().optional(),
});
export type PolicyChange = z.infer<typeof policyChangeSchema>;

/** Square forwards within 24 h; Moneris caps stored records at 500; we hold 200 and ¥200,000. */
export const DEFAULT_EXPOSURE_CAPS: ExposureCaps = Object.freeze({
  storedCountMax: 200,
  storedAmountMax: 200_000,
  offlineDurationMaxMs: 24 * 3_600_000,
});

export const DEFAULT_KIOSK_POLICY: KioskPolicy = Object.freeze({
  mode: 'prefer-online',
  caps: DEFAULT_EXPOSURE_CAPS,
  staleRevocations: DEFAULT_STALE_REVOCATIONS,
  untrustedClock: DEFAULT_UNTRUSTED_CLOCK,
});

/** Applies a change; the result is validated again, so a change can never produce a bad policy. */
export function applyPolicyChange(policy: KioskPolicy, change: PolicyChange): KioskPolicy {
  const next = {
    mode: change.mode ?? policy.mode,
    caps: { ...policy.caps, ...change.caps },
    staleRevocations: { ...policy.staleRevocations, ...change.staleRevocations },
    untrustedClock: { ...policy.untrustedClock, ...change.untrustedClock },
  };
  return Object.freeze(kioskPolicySchema.parse(next));
}
