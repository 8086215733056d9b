// SPDX-License-Identifier: Apache-2.0
// The kiosk's decision, alone, on a code scanned while its own uplink is down (the "double offline" flow,
// "double offline"; docs/protocol.md 3.6). Pure: every input is a value or an in-memory object, the
// caller does the I/O (and writes an accepted payment to the durable outbox, synced, BEFORE the
// screen says approved). The code comes decoded: the kiosk decodes a scan once
// (domain/checkout/classify-scan.ts) and carries that through the checkout. Steps, the first failure
// is the answer:
//   1. amount       the basket's amount is valid and in the kiosk's currency
//   2. codeForm     only the QR offline form can be checked here            [PROTO-SETTLE-2]
//   3. signatures   issuer over the credential, phone over the code (pinned issuer keys)
//   4. clock        server-synced or RTC within clockUncertaintyMaxMs, or the untrusted-clock mode
//   5. revocations  list present, its age graded (fresh, stale, too old), credential not on it
//   6. terms        validity, time window, currency, per-payment limit      [PROTO-SETTLE-3]
//                   and never older than the persisted lower bound minus the window
//   7. counter      (credential, counter) never seen on this kiosk
//   8. exposure     time since last uplink, stored count, stored amount (the caps of the mode)
// The clock comes before the revocation list because the list's age is measured with it. Steps 4
// and 5 decide the offline mode and its caps (offline-mode.ts).
import { assert } from '../../../shared/assert.ts';
import type { OfflineQrVerifier } from '../../../shared/codes/offline-qr-verifier.ts';
import { checkOfflineTerms } from '../../../shared/codes/offline-terms.ts';
import type { DecodedCode, DecodedOfflineQr } from '../../../shared/codes/decode.ts';
import { ERRORS, type ErrorCode } from '../../../shared/errors.ts';
import { DEFAULT_STALE_REVOCATIONS, DEFAULT_UNTRUSTED_CLOCK } from '../../../shared/kiosk-policy.ts';
import { isValidAmount, type Money } from '../../../shared/money.ts';
import { KIOSK_OFFLINE_UNAVAILABLE, KIOSK_OFFLINE_UNAVAILABLE_SHOPPER_TEXT, type KioskOfflineCause } from './offline-unavailable.ts';
import { exposureCause, offlineMode, type OfflineMode } from './offline-mode.ts';
import { REVOCATION_MAX_AGE_MS_DEFAULT, type RevocationCache } from './revocation-cache.ts';
import type { TrustedTime } from './trusted-clock.ts';

const HOUR_MS = 3_600_000;

/** The kiosk's offline policy; see README.md in this folder for the reasoning behind each default. */
export interface OfflinePolicy {
  /** The server's offlineWindowMs: a code's timestamp may be this far from capture time. */
  windowMs: number;
  /** Beyond this the clock is too uncertain to judge the window; must be below windowMs. */
  clockUncertaintyMaxMs: number;
  /** Stored (not yet acknowledged) offline payments, including the one being checked. */
  storedCountMax: number;
  /** Their total amount, including the one being checked; its currency is the kiosk's currency. */
  storedAmountMax: Money;
  /** Since the last contact with the server, by trusted time. */
  offlineDurationMaxMs: number;
  /** Up to this age the revocation list is fresh (the server's revocationMaxAgeMs, the settlement loss line). */
  revocationFreshAgeMs: number;
  /** Older than fresh: these caps, and no offline code past maxAgeMs. Amounts in the kiosk's currency. */
  staleRevocations: { storedCountMax: number; storedAmountMax: number; maxAgeMs: number };
  /** A clock with only a lower bound (no sync this boot, no trusted RTC): these caps, for durationMaxMs since boot. */
  untrustedClock: { storedCountMax: number; storedAmountMax: number; durationMaxMs: number };
}

