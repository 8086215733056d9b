// SPDX-License-Identifier: Apache-2.0
// The kiosk's offline desk: the I/O around the pure pre-check (domain/offline/offline-precheck.ts).
// It reads the trusted clock, the revocation cache, the outbox's exposure and the policy caps, runs
// the pre-check, and writes an accepted payment to the durable outbox. It keeps nothing between the
// two: precheck() answers what it accepted (the decoded code, the amount, the capture time), the
// checkout machine carries that in its state, and store() writes exactly that. The machine only
// says "approved" after store() resolved, i.e. after the entry is fsync'd.
//
// A store the machine gave up on (discard) must never settle, whatever its write does later or a
// power loss does to it. discard() records the txId in the kiosk's durable list of discarded txIds
// and resolves only once that is durable; the machine declines only then. The forwarder never sends
// a listed txId. A late append is removed again, and only then is the txId dropped from the list;
// after a power loss, sweepDiscarded() at start removes any listed entry that did land. An append
// that fails is listed too (a failed write may still be on disk when the outbox is reopened).
// A write that lands while the screen still says "please wait" and then power is lost is the only
// way left to charge a shopper who was not told "approved" (outbox-store.ts: an interrupted append).
import { assert } from '../../shared/assert.ts';
import type { DecodedCode } from '../../shared/codes/decode.ts';
import type { OfflineQrVerifier } from '../../shared/codes/offline-qr-verifier.ts';
import type { SaleLine } from '../../shared/kiosk-messages.ts';
import type { KioskPolicy } from '../../shared/kiosk-policy.ts';
import type { Currency, Money } from '../../shared/money.ts';
import { ERRORS, type ErrorCode } from '../../shared/errors.ts';
import { offlineUnavailableCause } from '../domain/offline/offline-mode.ts';
import {
  offlinePolicy,
  precheckOfflineCode,
  type OfflineExposure,
  type OfflinePrecheckResult,
} from '../domain/offline/offline-precheck.ts';
import type { RevocationCache } from '../domain/offline/revocation-cache.ts';
import type { TrustedTime } from '../domain/offline/trusted-clock.ts';
import type { KioskOfflineCause } from '../domain/offline/offline-unavailable.ts';
import { isOutboxError, type OutboxErrorCode, type OutboxStore } from '../outbox/outbox-store.ts';
import { checkCredentialSpend, type SpendRecord } from '../domain/offline/credential-spend.ts';
import type { PrecheckedPayment } from '../domain/checkout/types.ts';

export interface OfflineDeskDeps {
  currency: Currency;
  verifier: Pick<OfflineQrVerifier, 'verify'>;
  revocations: Pick<RevocationCache, 'ageOf' | 'isRevoked'>;
  outbox: OutboxStore;
  /** The trusted clock read now. */
  time: () => TrustedTime;
  policy: () => KioskPolicy;
  lastUplinkAtMs: () => number | null;
  windowMs: number;
  clockUncertaintyMaxMs: number;
  /** Per-credential rolling counters (credential-spend.ts): what this kiosk took, and where to note more. */
  spend?: { records(): readonly SpendRecord[]; note(r: SpendRecord): void };
  /** Up to this age the revocation list is fresh (config offline.revocationMaxAgeMs, the server's loss line). */
  revocationFreshAgeMs: number;
  /** The durable list of txIds that must never settle (the kiosk state's `discarded`). */
  discarded: DiscardedTxIds;
}

/** txIds whose store the checkout gave up on; the forwarder never sends one. */
export interface DiscardedTxIds {
  /** Listed now (in memory at once, before the write is durable). */
  has(txId: string): boolean;
  list(): readonly string[];
  /** Lists txId; resolves once durable. */
  add(txId: string): Promise<void>;
  /** Unlists txIds; resolves once durable. */
  drop(txIds: readonly string[]): Promise<void>;
}

/** A list in memory only (benches, tests of the pre-check): it does not survive a restart. */
export function discardedInMemory(): DiscardedTxIds {
  let txIds: string[] = [];
  return {
    has: (txId) => txIds.includes(txId),
    list: () => txIds,
    add: async (txId) => {
      txIds = [...txIds.filter((t) => t !== txId), txId];
    },
    drop: async (gone) => {
      txIds = txIds.filter((t) => !gone.includes(t));
    },
  };
}

/** Appends the outbox refused without writing (DUPLICATE_TX: another entry holds the txId, keep it). */
const REFUSALS: readonly OutboxErrorCode[] = ['OUTBOX_FULL', 'DUPLICATE_TX', 'COUNTER_SEEN', 'STORE_CLOSED'];

/** Offline codes sent online that the desk remembers (memory only; the server is the last word). */
export const SENT_ONLINE_REMEMBERED_MAX = 1_000;

export type PrecheckAnswer =
  | { ok: true; payment: PrecheckedPayment }
  | { ok: false; reason: ErrorCode; cause?: KioskOfflineCause | undefined };

export class OfflineDesk {
  readonly #d: OfflineDeskDeps;
  /** txIds whose append has not settled yet. */
  readonly #storing = new Set<string>();
  /** Offline QR codes this kiosk sent to the server online (credentialId:counter), most recent last. */
  readonly #sentOnline = new Set<string>();

  constructor(deps: OfflineDeskDeps) {
    this.#d = deps;
  }

