// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { fromBase64url, toBase64url } from '../../../shared/bytes.ts';
import { nodeEd25519 } from '../../../shared/crypto/ed25519-node.ts';
import { decodeCode } from '../../../shared/codes/decode.ts';
import { makeNumericOfflineCode } from '../../../shared/codes/numeric-offline.ts';
import { makeOfflineCode, OFFLINE_QR_PREFIX } from '../../../shared/codes/offline-code.ts';
import { OfflineQrVerifier } from '../../../shared/codes/offline-qr-verifier.ts';
import { makeOnlineCode } from '../../../shared/codes/online-code.ts';
import { DAY_MS, ISSUER_KEY_ID, T0_MS, fixture, seed } from '../../../shared/codes/test-fixtures.ts';
import type { Money } from '../../../shared/money.ts';
import { seededRandom } from '../../../shared/random.ts';
import { timeSample } from '../../../shared/time-sync.ts';
import { signRevocations } from './offline-fixtures.ts';
import {
  OFFLINE_POLICY_DEFAULTS,
  offlinePolicy,
  precheckOfflineCode,
  type OfflinePrecheckInput,
  type OfflinePrecheckResult,
} from './offline-precheck.ts';
import { KIOSK_OFFLINE_UNAVAILABLE_SHOPPER_TEXT } from './offline-unavailable.ts';
import { RevocationCache } from './revocation-cache.ts';
import { TrustedClock, type TrustedTime } from './trusted-clock.ts';

const HOUR_MS = 3_600_000;
const MIN_MS = 60_000;
const jpy = (value: number): Money => ({ value, currency: 'JPY' });
/** The fixture's code was made at T0 + 1 s with counter 1; the kiosk reads it 2 s later. */
const CODE_TS_MS = T0_MS + 1_000;
const trustedAt = (estimateMs: number, uncertaintyMs = 10): TrustedTime => ({ estimateMs, uncertaintyMs, trusted: true });

/** A kiosk whose uplink is down, in a state where the fixture's code is accepted. Each test edits its own copy. */
function world() {
  const f = fixture();
  const revocations = new RevocationCache({ issuerKeys: f.issuerKeys, ed: nodeEd25519 });
  revocations.accept(signRevocations({ seq: 1, issuedAt: T0_MS - HOUR_MS, credentials: [] }, f.issuer, ISSUER_KEY_ID));
  const input: TextInput = {
    text: f.offlineCode,
    amount: jpy(1_200),
    verifier: new OfflineQrVerifier({ issuerKeys: f.issuerKeys, ed: nodeEd25519 }),
    revocations,
    time: trustedAt(CODE_TS_MS + 2_000),
    seenCounter: () => false,
    exposure: { storedCount: 0, storedAmount: jpy(0), lastUplinkAtMs: T0_MS - HOUR_MS },
  };
  const code = (timestampMs: number, counter = 1) =>
    makeOfflineCode({ credential: f.credentialBytes, timestampMs, counter, phoneSecretKey: f.phone.secretKey }, nodeEd25519);
  const list = (seq: number, issuedAt: number, credentials: string[]) =>
    signRevocations({ seq, issuedAt, credentials }, f.issuer, ISSUER_KEY_ID);
  return { f, input, revocations, code, list };
}

/** The pre-check's input with the scanned text in place of the decoded code. */
type TextInput = Omit<OfflinePrecheckInput, 'code'> & { text: string };

/** Decodes the text first, as the kiosk does once at the scan (text that is no code never reaches the pre-check). */
function precheckText({ text, ...rest }: TextInput): OfflinePrecheckResult {
  const decoded = decodeCode(text);
  if (!decoded.ok) throw new Error(`the test's text is no code: ${decoded.detail}`);
  return precheckOfflineCode({ ...rest, code: decoded.code });
}

const reasonOf = (r: OfflinePrecheckResult) => (r.ok ? 'ok' : r.reason);
const causeOf = (r: OfflinePrecheckResult) => (r.ok ? 'ok' : r.cause);