export const OFFLINE_POLICY_DEFAULTS: Readonly<OfflinePolicy> = Object.freeze({
  windowMs: 5 * 60_000, // 5 min, server/config.ts offlineWindowMs
  clockUncertaintyMaxMs: 60_000, // 1 min: leaves a 4-minute window for the phone's own clock error
  storedCountMax: 200, // 2 settle batches; Moneris caps at 500 records
  storedAmountMax: Object.freeze({ value: 200_000, currency: 'JPY' as const }), // 40 payments at the 5,000 JPY per-payment default
  offlineDurationMaxMs: 24 * HOUR_MS, // Square forwards stored payments within 24 h
  revocationFreshAgeMs: REVOCATION_MAX_AGE_MS_DEFAULT, // the server's revocationMaxAgeMs
  staleRevocations: DEFAULT_STALE_REVOCATIONS, // the server's policy defaults
  untrustedClock: DEFAULT_UNTRUSTED_CLOCK,
});

/** Validates and freezes a policy (defaults for what is not given). Throws on a contradiction: config is checked at start-up. */
export function offlinePolicy(overrides: Partial<OfflinePolicy> = {}): Readonly<OfflinePolicy> {
  const p = { ...OFFLINE_POLICY_DEFAULTS, ...overrides };
  const positive = (x: number) => Number.isSafeInteger(x) && x > 0;
  assert(positive(p.windowMs), 'windowMs must be a positive integer');
  assert(
    Number.isSafeInteger(p.clockUncertaintyMaxMs) && p.clockUncertaintyMaxMs >= 0 && p.clockUncertaintyMaxMs < p.windowMs,
    'clockUncertaintyMaxMs must be an integer in [0, windowMs)',
  );
  assert(positive(p.storedCountMax), 'storedCountMax must be a positive integer');
  assert(isValidAmount(p.storedAmountMax.value) && p.storedAmountMax.value > 0, 'storedAmountMax must be a positive amount');
  assert(positive(p.offlineDurationMaxMs), 'offlineDurationMaxMs must be a positive integer');
  assert(positive(p.revocationFreshAgeMs), 'revocationFreshAgeMs must be a positive integer');
  const nonNegative = (x: number) => Number.isSafeInteger(x) && x >= 0;
  const s = p.staleRevocations;
  assert(
    nonNegative(s.storedCountMax) && isValidAmount(s.storedAmountMax) && positive(s.maxAgeMs),
    'staleRevocations caps must be non-negative integers',
  );
  const u = p.untrustedClock;
  assert(
    nonNegative(u.storedCountMax) && isValidAmount(u.storedAmountMax) && nonNegative(u.durationMaxMs),
    'untrustedClock caps must be non-negative integers',
  );
  return Object.freeze({
    ...p,
    storedAmountMax: Object.freeze({ ...p.storedAmountMax }),
    staleRevocations: Object.freeze({ ...s }),
    untrustedClock: Object.freeze({ ...u }),
  });
}

/** What the outbox holds right now, and when the kiosk last reached the server. */
export interface OfflineExposure {
  /** Offline payments stored and not yet acknowledged by the server. */
  storedCount: number;
  /** Their sum, in the kiosk's currency (policy.storedAmountMax.currency). */
  storedAmount: Money;
  /** Trusted time of the last answer from the server, Unix ms; null if never. */
  lastUplinkAtMs: number | null;
}

export interface OfflinePrecheckInput {
  /** The scanned code, decoded (shared/codes/decode.ts). */
  code: DecodedCode;
  amount: Money;
  /** Built with the PINNED issuer keys and nodeEd25519. */
  verifier: Pick<OfflineQrVerifier, 'verify'>;
  revocations: Pick<RevocationCache, 'ageOf' | 'isRevoked'>;
  /** The trusted clock read now (TrustedClock.now(monotonicNow)). */
  time: TrustedTime;
  /** True when this kiosk has already accepted (credentialId, counter). */
  seenCounter: (credentialId: string, counter: number) => boolean;
  exposure: OfflineExposure;
  policy?: Readonly<OfflinePolicy>;
}

export type PrecheckDeclineReason = ErrorCode;

export type OfflinePrecheckResult =
  | {
      ok: true;
      credentialId: string;
      counter: number;
      timestampMs: number;
      /**
       * The settle item's capturedAt: the trusted clock's estimate at the check; with an untrusted
       * clock, the code's own timestamp, but never before the earliest possible time.
       */
      capturedAtMs: number;
      /** The mode the code was accepted in, for logs and telemetry. */
      mode: { clock: OfflineModeOk['clock']; list: OfflineModeOk['list'] };
    }
  | { ok: false; reason: PrecheckDeclineReason; shopperText: string; cause?: KioskOfflineCause };

