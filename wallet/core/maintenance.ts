// SPDX-License-Identifier: Apache-2.0
// Housekeeping the app does whenever it reaches the server: re-sync the clock when the last sync is
// stale (claim 5) and renew the offline credential once it is past the server's renewAfter (claims 4
// and 10: credentials are fetched far less often than one-time codes). Failures never stop the
// caller's real work: an unreachable server just means "later".
import type { Clock } from '../../shared/clock.ts';
import type { Ed25519 } from '../../shared/crypto/ed25519.ts';
import type { CallOptions } from './api-client.ts';
import { syncClock, type TimeApi } from './clock-sync.ts';
import { fetchOfflineCredential, type CredentialApi } from './offline-credential.ts';
import { WalletApiError, isWalletFailure } from './wallet-errors.ts';
import {
  CLOCK_SYNC_AGE_MS_MAX,
  clockSyncDue,
  credentialRenewalDue,
  withClockSync,
  withoutCredential,
  type WalletState,
} from './wallet-state.ts';

export interface MaintenanceDeps {
  api: TimeApi & CredentialApi;
  clock: Clock;
  ed: Ed25519;
}

export interface MaintenanceOptions extends CallOptions {
  clockSyncAgeMsMax?: number;
}

/** What happened, for the host to show or log. Never contains secrets. */
export type MaintenanceEvent =
  | { type: 'clock-synced'; offsetMs: number; uncertaintyMs: number }
  | { type: 'credential-renewed'; credentialId: string; notAfterMs: number }
  | { type: 'credential-dropped'; reason: string }
  | { type: 'skipped'; task: 'clock-sync' | 'credential-renewal'; code: string; message: string };

export interface MaintenanceResult {
  state: WalletState;
  events: MaintenanceEvent[];
}

/** Runs the due tasks. The caller persists the returned state (it changed iff events say so). */
export async function maintainWallet(
  state: WalletState,
  deps: MaintenanceDeps,
  options: MaintenanceOptions = {},
): Promise<MaintenanceResult> {
  const events: MaintenanceEvent[] = [];
  let s = state;
  if (s.enrollment === undefined) return { state: s, events };
  if (clockSyncDue(s, deps.clock.nowMs(), options.clockSyncAgeMsMax ?? CLOCK_SYNC_AGE_MS_MAX)) {
    try {
      const r = await syncClock(deps.api, deps.clock, options);
      s = withClockSync(s, r.sample, r.syncedAtMs);
      events.push({ type: 'clock-synced', offsetMs: r.sample.offsetMs, uncertaintyMs: r.sample.uncertaintyMs });
    } catch (e) {
      events.push(skipped('clock-sync', e));
      // Unreachable: the renewal would fail the same way; do not wait for a second timeout.
      return { state: s, events };
    }
  }
  if (credentialRenewalDue(s, deps.clock.nowMs())) {
    try {
      s = await fetchOfflineCredential(s, deps.api, deps.ed, deps.clock.nowMs(), options);
      const c = s.credential!;
      events.push({ type: 'credential-renewed', credentialId: c.credentialId, notAfterMs: c.notAfterMs });
    } catch (e) {
      if (e instanceof WalletApiError && e.code === 'OFFLINE_NOT_ELIGIBLE') {
        // The server will not back offline payments for this account now: stop offering them.
        s = withoutCredential(s);
        events.push({ type: 'credential-dropped', reason: e.message });
      } else {
        events.push(skipped('credential-renewal', e));
      }
    }
  }
  return { state: s, events };
}

function skipped(task: 'clock-sync' | 'credential-renewal', e: unknown): MaintenanceEvent {
  if (!isWalletFailure(e)) throw e;
  return { type: 'skipped', task, code: e.code, message: e.message };
}
