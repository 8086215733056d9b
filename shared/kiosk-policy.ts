// SPDX-License-Identifier: Apache-2.0
// A kiosk's payment policy, set by the server or a technician (the `set-policy` command) and kept
// by the kiosk across restarts. `mode` says when the kiosk takes offline codes:
//   prefer-online   online first; offline QR codes are pre-checked locally only while the uplink
//                   is down (the default, as Stripe Terminal's "offline mode enabled")
//   require-online  never store a payment: while the uplink is down every code is declined
//   force-offline   pre-check and store offline QR codes even while the uplink is up (for a site
//                   whose uplink is known to be bad); online codes still go to the server
// The caps bound what a kiosk may hold unacknowledged while it sells alone (docs/protocol.md).
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
  offlineDurationMaxMs: z.int().min(60_000).max(7 * 24 * 3_600_000),
});
export type ExposureCaps = z.infer<typeof exposureCapsSchema>;

export const kioskPolicySchema = z.strictObject({
  mode: z.enum(POLICY_MODES),
  caps: exposureCapsSchema,
});
export type KioskPolicy = z.infer<typeof kioskPolicySchema>;

/** A change to the policy: any subset of its fields. */
export const policyChangeSchema = z.strictObject({
  mode: z.enum(POLICY_MODES).optional(),
  caps: exposureCapsSchema.partial().optional(),
});
export type PolicyChange = z.infer<typeof policyChangeSchema>;

/** Square forwards within 24 h; Moneris caps stored records at 500; we hold 200 and ¥200,000. */
export const DEFAULT_EXPOSURE_CAPS: ExposureCaps = Object.freeze({
  storedCountMax: 200,
  storedAmountMax: 200_000,
  offlineDurationMaxMs: 24 * 3_600_000,
});

export const DEFAULT_KIOSK_POLICY: KioskPolicy = Object.freeze({ mode: 'prefer-online', caps: DEFAULT_EXPOSURE_CAPS });

/** Applies a change; the result is validated again, so a change can never produce a bad policy. */
export function applyPolicyChange(policy: KioskPolicy, change: PolicyChange): KioskPolicy {
  const next = { mode: change.mode ?? policy.mode, caps: { ...policy.caps, ...change.caps } };
  return Object.freeze(kioskPolicySchema.parse(next));
}