  /** The pure pre-check against the current exposure; an accepted payment is what store() takes. */
  precheck(code: DecodedCode, amount: Money): PrecheckAnswer & { result: OfflinePrecheckResult } {
    const d = this.#d;
    const result = precheckOfflineCode({
      code,
      amount,
      verifier: d.verifier,
      revocations: d.revocations,
      time: d.time(),
      seenCounter: (credentialId, counter) =>
        d.outbox.hasCounter(credentialId, counter) || this.#sentOnline.has(`${credentialId}:${counter}`),
      exposure: this.#exposure(),
      policy: this.#policy(),
    });
    if (!result.ok) return { ok: false, reason: result.reason, cause: result.cause, result };
    assert(code.kind === 'offline-qr', 'the pre-check accepts only an offline QR code');
    const payment: PrecheckedPayment = {
      code,
      amount: { value: amount.value, currency: amount.currency },
      capturedAtMs: result.capturedAtMs,
    };
    const over = this.#overLimits(payment);
    if (over) return { ok: false, reason: over, result: { ok: false, reason: over, shopperText: ERRORS[over].shopper } };
    return { ok: true, payment, result };
  }

  /** The signed rolling limits against this kiosk's own stored payments from the same credential. */
  #overLimits({ code, amount, capturedAtMs }: PrecheckedPayment): ErrorCode | undefined {
    const spend = this.#d.spend;
    if (!spend) return undefined;
    return checkCredentialSpend(spend.records(), code.credential.credentialId, code.credential.limits, amount, capturedAtMs);
  }

  /**
   * Why no offline code could be taken now, whatever is shown (undefined: one could). For the
   * screen, before the shopper scans; the uplink being down is the caller's condition.
   */
  unavailableCause(): KioskOfflineCause | undefined {
    const d = this.#d;
    if (d.policy().mode === 'require-online') return 'POLICY_REQUIRES_ONLINE';
    const time = d.time();
    return offlineUnavailableCause(time, d.revocations.ageOf(time), this.#exposure(), this.#policy());
  }

  #exposure(): OfflineExposure {
    const d = this.#d;
    const stats = d.outbox.stats();
    return {
      storedCount: stats.count,
      storedAmount: { value: stats.amountByCurrency[d.currency] ?? 0, currency: d.currency },
      lastUplinkAtMs: d.lastUplinkAtMs(),
    };
  }

  #policy() {
    const d = this.#d;
    const p = d.policy();
    return offlinePolicy({
      windowMs: d.windowMs,
      clockUncertaintyMaxMs: d.clockUncertaintyMaxMs,
      storedCountMax: p.caps.storedCountMax,
      storedAmountMax: { value: p.caps.storedAmountMax, currency: d.currency },
      offlineDurationMaxMs: p.caps.offlineDurationMaxMs,
      revocationFreshAgeMs: d.revocationFreshAgeMs,
      staleRevocations: p.staleRevocations,
      untrustedClock: p.untrustedClock,
    });
  }

  /**
   * Remembers an offline QR code that went to the server online, so the same code is refused here
   * if the uplink drops and it is shown again (the outbox only knows codes it stored). Bounded.
   */
  noteSentOnline(code: DecodedCode): void {
    if (code.kind !== 'offline-qr') return;
    const key = `${code.credential.credentialId}:${code.counter}`;
    this.#sentOnline.delete(key);
    this.#sentOnline.add(key);
    if (this.#sentOnline.size > SENT_ONLINE_REMEMBERED_MAX) this.#sentOnline.delete(this.#sentOnline.values().next().value!);
  }

  /** Appends what precheck() accepted, with what it sold (if listed), to the outbox; resolves once it is durable. */
  async store(txId: string, payment: PrecheckedPayment, lines?: readonly SaleLine[]): Promise<void> {
    const { code, amount, capturedAtMs } = payment;
    const credentialId = code.credential.credentialId;
    this.#storing.add(txId);
    try {
      await this.#d.outbox.append({
        txId,
        code: code.text,
        amount: { value: amount.value, currency: amount.currency },
        capturedAt: capturedAtMs,
        credentialId,
        counter: code.counter,
        ...(lines === undefined ? {} : { lines }),
      });
    } catch (e) {
      // Declined next. A failed write (not a refusal) may still be on disk after a reopen: listed first.
      if (!REFUSALS.some((c) => isOutboxError(e, c))) await this.#d.discarded.add(txId);
      throw e;
    } finally {
      this.#storing.delete(txId);
    }
    // The machine gave up first: the entry leaves again (listed, so it is never sent meanwhile).
    if (this.#d.discarded.has(txId)) return this.#remove([txId]);
    // Kept beyond forwarding for the counters; until that write lands, the outbox entry counts.
    this.#d.spend?.note({ txId, credentialId, amount: { value: amount.value, currency: amount.currency }, capturedAt: capturedAtMs });
  }

  /**
   * The machine gave up waiting for store(): lists this txId as never to settle and resolves once
   * that is durable (the machine declines then). A write still pending removes its entry when it lands.
   */
  async discard(txId: string): Promise<void> {
    await this.#d.discarded.add(txId);
    if (!this.#storing.has(txId) && this.#d.outbox.list().some((e) => e.txId === txId)) void this.#remove([txId]).catch(() => undefined);
  }

  /**
   * At start, before any sale: listed entries that landed before a power loss leave the outbox, then
   * the list is emptied. An outbox that cannot write keeps the list (and the entries stay unsent).
   */
  async sweepDiscarded(): Promise<string[]> {
    const listed = this.#d.discarded.list().filter((t) => !this.#storing.has(t));
    if (listed.length === 0) return [];
    const stored = new Set(this.#d.outbox.list().map((e) => e.txId));
    await this.#remove(
      listed.filter((t) => stored.has(t)),
      listed,
    );
    return listed;
  }

  /** Removes entries durably, and only then unlists them (and any `alsoDrop`). */
  async #remove(txIds: readonly string[], alsoDrop: readonly string[] = txIds): Promise<void> {
    if (txIds.length > 0) await this.#d.outbox.acknowledge(txIds);
    await this.#d.discarded.drop(alsoDrop);
  }
}
