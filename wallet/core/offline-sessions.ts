// SPDX-License-Identifier: Apache-2.0
// Offline codes shown in one sitting. The offline screen makes a fresh code every few seconds, and
// the shopper pays with at most one of them, so the app shows a sitting ("session") as one pending
// payment, not each code. A session is settled as soon as the server's history shows any of its
// codes; the others were never scanned and can no longer be used (their counters are spent).
import type { PaymentRecord } from '../../shared/wallet-messages.ts';
import { PENDING_CODE_AGE_MS_MAX, reconcileShown, type PendingCode, type WalletState } from './wallet-state.ts';

/** Codes shown further apart than this belong to different sittings. */
export const SESSION_GAP_MS_MAX = 60_000;

export interface OfflineSession {
  credentialId: string;
  firstShownAtMs: number;
  lastShownAtMs: number;
  codes: readonly PendingCode[];
}

const codeKey = (form: string, credentialId: string, counter: number) => `${form}/${credentialId}/${counter}`;

/** Groups pending codes (kept in the order shown) into sittings, oldest first. */
export function offlineSessions(pending: readonly PendingCode[]): OfflineSession[] {
  const sessions: OfflineSession[] = [];
  let current: { credentialId: string; firstShownAtMs: number; lastShownAtMs: number; codes: PendingCode[] } | undefined;
  for (const code of pending) {
    const gap = current === undefined ? Infinity : code.shownAtMs - current.lastShownAtMs;
    if (current !== undefined && current.credentialId === code.credentialId && gap >= 0 && gap <= SESSION_GAP_MS_MAX) {
      current.codes.push(code);
      current.lastShownAtMs = code.shownAtMs;
      continue;
    }
    current = { credentialId: code.credentialId, firstShownAtMs: code.shownAtMs, lastShownAtMs: code.shownAtMs, codes: [code] };
    sessions.push(current);
  }
  return sessions;
}

/** The payment, if any, that used one of the session's codes. */
export function sessionPayment(session: OfflineSession, payments: readonly PaymentRecord[]): PaymentRecord | undefined {
  const keys = new Set(session.codes.map((c) => codeKey(c.form, c.credentialId, c.counter)));
  return payments.find(
    (p) =>
      p.offline !== undefined &&
      keys.has(codeKey(p.kind === 'offline-numeric' ? 'numeric' : 'qr', p.offline.credentialId, p.offline.counter)),
  );
}

/**
 * Drops every code of the sessions that history shows as used (any outcome), and codes older than
 * PENDING_CODE_AGE_MS_MAX. Returns the same object when nothing changed, so callers can skip a save.
 */
export function settleOfflineSessions(state: WalletState, payments: readonly PaymentRecord[], correctedNowMs: number): WalletState {
  const settled = new Set<PendingCode>();
  for (const s of offlineSessions(state.pending)) if (sessionPayment(s, payments) !== undefined) for (const c of s.codes) settled.add(c);
  const pending = state.pending.filter((c) => !settled.has(c) && correctedNowMs - c.shownAtMs <= PENDING_CODE_AGE_MS_MAX);
  // The rolling-limit record learns what each code cost (wallet-state.ts reconcileShown).
  const shown = reconcileShown(state.shown, payments, correctedNowMs);
  if (pending.length === state.pending.length && shown === state.shown) return state;
  return { ...state, pending, ...(shown === undefined ? {} : { shown }) };
}
