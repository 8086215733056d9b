// SPDX-License-Identifier: Apache-2.0
// The kiosk's decision, alone, on a code scanned while its own uplink is down (flows.md section 3,
// "double offline"; docs/protocol.md 3.6). Pure: every input is a value or an in-memory object, the
// caller does the I/O (and writes an accepted payment to the durable outbox, synced, BEFORE the
// screen says approved). Steps, the first failure is the answer:
//   1. amount       the basket's amount is valid and in the kiosk's currency
//   2. codeForm     only the QR offline form can be checked here            [PROTO-SETTLE-2]
//   3. signatures   issuer over the credential, phone over the code (pinned issuer keys)
//   4. clock        synced since boot, uncertainty within clockUncertaintyMaxMs
//   5. revocations  list present, younger than its max age, credential not on it
//   6. terms        validity, time window, currency, per-payment limit      [PROTO-SETTLE-3]
//   7. counter      (credential, counter) never seen on this kiosk
//   8. exposure     time since last uplink, stored count, stored amount
// The clock comes before the revocation list because the list's age is measured with it.
import { assert } from '../../../shared/assert.ts';
import type { OfflineQrVerifier } from '../../../shared/codes/offline-qr-verifier.ts';
import { checkOfflineTerms } from '../../../shared/codes/offline-terms.ts';
import { decodeCode, type DecodedOfflineQr } from '../../../shared/codes/decode.ts';
import { ERRORS, type ErrorCode } from '../../../shared/errors.ts';
import { isValidAmount, type Money } from '../../../shared/money.ts';
import {
  KIOSK_OFFLINE_UNAVAILABLE, KIOSK_OFFLINE_UNAVAILABLE_SHOPPER_TEXT, type KioskOfflineCause,
} from './offline-unavailable.ts';
import type { RevocationCache } from './revocation-cache.ts';
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
}

export const OFFLINE_POLICY_DEFAULTS: Readonly<OfflinePolicy> = Object.freeze({
  windowMs: 5 * 60_000, // 5 min, server/config.ts offlineWindowMs
  clockUncertaintyMaxMs: 60_000, // 1 min: leaves a 4-minute window for the phone's own clock error
  storedCountMax: 200, // 2 settle batches; Moneris caps at 500 records
  storedAmountMax: Object.freeze({ value: 200_000, currency: 'JPY' as const }), // 40 payments at the 5,000 JPY per-payment default
  offlineDurationMaxMs: 24 * HOUR_MS, // Square forwards stored payments within 24 h
});

/** Validates and freezes a policy (defaults for what is not given). Throws on a contradiction: config is checked at start-up. */
export function offlinePolicy(overrides: Partial<OfflinePolicy> = {}): Readonly<OfflinePolicy> {
  const p = { ...OFFLINE_POLICY_DEFAULTS, ...overrides };
  const positive = (x: number) => Number.isSafeInteger(x) && x > 0;
  assert(positive(p.windowMs), 'windowMs must be a positive integer');
  assert(Number.isSafeInteger(p.clockUncertaintyMaxMs) && p.clockUncertaintyMaxMs >= 0 && p.clockUncertaintyMaxMs < p.windowMs,
    'clockUncertaintyMaxMs must be an integer in [0, windowMs)');
  assert(positive(p.storedCountMax), 'storedCountMax must be a positive integer');
  assert(isValidAmount(p.storedAmountMax.value) && p.storedAmountMax.value > 0, 'storedAmountMax must be a positive amount');
  assert(positive(p.offlineDurationMaxMs), 'offlineDurationMaxMs must be a positive integer');
  return Object.freeze({ ...p, storedAmountMax: Object.freeze({ ...p.storedAmountMax }) });
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
  /** Exactly what the scanner read. */
  text: string;
  amount: Money;
  /** Built with the PINNED issuer keys and nodeEd25519. */
  verifier: Pick<OfflineQrVerifier, 'verify'>;
  revocations: Pick<RevocationCache, 'check'>;
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
    ok: true; credentialId: string; counter: number; timestampMs: number;
    /** The settle item's capturedAt: the trusted clock's estimate at the check. */
    capturedAtMs: number;
  }
  | { ok: false; reason: PrecheckDeclineReason; shopperText: string; cause?: KioskOfflineCause };

type Decline = Extract<OfflinePrecheckResult, { ok: false }>;

const decline = (reason: ErrorCode): Decline => ({ ok: false, reason, shopperText: ERRORS[reason].shopper });
const unavailable = (cause: KioskOfflineCause): Decline =>
  ({ ok: false, reason: KIOSK_OFFLINE_UNAVAILABLE, shopperText: KIOSK_OFFLINE_UNAVAILABLE_SHOPPER_TEXT, cause });

