// SPDX-License-Identifier: Apache-2.0
// The kiosk's copy of the server's signed revocation list (docs/protocol.md section 3.7), and the
// list's age (section 3.6: a revocation younger than revocationMaxAgeMs at capture is the server's
// loss, an older one the merchant's). The pre-check grades that age with the kiosk's policy
// (offline-mode.ts): full caps while fresh, reduced caps while stale, nothing past a hard bound.
//
// A list is taken only when, in this order: the message matches its schema; its keyId names a
// PINNED issuer key (provisioned, never learned from the keys topic); the Ed25519 signature over
// "kioskpay/revocations/v1\0" + body verifies (before the body is parsed); the body parses; and its
// seq is greater than the cached one. The broker's retained copy is re-delivered on every
// reconnect, so an equal seq is normal and simply ignored.
import { concatBytes, fromBase64url, utf8 } from '../../../shared/bytes.ts';
import type { Ed25519 } from '../../../shared/crypto/ed25519.ts';
import {
  revocationsBody,
  revocationsMessage,
  type RevocationsMessage,
  REVOCATIONS_SIGNING_PREFIX,
} from '../../../shared/kiosk-messages.ts';
import { assert } from '../../../shared/assert.ts';
import type { KioskOfflineCause } from './offline-unavailable.ts';
import type { TrustedTime } from './trusted-clock.ts';

/** Matches the server's revocationMaxAgeMs default (server/config.ts): 6 hours. */
export const REVOCATION_MAX_AGE_MS_DEFAULT = 6 * 3_600_000;

export type RevocationRejection =
  /** Not a revocations message (schema). */
  | 'MALFORMED'
  /** keyId names no pinned issuer key. */
  | 'UNKNOWN_KEY'
  | 'SIGNATURE_INVALID'
  /** Signed, but the body is not a valid list: a server bug, never trusted. */
  | 'BODY_MALFORMED'
  /** seq not greater than the cached list's (a re-delivery or a replay of an old list). */
  | 'NOT_NEWER';

export type RevocationAcceptResult = { accepted: true; seq: number } | { accepted: false; reason: RevocationRejection };

export type RevocationCheck =
  | { ok: true; ageMs: number }
  | { ok: false; reason: 'CREDENTIAL_REVOKED' }
  | {
      ok: false;
      reason: 'KIOSK_OFFLINE_UNAVAILABLE';
      cause: Extract<KioskOfflineCause, 'REVOCATIONS_MISSING' | 'REVOCATIONS_STALE' | 'CLOCK_UNTRUSTED'>;
    };

export type RevocationAge =
  /** lowerBoundOnly: measured from the earliest possible time (untrusted clock); the list may be older. */
  | { ok: true; ageMs: number; lowerBoundOnly: boolean }
  | { ok: false; cause: Extract<KioskOfflineCause, 'REVOCATIONS_MISSING' | 'CLOCK_UNTRUSTED'> };

export interface RevocationCacheOptions {
  /** Pinned at provisioning: keyId -> 32-byte Ed25519 public key. */
  issuerKeys: ReadonlyMap<number, Uint8Array>;
  ed: Ed25519;
  maxAgeMs?: number;
}

interface CachedList {
  seq: number;
  issuedAtMs: number;
  revoked: ReadonlySet<string>;
  /** Kept verbatim for persistence: it is re-verified when loaded. */
  message: RevocationsMessage;
}

export class RevocationCache {
  readonly #o: RevocationCacheOptions;
  readonly maxAgeMs: number;
  #list: CachedList | null = null;

  constructor(o: RevocationCacheOptions) {
    const maxAgeMs = o.maxAgeMs ?? REVOCATION_MAX_AGE_MS_DEFAULT;
    assert(Number.isFinite(maxAgeMs) && maxAgeMs > 0, 'maxAgeMs must be a positive finite number');
    this.#o = o;
    this.maxAgeMs = maxAgeMs;
  }