type Decline = Extract<OfflinePrecheckResult, { ok: false }>;
type OfflineModeOk = Extract<OfflineMode, { ok: true }>;

const decline = (reason: ErrorCode): Decline => ({ ok: false, reason, shopperText: ERRORS[reason].shopper });
const unavailable = (cause: KioskOfflineCause): Decline => ({
  ok: false,
  reason: KIOSK_OFFLINE_UNAVAILABLE,
  shopperText: KIOSK_OFFLINE_UNAVAILABLE_SHOPPER_TEXT,
  cause,
});

export function precheckOfflineCode(input: OfflinePrecheckInput): OfflinePrecheckResult {
  const policy = input.policy ?? OFFLINE_POLICY_DEFAULTS;
  const amountDecline = checkAmount(input.amount, policy);
  if (amountDecline) return amountDecline;
  const code = input.code;
  // Step 2: online and numeric codes need the server at the till [PROTO-SETTLE-2].
  if (code.kind !== 'offline-qr') return decline('OFFLINE_FORM_REQUIRED');
  const signatures = input.verifier.verify(code);
  if (!signatures.ok) return decline(signatures.reason);
  const mode = offlineMode(input.time, input.revocations.ageOf(input.time), policy);
  if (!mode.ok) return unavailable(mode.cause);
  if (input.revocations.isRevoked(code.credential.credentialId)) return decline('CREDENTIAL_REVOKED');
  const terms = checkTerms(code, input.amount, input.time, policy);
  if (!terms.ok) return terms;
  if (input.seenCounter(code.credential.credentialId, code.counter)) return decline('COUNTER_REUSED');
  const exposure = exposureCause(mode, input.exposure, input.amount, input.time, policy);
  if (exposure) return unavailable(exposure);
  return {
    ok: true,
    credentialId: code.credential.credentialId,
    counter: code.counter,
    timestampMs: code.timestampMs,
    capturedAtMs: terms.capturedAtMs,
    mode: { clock: mode.clock, list: mode.list },
  };
}

/** Step 1. 1 <= value <= 10^12 minor units (protocol 3.1), in the currency the kiosk sells in. */
function checkAmount(amount: Money, policy: Readonly<OfflinePolicy>): Decline | undefined {
  if (!isValidAmount(amount.value) || amount.value < 1) return decline('AMOUNT_INVALID');
  if (amount.currency !== policy.storedAmountMax.currency) return decline('CURRENCY_MISMATCH');
  return undefined;
}

/**
 * Step 6. The server judges the window against capturedAt (= our estimate) with NO slack
 * [PROTO-SETTLE-3], so widening it by our uncertainty would accept codes the server then declines at
 * the merchant's cost (3.6). We narrow it instead: windowMs - uncertainty, so that the code is
 * within the window both of our estimate (what settlement checks) and of true server time.
 * In every mode a code older than the earliest possible time minus the window is refused: the
 * persisted lower bound never lets an old code back in. With an untrusted clock that is the only
 * bound on its age; capturedAt is then max(code timestamp, earliest), which is within the window of
 * the code by construction.
 */
function checkTerms(
  code: DecodedOfflineQr,
  amount: Money,
  time: TrustedTime,
  policy: Readonly<OfflinePolicy>,
): Decline | { ok: true; capturedAtMs: number } {
  const earliest = time.earliestMs;
  if (earliest !== undefined && earliest !== null && !(code.timestampMs >= earliest - policy.windowMs))
    return decline('TIME_OUT_OF_WINDOW');
  const capturedAtMs = time.trusted ? time.estimateMs : Math.max(code.timestampMs, earliest!);
  const terms = checkOfflineTerms({
    credential: code.credential,
    timestampMs: code.timestampMs,
    amount,
    amountCap: code.amountCap,
    referenceTimeMs: capturedAtMs,
    windowMs: time.trusted ? policy.windowMs - time.uncertaintyMs : policy.windowMs,
    uncertaintyMs: 0,
  });
  return terms.ok ? { ok: true, capturedAtMs } : decline(terms.reason);
}
