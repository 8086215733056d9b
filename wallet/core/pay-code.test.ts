// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.ts';
import { parseOfflineQrText } from '../../shared/codes/offline-code.ts';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import type { OnlineCodeResponse } from '../../shared/wallet-messages.ts';
import { T0, testWalletState } from '../testing/fixtures.ts';
import type { CallOptions } from './api-client.ts';
import { payCode, type PayCodeDeps } from './pay-code.ts';
import { ManualTimers } from './timers.ts';
import { WalletApiError, WalletError, WalletNetworkError, WalletProtocolError } from './wallet-errors.ts';
import { newWalletState, withoutCredential, type WalletState } from './wallet-state.ts';

const ONLINE: OnlineCodeResponse = { code: '31000000000000000000', issuedAt: T0, expiresAt: T0 + 300_000 };

/** A world for one test: manual time, a server whose answer the test controls, a recording store. */
function world(server: (opts: CallOptions) => Promise<OnlineCodeResponse>) {
  const timers = new ManualTimers();
  const clock = new ManualClock(T0);
  const persisted: WalletState[] = [];
  const signals: AbortSignal[] = [];
  const deps: PayCodeDeps = {
    fetchOnlineCode: (opts) => {
      signals.push(opts.signal!);
      return server(opts);
    },
    persist: async (s) => {
      persisted.push(s);
    },
    clock,
    ed: naclEd25519,
    timers,
  };
  return { deps, timers, clock, persisted, signals };
}

/** A server that never answers; like fetch, it rejects once the request is aborted. */
const stalled = (opts: CallOptions) =>
  new Promise<OnlineCodeResponse>((_, reject) => {
    opts.signal?.addEventListener('abort', () => reject(new WalletNetworkError('ABORTED', {})));
  });

describe('payCode', () => {
  it('shows the online code when the server answers in time, and changes no state', async () => {
    const w = world(async () => ONLINE);
    const s = testWalletState();
    const r = await payCode(s, w.deps);
    expect(r.code).toEqual({ kind: 'online', text: ONLINE.code, issuedAtMs: T0, expiresAtMs: T0 + 300_000 });
    expect(r.state).toBe(s);
    expect(w.persisted).toEqual([]);
    expect(w.timers.pendingCount).toBe(0);
  });

  it('waits the full 3 s, then aborts the request and shows an offline code it persisted first', async () => {
    const w = world(stalled);
    const s = testWalletState();
    const pending = payCode(s, w.deps);
    let settled = false;
    void pending.then(() => {
      settled = true;
    });
    w.timers.advance(2_999);
    await Promise.resolve();
    expect(settled).toBe(false);
    w.timers.advance(1);
    const r = await pending;
    expect(r.code).toMatchObject({ kind: 'offline-qr', counter: 1, fallback: 'timeout' });
    expect(w.signals[0]!.aborted).toBe(true);
    expect(w.persisted).toHaveLength(1);
    expect(w.persisted[0]!.nextCounter).toBe(2);
    expect(r.state).toBe(w.persisted[0]);
    const decoded = parseOfflineQrText(r.code.text);
    expect(decoded.ok && decoded.code.counter).toBe(1);
  });

  it('honours a custom online timeout', async () => {
    const w = world(stalled);
    const pending = payCode(testWalletState(), w.deps, { onlineTimeoutMs: 200 });
    w.timers.advance(200);
    expect((await pending).code.kind).toBe('offline-qr');
  });

  it('falls back at once when the server is unreachable, answers 5xx or answers garbage', async () => {
    const failures = [
      [new WalletNetworkError('NETWORK_UNREACHABLE', { cause: 'ECONNREFUSED' }), 'network'],
      [new WalletApiError('INTERNAL', 500, 'boom'), 'server-error'],
      [new WalletApiError('RATE_LIMITED', 429, 'slow down'), 'server-error'],
      [new WalletProtocolError(200, 'code: invalid'), 'bad-response'],
    ] as const;
    for (const [error, cause] of failures) {
      const w = world(async () => {
        throw error;
      });
      const r = await payCode(testWalletState(), w.deps);
      expect(r.code).toMatchObject({ kind: 'offline-qr', fallback: cause });
    }
  });

  it("does not fall back on the server's definite refusal", async () => {
    const w = world(async () => {
      throw new WalletApiError('UNAUTHORIZED', 401, 'bad token');
    });
    await expect(payCode(testWalletState(), w.deps)).rejects.toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect(w.persisted).toEqual([]);
  });

  it('does not fall back when the caller cancels', async () => {
    const w = world(stalled);
    const controller = new AbortController();
    const pending = payCode(testWalletState(), w.deps, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    expect(w.persisted).toEqual([]);
  });

  it('in online mode fails with NETWORK_TIMEOUT instead of falling back', async () => {
    const w = world(stalled);
    const pending = payCode(testWalletState(), w.deps, { mode: 'online' });
    w.timers.advance(3_000);
    await expect(pending).rejects.toMatchObject({ code: 'NETWORK_TIMEOUT' });
    expect(w.persisted).toEqual([]);
  });

  it('in offline mode never asks the server', async () => {
    const w = world(async () => {
      throw new Error('must not be called');
    });
    const r = await payCode(testWalletState(), w.deps, { mode: 'offline' });
    expect(r.code).toMatchObject({ kind: 'offline-qr', counter: 1 });
    expect('fallback' in r.code).toBe(false);
    expect(w.signals).toEqual([]);
  });

  it('gives the numeric form when asked', async () => {
    const w = world(async () => {
      throw new WalletNetworkError('NETWORK_UNREACHABLE', {});
    });
    const r = await payCode(testWalletState(), w.deps, { form: 'numeric' });
    expect(r.code).toMatchObject({ kind: 'offline-numeric', fallback: 'network' });
    expect(r.code.text).toMatch(/^\d{20}$/);
    expect(w.persisted[0]!.lastNumericStep).toBeDefined();
  });

  it('says why no offline code is possible when the fallback cannot be made', async () => {
    const w = world(async () => {
      throw new WalletNetworkError('NETWORK_UNREACHABLE', { cause: 'ENETUNREACH' });
    });
    const err = await payCode(withoutCredential(testWalletState()), w.deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WalletError);
    expect(err).toMatchObject({ code: 'OFFLINE_UNAVAILABLE', detail: { reason: 'no-credential' } });
    expect((err as WalletError<'OFFLINE_UNAVAILABLE'>).detail.onlineFailure).toMatch(/NETWORK_UNREACHABLE/);
  });

  it('shows no code when the counter cannot be persisted', async () => {
    const w = world(async () => ONLINE);
    w.deps.persist = async () => {
      throw new Error('disk full');
    };
    await expect(payCode(testWalletState(), w.deps, { mode: 'offline' })).rejects.toThrow('disk full');
  });

  it('refuses an unenrolled wallet', async () => {
    const w = world(async () => ONLINE);
    await expect(payCode(newWalletState('http://x'), w.deps)).rejects.toMatchObject({ code: 'NOT_ENROLLED' });
  });
});