describe('offline pre-check: acceptance', () => {
  it('accepts a valid offline QR code and returns what the outbox needs', () => {
    const { input } = world();
    expect(precheckText(input)).toEqual({
      ok: true,
      credentialId: '0123456789abcdef',
      counter: 1,
      timestampMs: CODE_TS_MS,
      capturedAtMs: CODE_TS_MS + 2_000,
      mode: { clock: 'server', list: 'fresh' },
    });
  });

  it('accepts the code with the scanner line ending still attached', () => {
    const { input } = world();
    expect(precheckText({ ...input, text: `${input.text}\r\n` }).ok).toBe(true);
  });

  it('asks the seen-counter store about exactly this credential and counter', () => {
    const { input, code } = world();
    const asked: Array<[string, number]> = [];
    precheckText({
      ...input,
      text: code(CODE_TS_MS, 42),
      seenCounter: (id, n) => {
        asked.push([id, n]);
        return false;
      },
    });
    expect(asked).toEqual([['0123456789abcdef', 42]]);
  });
});

describe('offline pre-check: every rejection', () => {
  it('declines an invalid amount', () => {
    const { input } = world();
    for (const value of [0, -1, 1.5, NaN, 1e13]) {
      expect(precheckText({ ...input, amount: { value, currency: 'JPY' } })).toEqual({
        ok: false,
        reason: 'AMOUNT_INVALID',
        shopperText: 'The amount is not valid.',
      });
    }
  });

  it('declines an amount not in the kiosk currency, even when the credential would take it', () => {
    const { input } = world();
    const usdKiosk = offlinePolicy({ storedAmountMax: { value: 2_000_00, currency: 'USD' } });
    const r = precheckText({
      ...input,
      policy: usdKiosk,
      exposure: { ...input.exposure, storedAmount: { value: 0, currency: 'USD' } },
    });
    expect(reasonOf(r)).toBe('CURRENCY_MISMATCH');
  });

  it('declines an online code: "please show your offline QR code"', () => {
    const { input } = world();
    expect(precheckText({ ...input, text: makeOnlineCode(seededRandom(7)) })).toEqual({
      ok: false,
      reason: 'OFFLINE_FORM_REQUIRED',
      shopperText: 'Please show your offline QR code.',
    });
  });

  it('declines a numeric offline code the same way: only the server can check its MAC', () => {
    const { input } = world();
    const numeric = makeNumericOfflineCode({ handle: '12345678', secret: new Uint8Array(32).fill(1), timeMs: T0_MS, stepMs: 30_000 });
    expect(precheckText({ ...input, text: numeric })).toMatchObject({ ok: false, reason: 'OFFLINE_FORM_REQUIRED' });
  });

  it('declines a credential not signed by a pinned issuer key', () => {
    const { input } = world();
    const otherIssuer = new Map([[ISSUER_KEY_ID, nodeEd25519.keyPairFromSeed(seed(0x99)).publicKey]]);
    const r = precheckText({ ...input, verifier: new OfflineQrVerifier({ issuerKeys: otherIssuer, ed: nodeEd25519 }) });
    expect(r).toMatchObject({
      ok: false,
      reason: 'CREDENTIAL_INVALID',
      shopperText: 'This code is not valid. Please go online once in your app.',
    });
  });

  it('declines a code whose phone signature does not verify, in version 1 and version 3', () => {
    const { f, input } = world();
    expect(reasonOf(precheckText({ ...input, text: f.offlineCodeV3 }))).toBe('ok');
    // The last digit of a version-3 code is in the phone signature's S.
    const v3 = f.offlineCodeV3.slice(0, -1) + String((Number(f.offlineCodeV3.at(-1)) + 1) % 10);
    expect(reasonOf(precheckText({ ...input, text: v3 }))).toBe('SIGNATURE_INVALID');
    const bytes = fromBase64url(input.text.slice(OFFLINE_QR_PREFIX.length))!;
    bytes[bytes.length - 1]! ^= 0x01;
    expect(reasonOf(precheckText({ ...input, text: OFFLINE_QR_PREFIX + toBase64url(bytes) }))).toBe('SIGNATURE_INVALID');
  });

  it('declines while the clock is untrusted (no sync since boot)', () => {
    const { input } = world();
    const r = precheckText({ ...input, time: { estimateMs: CODE_TS_MS, uncertaintyMs: Infinity, trusted: false } });
    expect(r).toEqual({
      ok: false,
      reason: 'KIOSK_OFFLINE_UNAVAILABLE',
      shopperText: KIOSK_OFFLINE_UNAVAILABLE_SHOPPER_TEXT,
      cause: 'CLOCK_UNTRUSTED',
    });
  });

  it('declines when the clock uncertainty has grown past the policy maximum (1 min)', () => {
    const { input } = world();
    expect(precheckText({ ...input, time: trustedAt(CODE_TS_MS, 60_000) }).ok).toBe(true);
    expect(causeOf(precheckText({ ...input, time: trustedAt(CODE_TS_MS, 60_001) }))).toBe('CLOCK_TOO_UNCERTAIN');
  });

  it('declines when no revocation list was ever received', () => {
    const { f, input } = world();
    const empty = new RevocationCache({ issuerKeys: f.issuerKeys, ed: nodeEd25519 });
    expect(causeOf(precheckText({ ...input, revocations: empty }))).toBe('REVOCATIONS_MISSING');
  });

  it('grades the revocation list by age: full caps up to 6 hours, reduced caps up to 72 hours, then nothing', () => {
    const { input, code } = world();
    // The list was issued at T0 - 1 h; at T0 + 5 h + 1 ms (plus 10 ms uncertainty) it is older than fresh.
    const at = T0_MS + 5 * HOUR_MS;
    const atCount = (storedCount: number) => ({ ...input.exposure, storedCount, lastUplinkAtMs: at - HOUR_MS });
    const fresh = precheckText({ ...input, text: code(at), time: trustedAt(at - 10), exposure: atCount(60) });
    expect(fresh).toMatchObject({ ok: true, mode: { list: 'fresh' } });
    const stale = precheckText({ ...input, text: code(at), time: trustedAt(at - 9), exposure: atCount(49) });
    expect(stale).toMatchObject({ ok: true, mode: { clock: 'server', list: 'stale' } });
    // The 51st stored payment is past the stale list's 50.
    const capped = precheckText({ ...input, text: code(at), time: trustedAt(at - 9), exposure: atCount(50) });
    expect(capped).toMatchObject({ ok: false, reason: 'KIOSK_OFFLINE_UNAVAILABLE', cause: 'STORED_COUNT_CAP' });
    const amount = precheckText({
      ...input,
      text: code(at),
      time: trustedAt(at - 9),
      exposure: { ...atCount(1), storedAmount: jpy(49_000) },
    });
    expect(amount).toMatchObject({ ok: false, cause: 'STORED_AMOUNT_CAP' });
    // Past the hard bound (72 h), even with a long offline duration allowed.
    const late = T0_MS + 71 * HOUR_MS;
    const policy = offlinePolicy({ offlineDurationMaxMs: 7 * 24 * HOUR_MS });
    const lastUplink = { ...input.exposure, lastUplinkAtMs: T0_MS };
    expect(precheckText({ ...input, policy, text: code(late), time: trustedAt(late - 10), exposure: lastUplink }).ok).toBe(true);
    const tooOld = precheckText({ ...input, policy, text: code(late), time: trustedAt(late - 9), exposure: lastUplink });
    expect(tooOld).toMatchObject({ ok: false, reason: 'KIOSK_OFFLINE_UNAVAILABLE', cause: 'REVOCATIONS_STALE' });
  });

  it('declines a revoked credential', () => {
    const { input, revocations, list } = world();
    revocations.accept(list(2, T0_MS, ['0123456789abcdef']));
    expect(precheckText(input)).toEqual({
      ok: false,
      reason: 'CREDENTIAL_REVOKED',
      shopperText: 'Offline payment is not available for this account.',
    });
  });

  it('declines a code made outside its credential validity', () => {
    const { input, code, revocations, list } = world();
    const late = T0_MS + 7 * DAY_MS + 1_000; // notAfter is T0 + 7 days
    revocations.accept(list(2, late - HOUR_MS, []));
    const r = precheckText({
      ...input,
      text: code(late),
      time: trustedAt(late),
      exposure: { ...input.exposure, lastUplinkAtMs: late - HOUR_MS },
    });
    expect(reasonOf(r)).toBe('CREDENTIAL_EXPIRED');
  });

  it('declines a code older than the 5-minute window', () => {
    const { input } = world();
    expect(reasonOf(precheckText({ ...input, time: trustedAt(CODE_TS_MS + 5 * MIN_MS + 1, 0) }))).toBe('TIME_OUT_OF_WINDOW');
    expect(reasonOf(precheckText({ ...input, time: trustedAt(CODE_TS_MS - 5 * MIN_MS - 1, 0) }))).toBe('TIME_OUT_OF_WINDOW');
    expect(precheckText({ ...input, time: trustedAt(CODE_TS_MS + 5 * MIN_MS, 0) }).ok).toBe(true);
  });

  it('narrows the window by the clock uncertainty instead of widening it', () => {
    const { input } = world();
    // With 30 s of uncertainty the window is 4 min 30 s each way around the estimate.
    expect(precheckText({ ...input, time: trustedAt(CODE_TS_MS + 4.5 * MIN_MS, 30_000) }).ok).toBe(true);
    expect(reasonOf(precheckText({ ...input, time: trustedAt(CODE_TS_MS + 4.5 * MIN_MS + 1, 30_000) }))).toBe('TIME_OUT_OF_WINDOW');
  });

  it('declines an amount over the credential per-payment limit', () => {
    const { input } = world();
    expect(precheckText({ ...input, amount: jpy(5_000) }).ok).toBe(true);
    expect(reasonOf(precheckText({ ...input, amount: jpy(5_001) }))).toBe('OFFLINE_LIMIT_PER_PAYMENT');
  });

  it('declines a payment in a currency other than the credential', () => {
    const { input } = world();
    const usdKiosk = offlinePolicy({ storedAmountMax: { value: 2_000_00, currency: 'USD' } });
    const r = precheckText({
      ...input,
      policy: usdKiosk,
      amount: { value: 100, currency: 'USD' },
      exposure: { ...input.exposure, storedAmount: { value: 0, currency: 'USD' } },
    });
    expect(reasonOf(r)).toBe('CURRENCY_MISMATCH');
  });

  it('declines a counter this kiosk has already accepted (a replay)', () => {
    const { input } = world();
    const r = precheckText({ ...input, seenCounter: (id, n) => id === '0123456789abcdef' && n === 1 });
    expect(r).toEqual({ ok: false, reason: 'COUNTER_REUSED', shopperText: 'This code was already used. Please show a new code.' });
  });

  it('declines after 24 hours without uplink, or if the kiosk never reached the server', () => {
    const { input } = world();
    const now = input.time.estimateMs;
    const since = (lastUplinkAtMs: number | null) => precheckText({ ...input, exposure: { ...input.exposure, lastUplinkAtMs } });
    expect(since(now + 10 - 24 * HOUR_MS).ok).toBe(true);
    expect(causeOf(since(now + 10 - 24 * HOUR_MS - 1))).toBe('OFFLINE_TOO_LONG');
    expect(causeOf(since(null))).toBe('OFFLINE_TOO_LONG');
  });

  it('declines the 201st stored payment', () => {
    const { input } = world();
    const stored = (storedCount: number) => precheckText({ ...input, exposure: { ...input.exposure, storedCount } });
    expect(stored(199).ok).toBe(true);
    expect(causeOf(stored(200))).toBe('STORED_COUNT_CAP');
  });

  it('declines a payment that would take the stored amount over 200,000 JPY', () => {
    const { input } = world();
    const stored = (value: number) => precheckText({ ...input, exposure: { ...input.exposure, storedAmount: jpy(value) } });
    expect(stored(200_000 - 1_200).ok).toBe(true);
    expect(causeOf(stored(200_000 - 1_200 + 1))).toBe('STORED_AMOUNT_CAP');
  });
});

