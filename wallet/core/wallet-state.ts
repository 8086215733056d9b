// SPDX-License-Identifier: Apache-2.0
// The wallet's whole durable state, its schema, and pure functions on it. Nothing here does I/O:
// the CLI keeps the state in a JSON file (cli/state-file.ts), the browser wallet will keep it in
// IndexedDB, both behind WalletStateStore.
//
// Secrets in the state: the bearer token, the phone key seed (the Ed25519 private key) and the numeric
// offline secret. They never leave the store except to sign or authenticate; `redactState` is the
// only view that may be printed or logged.
import { z } from 'zod';
import { assert } from '../../shared/assert.ts';
import { fromBase64url, toBase64url } from '../../shared/bytes.ts';
import type { Ed25519, Ed25519KeyPair } from '../../shared/crypto/ed25519.ts';
import { currencySchema } from '../../shared/schemas.ts';
import type { TimeSample } from '../../shared/time-sync.ts';
import { limitsSchema, type EnrollResponse, type PaymentRecord } from '../../shared/wallet-messages.ts';

export const WALLET_STATE_VERSION = 1;
/** Offline-code counters are unsigned 32-bit in the code layout; the wallet never wraps around. */
export const COUNTER_MAX = 0xffff_ffff;
/** Pending (shown, not yet seen in history) offline codes kept; the oldest are dropped first. */
export const PENDING_CODES_MAX = 64;
/** Shown offline codes remembered for the rolling limits (the 30-day count limit is far below). */
export const SHOWN_CODES_MAX = 1_000;
/** A pending code older than this is dropped: past every rolling limit window (30 days). */
export const PENDING_CODE_AGE_MS_MAX = 31 * 86_400_000;
/** Claim 5: the clock is re-synced when the last sync is older than this. */
export const CLOCK_SYNC_AGE_MS_MAX = 60 * 60_000;

const b64urlBytes = (n: number) => z.string().regex(new RegExp(`^[A-Za-z0-9_-]{${Math.ceil((n * 4) / 3)}}$`));

const storedCredentialSchema = z.strictObject({
  /** The credential exactly as the server signed it, base64url. Embedded in every offline QR code. */
  bytes: z.string().regex(/^[A-Za-z0-9_-]+$/),
  credentialId: z.string().regex(/^[0-9a-f]{16}$/),
  notBeforeMs: z.int(),
  notAfterMs: z.int(),
  /** Server's suggestion for renewal, well before expiry (claims 4 and 10: renewed rarely). */
  renewAfterMs: z.int(),
  limits: limitsSchema,
  numeric: z.strictObject({ handle: z.string().regex(/^\d{8}$/), secret: b64urlBytes(32), stepMs: z.int().min(1000) }),
  /** Local wall-clock time it was received. */
  receivedAtMs: z.number(),
});

const pendingCodeSchema = z.strictObject({
  form: z.enum(['qr', 'numeric']),
  credentialId: z.string(),
  /** The QR code's counter, or the numeric code's time step. */
  counter: z.int().min(0),
  /** Corrected (server) time the code was made. */
  shownAtMs: z.number(),
});

/**
 * Every offline code this phone has shown in the last 31 days, for its own count of the rolling
 * offline limits (offline-limits.ts): a code counts from the moment it is shown, at its amount cap
 * (or the per-payment limit) until history says what it was charged.
 */
const shownCodeSchema = z.strictObject({
  form: z.enum(['qr', 'numeric']),
  credentialId: z.string(),
  counter: z.int().min(0),
  shownAtMs: z.number(),
  /** The cap signed into the code (offline QR version 2). */
  amountCap: z.int().min(0).optional(),
  /** What the server charged for it, once history shows it (0: declined). */
  charged: z.int().min(0).optional(),
  /** A refresh of the code before it on the same screen (the shopper pays with one of them). */
  sameSitting: z.literal(true).optional(),
});

