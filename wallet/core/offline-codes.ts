// SPDX-License-Identifier: Apache-2.0
// Offline codes made on the phone (patent "second state", claims 1-3): built from the offline
// credential the server issued, the corrected time (claim 2) and a counter, signed with the phone's
// own key. The numeric form is a MAC over the time step with the server-stored secret.
//
// Both functions are pure and return the next state. The caller MUST make that state durable before
// the code is shown (pay-code.ts does): a counter, or a numeric time step, that was shown once is
// never shown for another payment, even after a crash. Two kiosks accepting the same code offline is
// a replay that gets the credential revoked.
import { assert } from '../../shared/assert.ts';
import { fromBase64url } from '../../shared/bytes.ts';
import type { Clock } from '../../shared/clock.ts';
import { makeNumericOfflineCode } from '../../shared/codes/numeric-offline.ts';
import { makeOfflineCode, offlineCodeSigningMessage, parseOfflineQrText } from '../../shared/codes/offline-code.ts';
import type { Ed25519 } from '../../shared/crypto/ed25519.ts';
import { offlineLimitsLeft } from './offline-limits.ts';
import type { OfflineUnavailableReason } from './wallet-errors.ts';
import {
  COUNTER_MAX,
  correctedNowMs,
  phoneKeyPair,
  withPendingCode,
  type NextCodeOptions,
  type StoredCredential,
  type WalletState,
} from './wallet-state.ts';

export type OfflineAvailability =
  | { available: true; credential: StoredCredential; correctedNowMs: number }
  | { available: false; reason: Exclude<OfflineUnavailableReason, 'numeric-step-used'> };

/**
 * Whether an offline code can be made now. `localNowMs` is the phone's own wall clock; the stored
 * offset is applied here. Validity is judged on corrected time, as the server and kiosks judge it.
 * The rolling limits are judged from the codes this phone has shown (offline-limits.ts), the next
 * one counted at `amountCap` or, without one, at the per-payment limit.
 */
export function offlineAvailability(state: WalletState, localNowMs: number, next: NextCodeOptions = {}): OfflineAvailability {
  if (state.enrollment === undefined) return { available: false, reason: 'never-enrolled' };
  if (state.credential === undefined || state.phoneKeySeed === undefined) return { available: false, reason: 'no-credential' };
  const now = correctedNowMs(state, localNowMs);
  if (now === undefined) return { available: false, reason: 'clock-never-synced' };
  if (now < state.credential.notBeforeMs) return { available: false, reason: 'credential-not-yet-valid' };
  if (now > state.credential.notAfterMs) return { available: false, reason: 'credential-expired' };
  const limits = state.credential.limits;
  const { amountCap } = next;
  if (amountCap !== undefined && amountCap > limits.perPayment) return { available: false, reason: 'cap-over-per-payment' };
  // A refresh joins the sitting already counted; a new sitting must fit.
  const refresh = next.sameSitting === true && (state.shown?.length ?? 0) > 0;
  const left = refresh ? undefined : offlineLimitsLeft(limits, [], now, state.shown ?? [], amountCap ?? limits.perPayment);
  if (left && !left.ok) return { available: false, reason: left.window === 'daily' ? 'offline-limit-daily' : 'offline-limit-monthly' };
  return { available: true, credential: state.credential, correctedNowMs: now };
}

export type OfflineCodeResult =
  | { ok: true; text: string; counter: number; timestampMs: number; credentialId: string; state: WalletState }
  | { ok: false; reason: Exclude<OfflineUnavailableReason, 'numeric-step-used'> };

/**
 * The next offline QR code, in the version wallets make (3: 509 digits, QR version 10), with
 * `amountCap`, the most a kiosk may claim for it (minor units), signed in when given. Persist
 * `state` before showing `text`.
 */
export function nextOfflineCode(state: WalletState, clock: Clock, ed: Ed25519, opts: NextCodeOptions = {}): OfflineCodeResult {
  const a = offlineAvailability(state, clock.nowMs(), opts);
  const { amountCap } = opts;
  if (!a.available) return { ok: false, reason: a.reason };
  const counter = state.nextCounter;
  assert(Number.isSafeInteger(counter) && counter >= 1 && counter <= COUNTER_MAX, `offline counter out of range: ${counter}`);
  const keys = phoneKeyPair(state, ed);
  assert(keys !== undefined, 'phone key seed present (checked by offlineAvailability)');
  const credential = fromBase64url(a.credential.bytes);
  assert(credential !== undefined, 'stored credential is base64url (checked when it was accepted)');
  const text = makeOfflineCode({ credential, timestampMs: a.correctedNowMs, counter, phoneSecretKey: keys.secretKey, amountCap }, ed);
  assertReadsBack(text, counter, a.correctedNowMs, keys.publicKey, ed);
  const next = withPendingCode(
    { ...state, nextCounter: counter + 1 },
    { form: 'qr', credentialId: a.credential.credentialId, counter, shownAtMs: a.correctedNowMs },
    opts,
  );
  return { ok: true, text, counter, timestampMs: a.correctedNowMs, credentialId: a.credential.credentialId, state: next };
}

export type NumericCodeResult =
  | { ok: true; text: string; step: number; timestampMs: number; stepEndsAtMs: number; credentialId: string; state: WalletState }
  | { ok: false; reason: OfflineUnavailableReason; retryAfterMs?: number };

/**
 * The numeric offline code (20 digits) for the current time step. Each step's code is shown at most
 * once: asking again within the same step answers `numeric-step-used` with the wait until the next.
 * Persist `state` before showing `text`.
 */
export function nextNumericCode(state: WalletState, clock: Clock, opts: Pick<NextCodeOptions, 'sameSitting'> = {}): NumericCodeResult {
  const a = offlineAvailability(state, clock.nowMs(), opts);
  if (!a.available) return { ok: false, reason: a.reason };
  const { handle, secret, stepMs } = a.credential.numeric;
  const now = a.correctedNowMs;
  const step = Math.floor(now / stepMs);
  const last = state.lastNumericStep;
  if (last !== undefined && last.credentialId === a.credential.credentialId && last.step >= step) {
    return { ok: false, reason: 'numeric-step-used', retryAfterMs: (last.step + 1) * stepMs - now };
  }
  const secretBytes = fromBase64url(secret);
  assert(secretBytes !== undefined && secretBytes.length === 32, 'stored numeric secret is 32 bytes');
  const text = makeNumericOfflineCode({ handle, secret: secretBytes, timeMs: now, stepMs });
  assert(/^\d{20}$/.test(text), 'numeric offline code is 20 digits');
  const next = withPendingCode(
    { ...state, lastNumericStep: { credentialId: a.credential.credentialId, step } },
    { form: 'numeric', credentialId: a.credential.credentialId, counter: step, shownAtMs: now },
    opts,
  );
  return {
    ok: true,
    text,
    step,
    timestampMs: now,
    stepEndsAtMs: (step + 1) * stepMs,
    credentialId: a.credential.credentialId,
    state: next,
  };
}

/** Paired assertion: the code just signed reads back as what was asked for, and its signature verifies. */
function assertReadsBack(text: string, counter: number, timestampMs: number, publicKey: Uint8Array, ed: Ed25519): void {
  const back = parseOfflineQrText(text);
  assert(back.ok, `offline code does not parse back: ${back.ok ? '' : back.detail}`);
  assert(back.code.counter === counter && back.code.timestampMs === timestampMs, 'offline code fields do not read back');
  assert(
    ed.verify(offlineCodeSigningMessage(back.code.signedBytes), back.code.signature, publicKey),
    'offline code signature does not verify',
  );
}