describe('offline pre-check: order and policy', () => {
  it('reports the first failing step: signatures before the clock, the clock before the list', () => {
    const { f, input } = world();
    const untrusted = { estimateMs: CODE_TS_MS, uncertaintyMs: Infinity, trusted: false };
    const foreign = new OfflineQrVerifier({ issuerKeys: new Map(), ed: nodeEd25519 });
    expect(reasonOf(precheckText({ ...input, verifier: foreign, time: untrusted }))).toBe('CREDENTIAL_INVALID');
    const empty = new RevocationCache({ issuerKeys: f.issuerKeys, ed: nodeEd25519 });
    expect(causeOf(precheckText({ ...input, revocations: empty, time: untrusted }))).toBe('CLOCK_UNTRUSTED');
    expect(reasonOf(precheckText({ ...input, text: makeOnlineCode(seededRandom(1)), amount: jpy(0) }))).toBe('AMOUNT_INVALID');
  });

  it('has the documented defaults, frozen', () => {
    expect(OFFLINE_POLICY_DEFAULTS).toEqual({
      windowMs: 300_000,
      clockUncertaintyMaxMs: 60_000,
      storedCountMax: 200,
      storedAmountMax: { value: 200_000, currency: 'JPY' },
      offlineDurationMaxMs: 86_400_000,
      revocationFreshAgeMs: 6 * HOUR_MS,
      staleRevocations: { storedCountMax: 50, storedAmountMax: 50_000, maxAgeMs: 72 * HOUR_MS },
      untrustedClock: { storedCountMax: 20, storedAmountMax: 20_000, durationMaxMs: 12 * HOUR_MS },
    });
    expect(Object.isFrozen(OFFLINE_POLICY_DEFAULTS) && Object.isFrozen(OFFLINE_POLICY_DEFAULTS.storedAmountMax)).toBe(true);
  });

  it('refuses a contradictory policy at start-up', () => {
    expect(() => offlinePolicy({ clockUncertaintyMaxMs: 300_000 })).toThrow(/clockUncertaintyMaxMs/);
    expect(() => offlinePolicy({ storedCountMax: 0 })).toThrow(/storedCountMax/);
    expect(() => offlinePolicy({ storedAmountMax: jpy(0) })).toThrow(/storedAmountMax/);
    expect(() => offlinePolicy({ offlineDurationMaxMs: -1 })).toThrow(/offlineDurationMaxMs/);
    expect(() => offlinePolicy({ windowMs: 0 })).toThrow(/windowMs/);
    expect(offlinePolicy({ storedCountMax: 500 }).storedCountMax).toBe(500);
  });

  it('works end to end with the real clock and list: declined after a reboot with no bound, accepted after a sync', () => {
    const { input } = world();
    let mono = 0;
    const clock = TrustedClock.afterReboot(null, 0, mono);
    expect(causeOf(precheckText({ ...input, time: clock.now(mono) }))).toBe('CLOCK_UNTRUSTED');
    // A sync measured on the monotonic clock: sent at 1000, answered 40 ms later at server time CODE_TS_MS.
    const t0 = 1_000,
      t3 = 1_040,
      t1 = CODE_TS_MS - 20;
    clock.sync(timeSample(t0, t1, t1, t3), t3);
    mono = t3 + 2_000;
    expect(precheckText({ ...input, time: clock.now(mono) })).toMatchObject({ ok: true, capturedAtMs: CODE_TS_MS + 2_000 });
  });
});