export function precheckOfflineCode(input: OfflinePrecheckInput): OfflinePrecheckResult {
  const policy = input.policy ?? OFFLINE_POLICY_DEFAULTS;
  const amountDecline = checkAmount(input.amount, policy);
  if (amountDecline) return amountDecline;
  const form = checkCodeForm(input.text);
  if (!form.ok) return form;
  const code = form.code;
  const signatures = input.verifier.verify(code);
  if (!signatures.ok) return decline(signatures.reason);
  const clockDecline = checkClock(input.time, policy);
  if (clockDecline) return clockDecline;
  const revocation = input.revocations.check(code.credential.credentialId, input.time);
  if (!revocation.ok) return revocation.reason === 'CREDENTIAL_REVOKED' ? decline(revocation.reason) : unavailable(revocation.cause);
  const termsDecline = checkTerms(code, input.amount, input.time, policy);
  if (termsDecline) return termsDecline;
  if (input.seenCounter(code.credential.credentialId, code.counter)) return decline('COUNTER_REUSED');
  const exposureDecline = checkExposure(input.exposure, input.amount, input.time, policy);
  if (exposureDecline) return exposureDecline;
  return { ok: true, credentialId: code.credential.credentialId, counter: code.counter, timestampMs: code.timestampMs, capturedAtMs: input.time.estimateMs };
}

/** Step 1. 1 <= value <= 10^12 minor units (protocol 3.1), in the currency the kiosk sells in. */
function checkAmount(amount: Money, policy: Readonly<OfflinePolicy>): Decline | undefined {
  if (!isValidAmount(amount.value) || amount.value < 1) return decline('AMOUNT_INVALID');
  if (amount.currency !== policy.storedAmountMax.currency) return decline('CURRENCY_MISMATCH');
  return undefined;
}

/** Step 2. Online and numeric codes need the server at the till [PROTO-SETTLE-2]. */
function checkCodeForm(text: string): { ok: true; code: DecodedOfflineQr } | Decline {
  const decoded = decodeCode(text);
  if (!decoded.ok) return decline('CODE_MALFORMED');
  if (decoded.code.kind !== 'offline-qr') return decline('OFFLINE_FORM_REQUIRED');
  return { ok: true, code: decoded.code };
}

/** Step 4. An untrusted clock stops offline acceptance (flows.md, "Risk is bounded by limits"). */
function checkClock(time: TrustedTime, policy: Readonly<OfflinePolicy>): Decline | undefined {
  if (!time.trusted || !Number.isFinite(time.uncertaintyMs) || !Number.isFinite(time.estimateMs)) return unavailable('CLOCK_UNTRUSTED');
  if (!(time.uncertaintyMs <= policy.clockUncertaintyMaxMs)) return unavailable('CLOCK_TOO_UNCERTAIN');
  return undefined;
}

/**
 * Step 6. The server judges the window against capturedAt (= our estimate) with NO slack
 * [PROTO-SETTLE-3], so widening it by our uncertainty would accept codes the server then declines at
 * the merchant's cost (3.6). We narrow it instead: windowMs - uncertainty, so that the code is
 * within the window both of our estimate (what settlement checks) and of true server time.
 */
function checkTerms(code: DecodedOfflineQr, amount: Money, time: TrustedTime, policy: Readonly<OfflinePolicy>): Decline | undefined {
  const terms = checkOfflineTerms({
    credential: code.credential, timestampMs: code.timestampMs, amount, amountCap: code.amountCap,
    referenceTimeMs: time.estimateMs, windowMs: policy.windowMs - time.uncertaintyMs, uncertaintyMs: 0,
  });
  return terms.ok ? undefined : decline(terms.reason);
}

/** Step 8. The kiosk's own risk, whatever the shopper's credential allows. */
function checkExposure(e: OfflineExposure, amount: Money, time: TrustedTime, policy: Readonly<OfflinePolicy>): Decline | undefined {
  assert(Number.isSafeInteger(e.storedCount) && e.storedCount >= 0, 'storedCount must be a non-negative integer');
  assert(e.storedAmount.currency === policy.storedAmountMax.currency && isValidAmount(e.storedAmount.value), 'storedAmount must be a valid amount in the kiosk currency');
  // The longest we may have been offline: the late end of the clock's interval.
  if (e.lastUplinkAtMs === null || !(time.estimateMs + time.uncertaintyMs - e.lastUplinkAtMs <= policy.offlineDurationMaxMs)) return unavailable('OFFLINE_TOO_LONG');
  if (e.storedCount + 1 > policy.storedCountMax) return unavailable('STORED_COUNT_CAP');
  if (e.storedAmount.value + amount.value > policy.storedAmountMax.value) return unavailable('STORED_AMOUNT_CAP');
  return undefined;
}
