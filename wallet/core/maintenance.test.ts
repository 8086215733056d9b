// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.ts';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import type { CredentialResponse } from '../../shared/wallet-messages.ts';
import { fromBase64url } from '../../shared/bytes.ts';
import { DAY_MS, T0, issueTestCredential, testWalletState } from '../testing/fixtures.ts';
import { maintainWallet, type MaintenanceDeps } from './maintenance.ts';
import { WalletApiError, WalletNetworkError } from './wallet-errors.ts';

/** A server that answers time at its clock (offset from the phone's) and issues credentials. */
function fakeApi(clock: ManualClock, offsetMs: number, credential?: (pub: Uint8Array) => Promise<CredentialResponse>) {
  const calls = { time: 0, credential: 0 };
  const api: MaintenanceDeps['api'] = {
    async time(t0) {
      calls.time++;
      return { t0, t1: clock.nowMs() + offsetMs, t2: clock.nowMs() + offsetMs };
    },
    async credential(pub) {
      calls.credential++;
      if (!credential) throw new Error('unexpected credential request');
      return credential(fromBase64url(pub)!);
    },
  };
  return { api, calls };
}

describe('maintainWallet', () => {
  it('does nothing when the clock is fresh and the credential is not due', async () => {
    const clock = new ManualClock(T0 + 60_000);
    const { api, calls } = fakeApi(clock, 0);
    const s = testWalletState();
    const r = await maintainWallet(s, { api, clock, ed: naclEd25519 });
    expect(r).toEqual({ state: s, events: [] });
    expect(calls).toEqual({ time: 0, credential: 0 });
  });

  it('re-syncs a clock older than an hour', async () => {
    const clock = new ManualClock(T0 + 2 * 3_600_000);
    const { api } = fakeApi(clock, 1_234);
    const r = await maintainWallet(testWalletState(), { api, clock, ed: naclEd25519 });
    expect(r.state.clock!.offsetMs).toBe(1_234);
    expect(r.events).toEqual([{ type: 'clock-synced', offsetMs: 1_234, uncertaintyMs: 0 }]);
  });

  it('renews the credential once past renewAfter, keeping the phone key and the counter', async () => {
    const s = { ...testWalletState(), nextCounter: 42 };
    const clock = new ManualClock(s.credential!.renewAfterMs + 1);
    const { api } = fakeApi(clock, 0, async (pub) => issueTestCredential(pub, clock.nowMs(), { seed: 2 }));
    const r = await maintainWallet(s, { api, clock, ed: naclEd25519 });
    expect(r.state.credential!.credentialId).not.toBe(s.credential!.credentialId);
    expect(r.state.credential!.notAfterMs).toBeGreaterThan(s.credential!.notAfterMs);
    expect(r.state.phoneKeySeed).toBe(s.phoneKeySeed);
    expect(r.state.nextCounter).toBe(42);
    expect(r.events.map((e) => e.type)).toEqual(['clock-synced', 'credential-renewed']);
  });

  it('drops the credential when the server no longer allows offline payment', async () => {
    const s = testWalletState();
    const clock = new ManualClock(s.credential!.renewAfterMs);
    const { api } = fakeApi(clock, 0, async () => {
      throw new WalletApiError('OFFLINE_NOT_ELIGIBLE', 403, 'negative balance');
    });
    const r = await maintainWallet(s, { api, clock, ed: naclEd25519 }, { clockSyncAgeMsMax: 10 * DAY_MS });
    expect(r.state.credential).toBeUndefined();
    expect(r.events).toEqual([{ type: 'credential-dropped', reason: 'negative balance' }]);
  });

  it('notes an unreachable server and tries nothing else', async () => {
    const s = testWalletState();
    const clock = new ManualClock(s.credential!.renewAfterMs + 1);
    const calls = { credential: 0 };
    const api: MaintenanceDeps['api'] = {
      time: async () => {
        throw new WalletNetworkError('NETWORK_UNREACHABLE', { cause: 'ECONNREFUSED' });
      },
      credential: async () => {
        calls.credential++;
        throw new Error('unreachable');
      },
    };
    const r = await maintainWallet(s, { api, clock, ed: naclEd25519 });
    expect(r.state).toBe(s);
    expect(r.events).toMatchObject([{ type: 'skipped', task: 'clock-sync', code: 'NETWORK_UNREACHABLE' }]);
    expect(calls.credential).toBe(0);
  });
});