export const walletStateSchema = z.strictObject({
  version: z.literal(WALLET_STATE_VERSION),
  serverUrl: z.string(),
  enrollment: z
    .strictObject({
      walletId: z.string(),
      token: z.string(),
      currency: currencySchema,
      enrolledAtMs: z.number(),
    })
    .optional(),
  /** Seed of the phone's Ed25519 key pair: the private key. Created on first credential request. */
  phoneKeySeed: b64urlBytes(32).optional(),
  credential: storedCredentialSchema.optional(),
  /** The counter the next offline QR code uses. Only ever grows, across credentials too. */
  nextCounter: z
    .int()
    .min(1)
    .max(COUNTER_MAX + 1),
  /** The newest numeric time step shown, so the same numeric code is never shown for two payments. */
  lastNumericStep: z.strictObject({ credentialId: z.string(), step: z.int().min(0) }).optional(),
  clock: z
    .strictObject({
      /** Add to the local wall clock to get server time. */
      offsetMs: z.int(),
      /** Half the best sample's round trip: the largest error of the offset. */
      uncertaintyMs: z.int().min(0),
      roundTripMs: z.int().min(0),
      /** Local wall-clock time of the sync. */
      syncedAtMs: z.number(),
    })
    .optional(),
  pending: z.array(pendingCodeSchema).max(PENDING_CODES_MAX),
  /** Absent in state files written before the wallet counted its own codes: read as none shown. */
  shown: z.array(shownCodeSchema).max(SHOWN_CODES_MAX).optional(),
});

export type WalletState = z.infer<typeof walletStateSchema>;
export type StoredCredential = z.infer<typeof storedCredentialSchema>;
export type PendingCode = z.infer<typeof pendingCodeSchema>;
export type ShownCode = z.infer<typeof shownCodeSchema>;

/** How the next offline code is made: its amount cap, and whether it refreshes the code on screen. */
export interface NextCodeOptions {
  amountCap?: number | undefined;
  /** The screen's periodic refresh: the new code replaces the one shown (one payment between them). */
  sameSitting?: boolean | undefined;
}
export type Enrollment = NonNullable<WalletState['enrollment']>;

/** Where the wallet state lives: a JSON file for the CLI, IndexedDB for the browser wallet. */
export interface WalletStateStore {
  /** The saved state, or undefined if none was ever saved. Rejects with WalletError STATE_CORRUPT if unreadable. */
  load(): Promise<WalletState | undefined>;
  /**
   * Replaces the saved state. Resolves only once the new state is durable (survives a crash or power
   * loss); rejects, leaving the previous state intact, otherwise.
   */
  save(state: WalletState): Promise<void>;
}

export function newWalletState(serverUrl: string): WalletState {
  return { version: WALLET_STATE_VERSION, serverUrl, nextCounter: 1, pending: [] };
}

export function withEnrollment(state: WalletState, e: EnrollResponse, nowMs: number): WalletState {
  assert(state.enrollment === undefined, 'wallet is already enrolled');
  return { ...state, enrollment: { walletId: e.walletId, token: e.token, currency: e.currency, enrolledAtMs: nowMs } };
}

/** Stores the phone key seed. The seed is set once; replacing it would orphan the credential. */
export function withPhoneKeySeed(state: WalletState, seed: Uint8Array): WalletState {
  assert(seed.length === 32, 'phone key seed must be 32 bytes');
  assert(state.phoneKeySeed === undefined, 'phone key seed is already set');
  return { ...state, phoneKeySeed: toBase64url(seed) };
}

/** The phone's key pair, derived in memory for signing. Undefined before the first credential request. */
export function phoneKeyPair(state: WalletState, ed: Ed25519): Ed25519KeyPair | undefined {
  if (state.phoneKeySeed === undefined) return undefined;
  const seed = fromBase64url(state.phoneKeySeed);
  assert(seed !== undefined && seed.length === 32, 'stored phone key seed is not 32 bytes of base64url');
  return ed.keyPairFromSeed(seed);
}

export function withCredential(state: WalletState, credential: StoredCredential): WalletState {
  return { ...state, credential };
}

export function withoutCredential(state: WalletState): WalletState {
  const { credential: _dropped, ...rest } = state;
  return rest;
}

export function withClockSync(state: WalletState, sample: TimeSample, syncedAtMs: number): WalletState {
  return {
    ...state,
    clock: { offsetMs: sample.offsetMs, uncertaintyMs: sample.uncertaintyMs, roundTripMs: sample.roundTripMs, syncedAtMs },
  };
}

/** Server time as the wallet best knows it, or undefined if the clock was never synced. */
export function correctedNowMs(state: WalletState, localNowMs: number): number | undefined {
  return state.clock === undefined ? undefined : Math.floor(localNowMs + state.clock.offsetMs);
}

