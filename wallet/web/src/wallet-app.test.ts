// SPDX-License-Identifier: Apache-2.0
// The app controller on fake time, against a stand-in server (wallet/testing's issuer behind a fake
// fetch): the 3-second rule, offline counters across two tabs, credential renewal after a top-up,
// and pending offline payments settled by history. The browser test covers the same flows for real.
import { describe, expect, it } from 'vitest';
import { fromBase64url } from '../../../shared/bytes.ts';
import { ManualClock } from '../../../shared/clock.ts';
import { naclEd25519 } from '../../../shared/crypto/ed25519-nacl.ts';
import { seededRandom } from '../../../shared/random.ts';
import type { PaymentRecord, WalletInfo } from '../../../shared/wallet-messages.ts';
import { ManualTimers } from '../../core/timers.ts';
import type { WalletState, WalletStateStore } from '../../core/wallet-state.ts';
import { T0, issueTestCredential } from '../../testing/fixtures.ts';
import type { WalletCache } from './idb-state-store.ts';
import { WalletApp } from './wallet-app.ts';
import { turns } from '../../../shared/testing/wait.ts';

/** The phone's clock is this far behind the server's. */
const SERVER_AHEAD_MS = 90_000;

class MemoryStore implements WalletStateStore {
  state: WalletState | undefined;
  saves = 0;
  async load() {
    return this.state === undefined ? undefined : structuredClone(this.state);
  }
  async save(s: WalletState) {
    this.state = structuredClone(s);
    this.saves += 1;
  }
}

class MemoryCache implements WalletCache {
  #info: WalletInfo | undefined;
  #payments: PaymentRecord[] = [];
  #credentialBalance: { credentialId: string; value: number } | undefined;
  async info() {
    return this.#info;
  }
  async saveInfo(i: WalletInfo) {
    this.#info = i;
  }
  async payments() {
    return this.#payments;
  }
  async savePayments(p: PaymentRecord[]) {
    this.#payments = p;
  }
  async credentialBalance() {
    return this.#credentialBalance;
  }
  async saveCredentialBalance(credentialId: string, value: number) {
    this.#credentialBalance = { credentialId, value };
  }
}

/** Web Locks stand-in shared by two "tabs": one holder at a time, in order of request. */
function fakeLocks(): LockManager {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    request: (_name: string, fn: () => Promise<unknown>) => {
      const run = tail.then(fn, fn);
      tail = run.catch(() => undefined);
      return run;
    },
  } as unknown as LockManager;
}

/** The wallet API as a server would answer, with switches for the tests. */
function fakeServer(clock: ManualClock) {
  const s = {
    balance: 0,
    payments: [] as PaymentRecord[],
    /** When true, POST /v1/wallet/codes never answers (until the request is aborted). */
    hangCodes: false,
    credentialCalls: 0,
    fetch: (async (input: string | URL | Request, init: RequestInit = {}) => {
      const path = new URL(String(input)).pathname;
      const body = typeof init.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : {};
      const serverNow = clock.nowMs() + SERVER_AHEAD_MS;
      const json = (b: unknown) => new Response(JSON.stringify(b), { status: 200, headers: { 'content-type': 'application/json' } });
      const info = () => ({ walletId: 'w1', balance: { value: s.balance, currency: 'JPY' }, offlineEligible: true });
      switch (path) {
        case '/v1/wallets':
          return json({ walletId: 'w1', token: 'token-1', currency: 'JPY' });
        case '/v1/time':
          return json({ t0: body.t0, t1: serverNow, t2: serverNow });
        case '/v1/wallet':
          return json(info());
        case '/v1/wallet/topup':
          s.balance += (body.amount as { value: number }).value;
          return json(info());
        case '/v1/wallet/credentials':
          s.credentialCalls += 1;
          return json(issueTestCredential(fromBase64url(body.publicKey as string)!, serverNow, { seed: s.credentialCalls }));
        case '/v1/wallet/payments':
          return json({ payments: s.payments });
        case '/v1/wallet/codes':
          if (s.hangCodes) {
            return new Promise<Response>((_, reject) =>
              init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
            );
          }
          return json({ code: '31700744510137806805', issuedAt: serverNow, expiresAt: serverNow + 300_000 });
        default:
          return new Response('{"error":{"code":"NOT_FOUND","message":"no route"}}', { status: 404 });
      }
    }) as typeof globalThis.fetch,
  };
  return s;
}

/** Lets every pending promise chain run (no real time passes). */
const settle = () => turns(50);