  /** seq and issuedAt of the cached list, for status telemetry; null before the first list. */
  get current(): { seq: number; issuedAtMs: number; size: number } | null {
    const l = this.#list;
    return l === null ? null : { seq: l.seq, issuedAtMs: l.issuedAtMs, size: l.revoked.size };
  }

  /**
   * Offers a message: a parsed JSON value from the revocations topic, or the saved one at start-up.
   * Never throws; the cache changes only when the result is accepted.
   */
  accept(value: unknown): RevocationAcceptResult {
    const m = revocationsMessage.safeParse(value);
    if (!m.success) return { accepted: false, reason: 'MALFORMED' };
    const msg = m.data;
    const key = this.#o.issuerKeys.get(msg.keyId);
    if (key === undefined) return { accepted: false, reason: 'UNKNOWN_KEY' };
    const sig = fromBase64url(msg.sig);
    const signed = concatBytes(utf8(REVOCATIONS_SIGNING_PREFIX), utf8(msg.body));
    if (sig === undefined || !this.#o.ed.verify(signed, sig, key)) return { accepted: false, reason: 'SIGNATURE_INVALID' };
    let json: unknown;
    try {
      json = JSON.parse(msg.body);
    } catch {
      return { accepted: false, reason: 'BODY_MALFORMED' };
    }
    const body = revocationsBody.safeParse(json);
    if (!body.success || !Number.isFinite(body.data.issuedAt)) return { accepted: false, reason: 'BODY_MALFORMED' };
    if (this.#list !== null && body.data.seq <= this.#list.seq) return { accepted: false, reason: 'NOT_NEWER' };
    this.#list = { seq: body.data.seq, issuedAtMs: body.data.issuedAt, revoked: new Set(body.data.credentials), message: msg };
    return { accepted: true, seq: body.data.seq };
  }

  /** The signed message to persist (JSON-safe); give it back to accept() after a restart. */
  toState(): RevocationsMessage | null {
    return this.#list === null ? null : { ...this.#list.message };
  }

  /**
   * How old the list is. With a trusted clock the age is judged pessimistically: (estimate +
   * uncertainty) - issuedAt, the oldest the list can be. With an untrusted clock only a lower bound
   * is known, from the earliest time server time can be (`earliestMs`); the offline policy bounds
   * that risk with its own caps. A list issued "in the future" by the kiosk's clock has age 0.
   */
  ageOf(now: TrustedTime): RevocationAge {
    const l = this.#list;
    if (l === null) return { ok: false, cause: 'REVOCATIONS_MISSING' };
    if (now.trusted && Number.isFinite(now.uncertaintyMs))
      return { ok: true, ageMs: Math.max(0, now.estimateMs + now.uncertaintyMs - l.issuedAtMs), lowerBoundOnly: false };
    if (!now.trusted && now.earliestMs !== undefined && now.earliestMs !== null && Number.isFinite(now.earliestMs)) {
      return { ok: true, ageMs: Math.max(0, now.earliestMs - l.issuedAtMs), lowerBoundOnly: true };
    }
    return { ok: false, cause: 'CLOCK_UNTRUSTED' };
  }

  isRevoked(credentialId: string): boolean {
    return this.#list?.revoked.has(credentialId) ?? false;
  }

  /**
   * May a code on this credential be accepted offline now, by this cache's maxAgeMs alone? (The
   * kiosk's pre-check grades the age with its policy instead: offline-mode.ts.) Without a trusted
   * clock the age is unknown: CLOCK_UNTRUSTED.
   */
  check(credentialId: string, now: TrustedTime): RevocationCheck {
    const age = this.ageOf(now.trusted ? now : { ...now, earliestMs: null });
    if (!age.ok) return { ok: false, reason: 'KIOSK_OFFLINE_UNAVAILABLE', cause: age.cause };
    if (!(age.ageMs <= this.maxAgeMs)) return { ok: false, reason: 'KIOSK_OFFLINE_UNAVAILABLE', cause: 'REVOCATIONS_STALE' };
    if (this.isRevoked(credentialId)) return { ok: false, reason: 'CREDENTIAL_REVOKED' };
    return { ok: true, ageMs: age.ageMs };
  }
}