describe('offline pre-check: an untrusted clock (a reboot without uplink and no trusted RTC)', () => {
  /** Rebooted 1 h after the bound was persisted; the kiosk knows only that server time is past it. */
  const BOUND_MS = T0_MS - 30 * MIN_MS;
  const untrusted = (untrustedForMs = 0, earliestMs: number | null = BOUND_MS + untrustedForMs): TrustedTime => ({
    estimateMs: earliestMs ?? 0,
    uncertaintyMs: Infinity,
    trusted: false,
    source: 'none',
    earliestMs,
    untrustedForMs,
  });

  it('accepts a code newer than the persisted bound, captured at its own timestamp, within the untrusted caps', () => {
    const { input } = world();
    const r = precheckText({ ...input, time: untrusted() });
    expect(r).toMatchObject({ ok: true, capturedAtMs: CODE_TS_MS, mode: { clock: 'none', list: 'fresh' } });
    // 20 stored payments, or ¥20,000: the untrusted caps, far below the full 200 and ¥200,000.
    expect(causeOf(precheckText({ ...input, time: untrusted(), exposure: { ...input.exposure, storedCount: 20 } }))).toBe(
      'STORED_COUNT_CAP',
    );
    expect(causeOf(precheckText({ ...input, time: untrusted(), exposure: { ...input.exposure, storedAmount: jpy(19_000) } }))).toBe(
      'STORED_AMOUNT_CAP',
    );
  });

  it('declines a code older than the persisted bound minus the window, in every clock mode', () => {
    const { input, code } = world();
    const old = code(BOUND_MS - 5 * MIN_MS - 1);
    expect(precheckText({ ...input, text: old, time: untrusted() })).toMatchObject({ ok: false, reason: 'TIME_OUT_OF_WINDOW' });
    expect(precheckText({ ...input, text: code(BOUND_MS - 5 * MIN_MS), time: untrusted() }).ok).toBe(true);
    // A trusted (RTC) reading whose window would allow the code still honours the bound.
    const rtc: TrustedTime = {
      estimateMs: BOUND_MS - 60_000,
      uncertaintyMs: 1_000,
      trusted: true,
      source: 'rtc',
      earliestMs: BOUND_MS + 5 * MIN_MS,
    };
    expect(precheckText({ ...input, text: code(BOUND_MS - 60_000), time: rtc })).toMatchObject({
      ok: false,
      reason: 'TIME_OUT_OF_WINDOW',
    });
  });

  it('captures at the earliest possible time when the code is older than it, so settlement sees it within the window', () => {
    const { input, code } = world();
    const r = precheckText({ ...input, text: code(BOUND_MS - 2 * MIN_MS), time: untrusted() });
    expect(r).toMatchObject({ ok: true, capturedAtMs: BOUND_MS });
  });

  it('stops after 12 hours of running on an untrusted clock, and without a persisted bound at all', () => {
    const { input, code } = world();
    const later = (ms: number) => ({
      ...input,
      text: code(BOUND_MS + ms),
      time: untrusted(ms),
      exposure: { ...input.exposure, lastUplinkAtMs: BOUND_MS },
    });
    expect(precheckText(later(12 * HOUR_MS)).ok).toBe(true);
    expect(causeOf(precheckText(later(12 * HOUR_MS + 1)))).toBe('CLOCK_UNTRUSTED_TOO_LONG');
    expect(causeOf(precheckText({ ...input, time: untrusted(0, null) }))).toBe('CLOCK_UNTRUSTED');
    const off = offlinePolicy({ untrustedClock: { storedCountMax: 0, storedAmountMax: 0, durationMaxMs: 0 } });
    expect(causeOf(precheckText({ ...input, policy: off, time: untrusted() }))).toBe('CLOCK_UNTRUSTED');
  });

  it("judges time since the last uplink and the list's age from the earliest possible time", () => {
    const { input, code } = world();
    expect(
      causeOf(precheckText({ ...input, time: untrusted(), exposure: { ...input.exposure, lastUplinkAtMs: BOUND_MS - 24 * HOUR_MS - 1 } })),
    ).toBe('OFFLINE_TOO_LONG');
    // The list was issued at T0 - 1 h: 6.5 h after the bound it is stale by the earliest time, so the stale caps (50) apply too; the untrusted ones (20) are tighter.
    const r = precheckText({
      ...input,
      text: code(BOUND_MS + 6 * HOUR_MS),
      time: untrusted(6 * HOUR_MS),
      exposure: { ...input.exposure, lastUplinkAtMs: BOUND_MS },
    });
    expect(r).toMatchObject({ ok: true, mode: { clock: 'none', list: 'stale' } });
  });
});