/** Claim 5: sync at set moments. Never synced, older than `maxAgeMs`, or the local clock went backwards. */
export function clockSyncDue(state: WalletState, localNowMs: number, maxAgeMs = CLOCK_SYNC_AGE_MS_MAX): boolean {
  if (state.clock === undefined) return true;
  const age = localNowMs - state.clock.syncedAtMs;
  return age < 0 || age > maxAgeMs;
}

/** True when a credential is held and it is past the server's renewAfter (or already expired). */
export function credentialRenewalDue(state: WalletState, localNowMs: number): boolean {
  if (state.credential === undefined || state.enrollment === undefined) return false;
  const now = correctedNowMs(state, localNowMs) ?? localNowMs;
  return now >= state.credential.renewAfterMs;
}

/**
 * Remembers a shown offline code: until history shows it was used (pending), and for the rolling
 * limits (shown). Keeps the newest PENDING_CODES_MAX and SHOWN_CODES_MAX.
 */
export function withPendingCode(state: WalletState, code: PendingCode, next: NextCodeOptions = {}): WalletState {
  const pending = [...state.pending, code];
  const shown = [
    ...(state.shown ?? []),
    {
      ...code,
      ...(next.amountCap === undefined ? {} : { amountCap: next.amountCap }),
      ...(next.sameSitting ? { sameSitting: true as const } : {}),
    },
  ];
  return {
    ...state,
    pending: pending.slice(Math.max(0, pending.length - PENDING_CODES_MAX)),
    shown: shown.slice(Math.max(0, shown.length - SHOWN_CODES_MAX)),
  };
}

/** Drops pending codes that history shows as presented (any outcome) and those too old to matter. */
export function reconcilePending(state: WalletState, payments: readonly PaymentRecord[], correctedNow: number): WalletState {
  const seen = new Set<string>();
  for (const p of payments) {
    if (p.offline === undefined) continue;
    const form = p.kind === 'offline-numeric' ? 'numeric' : 'qr';
    seen.add(`${form}/${p.offline.credentialId}/${p.offline.counter}`);
  }
  const pending = state.pending.filter(
    (c) => !seen.has(`${c.form}/${c.credentialId}/${c.counter}`) && correctedNow - c.shownAtMs <= PENDING_CODE_AGE_MS_MAX,
  );
  const shown = reconcileShown(state.shown, payments, correctedNow);
  if (pending.length === state.pending.length && shown === state.shown) return state;
  return { ...state, pending, ...(shown === undefined ? {} : { shown }) };
}

/** Records what history says each shown code was charged, and forgets codes past every window. */
export function reconcileShown(
  shown: readonly ShownCode[] | undefined,
  payments: readonly PaymentRecord[],
  correctedNow: number,
): ShownCode[] | undefined {
  if (shown === undefined) return undefined;
  const charged = new Map<string, number>();
  for (const p of payments) {
    if (p.offline === undefined) continue;
    const key = `${p.kind === 'offline-numeric' ? 'numeric' : 'qr'}/${p.offline.credentialId}/${p.offline.counter}`;
    const paid = p.status === 'approved' || p.status === 'settled' ? p.amount.value : 0;
    charged.set(key, Math.max(charged.get(key) ?? 0, paid));
  }
  let changed = false;
  const next = shown.flatMap((c) => {
    if (correctedNow - c.shownAtMs > PENDING_CODE_AGE_MS_MAX) {
      changed = true;
      return [];
    }
    const paid = charged.get(`${c.form}/${c.credentialId}/${c.counter}`);
    if (paid === undefined || paid === c.charged) return [c];
    changed = true;
    return [{ ...c, charged: paid }];
  });
  return changed ? next : (shown as ShownCode[]);
}

/** A copy safe to print or log: secrets replaced by markers. */
export function redactState(state: WalletState): unknown {
  return {
    ...state,
    ...(state.enrollment ? { enrollment: { ...state.enrollment, token: '[secret]' } } : {}),
    ...(state.phoneKeySeed ? { phoneKeySeed: '[secret]' } : {}),
    ...(state.credential
      ? {
          credential: {
            ...state.credential,
            bytes: `[${state.credential.bytes.length} chars]`,
            numeric: { ...state.credential.numeric, secret: '[secret]' },
          },
        }
      : {}),
  };
}