function world() {
  const clock = new ManualClock(T0);
  const timers = new ManualTimers();
  const server = fakeServer(clock);
  const store = new MemoryStore();
  const locks = fakeLocks();
  let n = 0;
  const tab = () =>
    new WalletApp({
      baseUrl: 'http://wallet.test',
      store,
      cache: new MemoryCache(),
      clock,
      timers,
      ed: naclEd25519,
      random: seededRandom(++n),
      fetch: server.fetch,
      isOnline: () => true,
      locks,
      lang: 'en',
    });
  return { clock, timers, server, store, tab };
}

async function enrolled(w: ReturnType<typeof world>, app = w.tab()): Promise<WalletApp> {
  await app.start();
  await app.enroll();
  await settle();
  return app;
}

describe('wallet app controller', () => {
  it('enrolls, syncs the clock to the server, and holds a credential', async () => {
    const w = world();
    const app = await enrolled(w);
    expect(app.model.screen.name).toBe('home');
    expect(app.model.state?.clock?.offsetMs).toBe(SERVER_AHEAD_MS);
    expect(app.model.state?.credential).toBeDefined();
    expect(w.store.state?.phoneKeySeed).toBeDefined();
  });

  it('shows the waiting screen, then after exactly the 3 s wait the half sheet offering offline mode', async () => {
    const w = world();
    const app = await enrolled(w);
    w.server.hangCodes = true;
    void app.pay();
    await settle();
    expect(app.model.screen.name).toBe('waiting');
    w.timers.advance(2_999);
    await settle();
    expect(app.model.screen.name).toBe('waiting');
    w.timers.advance(1);
    await settle();
    expect(app.model.screen).toMatchObject({ name: 'half-sheet', cause: 'timeout', status: { available: true } });
  });

  it('shows the online code when it arrives in time, and a fresh offline code every 5 s on the offline screen', async () => {
    const w = world();
    const app = await enrolled(w);
    await app.pay();
    await settle();
    expect(app.model.screen).toMatchObject({ name: 'online-code', text: '31700744510137806805' });
    await app.offlineMode();
    const first = app.model.screen.name === 'offline-code' ? app.model.screen.code : undefined;
    expect(first?.counter).toBe(1);
    expect(first?.timestampMs).toBe(w.clock.nowMs() + SERVER_AHEAD_MS);
    w.clock.advance(5_000);
    w.timers.advance(5_000);
    await settle();
    const second = app.model.screen.name === 'offline-code' ? app.model.screen.code : undefined;
    expect(second?.counter).toBe(2);
    expect(second?.text).not.toBe(first?.text);
    expect(w.store.state?.nextCounter).toBe(3);
  });

  it('never gives two open tabs the same offline counter', async () => {
    const w = world();
    const a = await enrolled(w);
    const b = w.tab();
    await b.start();
    await settle();
    await Promise.all([a.offlineMode(), b.offlineMode()]);
    const counters = [a, b].map((app) => (app.model.screen.name === 'offline-code' ? app.model.screen.code?.counter : undefined));
    expect(counters.sort()).toEqual([1, 2]);
    expect(w.store.state?.nextCounter).toBe(3);
  });

  it('fetches a new credential after a top-up (limits are capped at the balance of issue), and not otherwise', async () => {
    const w = world();
    const app = await enrolled(w);
    expect(w.server.credentialCalls).toBe(1);
    await app.refresh();
    expect(w.server.credentialCalls).toBe(1);
    await app.topupDemo();
    await settle();
    expect(w.server.credentialCalls).toBe(2);
    expect(app.model.info?.balance.value).toBe(10_000);
  });

  it('keeps a sitting of offline codes pending until history shows one of them, then drops the whole sitting', async () => {
    const w = world();
    const app = await enrolled(w);
    await app.offlineMode();
    w.clock.advance(5_000);
    w.timers.advance(5_000);
    await settle();
    app.home();
    expect(w.store.state?.pending.map((c) => c.counter)).toEqual([1, 2]);
    const cred = w.store.state!.credential!;
    w.server.payments = [
      {
        paymentId: 'p1',
        kind: 'offline-qr',
        status: 'approved',
        amount: { value: 800, currency: 'JPY' },
        kioskId: 'kiosk-1',
        at: T0,
        offline: { credentialId: cred.credentialId, counter: 1 },
      },
    ];
    await app.refresh();
    expect(w.store.state?.pending).toEqual([]);
    expect(app.model.payments.map((p) => p.paymentId)).toEqual(['p1']);
  });
});
