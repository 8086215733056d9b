// SPDX-License-Identifier: Apache-2.0
// The wallet app's controller: the screens of the patent (claims 1-6) as steps on the Model, driven by
// wallet/core. Every change of the durable state goes through #mutate, which reloads the state inside
// a Web Lock, so two open tabs can never show the same offline counter. Network work happens outside
// the lock; its results are merged into the state found at merge time.
import type { Clock } from '../../../shared/clock.ts';
import type { Ed25519 } from '../../../shared/crypto/ed25519.ts';
import { formatMoney, money } from '../../../shared/money.ts';
import type { Random } from '../../../shared/random.ts';
import type { PaymentRecord } from '../../../shared/wallet-messages.ts';
import { WalletApiClient } from '../../core/api-client.ts';
import { maintainWallet } from '../../core/maintenance.ts';
import { nextNumericCode, nextOfflineCode } from '../../core/offline-codes.ts';
import { ensurePhoneKey, fetchOfflineCredential } from '../../core/offline-credential.ts';
import { settleOfflineSessions } from '../../core/offline-sessions.ts';
import { payCode, type PayCode } from '../../core/pay-code.ts';
import type { CancelTimer, Timers } from '../../core/timers.ts';
import { WalletApiError, WalletError, WalletNetworkError, WalletProtocolError, isWalletFailure } from '../../core/wallet-errors.ts';
import { correctedNowMs, newWalletState, withEnrollment, type WalletState, type WalletStateStore } from '../../core/wallet-state.ts';
import { translator, type Lang } from './i18n.ts';
import type { WalletCache } from './idb-state-store.ts';
import { code128Svg, qrSvg } from './code-images.ts';
import type { HalfSheetCause, Model, Screen } from './model.ts';
import { offlineStatus } from './offline-status.ts';

/** Every timing of the app, with its unit. */
export const APP_TIMING = Object.freeze({
  /** PayPay's rule: offer offline mode when no one-time code arrives within 3 s. */
  onlineTimeoutMs: 3_000,
  /** The offline QR code is replaced by a fresh one (new timestamp and counter) this often. */
  offlineRefreshMs: 5_000,
  /** A one-time code is replaced this long before it expires. */
  onlineRenewBeforeMs: 60_000,
  /** While an online code is shown, history is polled this often to show "paid". */
  historyPollMs: 2_000,
  /** Clock re-sync and credential check while the app is open (claim 5: on a schedule). */
  refreshEveryMs: 10 * 60_000,
  /** The countdown on code screens. */
  tickMs: 1_000,
  /** Payments fetched for the history screen. */
  historyLimit: 50,
});

/** Demo top-up amount in minor units (the server refuses unless started with top-up enabled). */
const TOPUP_DEMO_MINOR = 10_000;

export interface AppDeps {
  baseUrl: string;
  store: WalletStateStore;
  cache: WalletCache;
  clock: Clock;
  timers: Timers;
  ed: Ed25519;
  random: Random;
  fetch?: typeof globalThis.fetch;
  /** navigator.onLine, or a test's stand-in. */
  isOnline(): boolean;
  /** navigator.locks, when the browser has it. */
  locks?: LockManager;
  lang: Lang;
  saveLang?(lang: Lang): void;
  onlineTimeoutMs?: number;
  offlineRefreshMs?: number;
}

type Listener = (model: Readonly<Model>, reason: 'change' | 'tick') => void;

export class WalletApp {
  readonly #deps: AppDeps;
  readonly #model: Model;
  readonly #listeners = new Set<Listener>();
  /** Bumped on every screen change; async steps of an old screen see it and stop. */
  #flow = 0;
  #screenTimers: CancelTimer[] = [];
  #onLeave: (() => void)[] = [];
  #refreshing: Promise<void> | undefined;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(deps: AppDeps) {
    this.#deps = deps;
    this.#model = {
      screen: { name: 'loading' },
      state: undefined,
      info: undefined,
      payments: [],
      reachable: deps.isOnline(),
      lang: deps.lang,
      nowMs: deps.clock.nowMs(),
      onlineTimeoutMs: deps.onlineTimeoutMs ?? APP_TIMING.onlineTimeoutMs,
      offlineRefreshMs: deps.offlineRefreshMs ?? APP_TIMING.offlineRefreshMs,
    };
  }

  get model(): Readonly<Model> {
    return this.#model;
  }

  subscribe(fn: Listener): () => void {
    this.#listeners.add(fn);
    return () => {
      this.#listeners.delete(fn);
    };
  }

  /** Loads what the phone holds and shows it at once; then talks to the server if it can. */
  async start(): Promise<void> {
    try {
      this.#model.state = await this.#deps.store.load();
    } catch (e) {
      this.#fail(e);
    }
    this.#model.info = await this.#deps.cache.info();
    this.#model.payments = await this.#deps.cache.payments();
    this.#setScreen(this.#model.state?.enrollment ? { name: 'home' } : { name: 'welcome' });
    const every = () => {
      this.#deps.timers.after(APP_TIMING.refreshEveryMs, () => {
        void this.refresh();
        every();
      });
    };
    every();
    await this.refresh({ forceClockSync: true });
  }

  /** The phone's network came or went (window online/offline events). */
  networkChanged(): void {
    this.#model.reachable = this.#deps.isOnline() && this.#model.reachable;
    this.#emit();
    if (this.#deps.isOnline()) void this.refresh();
  }

  // ---- actions of the screens ----

  async enroll(): Promise<void> {
    try {
      const e = await this.#api(undefined).enroll();
      await this.#mutate((cur) => {
        if (cur?.enrollment) throw new WalletError('ALREADY_ENROLLED', { walletId: cur.enrollment.walletId });
        return withEnrollment(newWalletState(this.#deps.baseUrl), e, this.#deps.clock.nowMs());
      });
      this.#model.reachable = true;
      this.home();
      await this.refresh({ forceClockSync: true });
    } catch (e) {
      this.#fail(e);
    }
  }

  home(): void {
    this.#setScreen(this.#model.state?.enrollment ? { name: 'home' } : { name: 'welcome' });
  }

  history(): void {
    this.#setScreen({ name: 'history' });
    if (this.#deps.isOnline()) void this.refresh();
  }

  methods(): void {
    this.#setScreen({ name: 'methods' });
  }

  toggleLang(): void {
    this.#model.lang = this.#model.lang === 'en' ? 'ja' : 'en';
    this.#deps.saveLang?.(this.#model.lang);
    this.#emit();
  }

  async topupDemo(): Promise<void> {
    const s = this.#model.state;
    if (!s?.enrollment) return;
    try {
      const amount = money(TOPUP_DEMO_MINOR, s.enrollment.currency);
      this.#model.info = await this.#api(s).topup(amount);
      await this.#deps.cache.saveInfo(this.#model.info);
      this.#model.message = { kind: 'info', text: translator(this.#model.lang)('topupDone', { amount: formatMoney(amount) }) };
      this.#emit();
      // A bigger balance allows bigger offline limits: refresh fetches a credential that has them.
      await this.refresh();
    } catch (e) {
      this.#fail(e);
    }
  }

  /** "Pay": the waiting screen, then the online code, or the half sheet offering offline mode. */
  async pay(): Promise<void> {
    const s = this.#model.state;
    if (!s?.enrollment) return;
    const flow = this.#setScreen({ name: 'waiting' });
    if (!this.#deps.isOnline()) return this.#halfSheet('offline');
    const abort = new AbortController();
    this.#onLeave.push(() => abort.abort());
    try {
      const r = await payCode(s, this.#payDeps(s), { mode: 'online', onlineTimeoutMs: this.#model.onlineTimeoutMs, signal: abort.signal });
      if (flow !== this.#flow) return;
      this.#model.reachable = true;
      await this.#showOnlineCode(r.code);
    } catch (e) {
      if (flow !== this.#flow) return;
      const cause = fallbackCause(e);
      if (cause === undefined) return this.#fail(e);
      this.#model.reachable = false;
      this.#halfSheet(cause);
    }
  }

  /** Half sheet: "what is offline payment?" */
  explainOffline(): void {
    const s = this.#model.screen;
    this.#setScreen({
      name: 'offline-explain',
      back: s.name === 'half-sheet' ? 'half-sheet' : 'home',
      cause: s.name === 'half-sheet' ? s.cause : 'offline',
    });
  }

  closeExplanation(): void {
    const s = this.#model.screen;
    if (s.name === 'offline-explain' && s.back === 'half-sheet') this.#halfSheet(s.cause);
    else this.home();
  }

  /** The offline mode screen, with a fresh code now and every few seconds. */
  async offlineMode(form: 'qr' | 'numeric' = 'qr'): Promise<void> {
    const status = this.#offlineStatus();
    const flow = this.#setScreen({ name: 'offline-code', form, status });
    if (!status.available) return;
    this.#tickEvery(flow);
    await this.#nextOfflineCode(flow, form);
  }

  // ---- server housekeeping ----

  /** Clock sync, credential fetch or renewal, balance and history. One at a time; never throws. */
  refresh(o: { forceClockSync?: boolean } = {}): Promise<void> {
    this.#refreshing ??= this.#refresh(o.forceClockSync ?? false).finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(forceClockSync: boolean): Promise<void> {
    const s = this.#model.state;
    if (!s?.enrollment || !this.#deps.isOnline()) return;
    const api = this.#api(s);
    try {
      const m = await maintainWallet(
        s,
        { api, clock: this.#deps.clock, ed: this.#deps.ed },
        forceClockSync ? { clockSyncAgeMsMax: 0 } : {},
      );
      const unreachable = m.events.find((e) => e.type === 'skipped' && e.code.startsWith('NETWORK_'));
      if (unreachable) {
        this.#model.reachable = false;
        return;
      }
      if (m.state !== s) await this.#mutate((cur) => cur && mergeMaintenance(cur, s, m.state));
      this.#model.info = await api.info();
      await this.#deps.cache.saveInfo(this.#model.info);
      if (this.#model.info.offlineEligible && (await this.#credentialWanted(this.#model.info.balance.value)))
        await this.#fetchCredential(api, this.#model.info.balance.value);
      const h = await api.history(APP_TIMING.historyLimit);
      await this.#takeHistory(h.payments);
      this.#model.reachable = true;
    } catch (e) {
      if (e instanceof WalletNetworkError) this.#model.reachable = false;
      else this.#fail(e);
    } finally {
      this.#emit();
    }
  }

  /** No credential yet, or the balance grew since it was issued (its limits are capped at that balance). */
  async #credentialWanted(balance: number): Promise<boolean> {
    const c = this.#model.state?.credential;
    if (c === undefined) return true;
    const at = await this.#deps.cache.credentialBalance();
    if (at === undefined || at.credentialId !== c.credentialId) {
      await this.#deps.cache.saveCredentialBalance(c.credentialId, balance);
      return false;
    }
    return balance > at.value;
  }

  async #fetchCredential(api: WalletApiClient, balance: number): Promise<void> {
    // The seed is durable before its public key leaves the phone (offline-credential.ts).
    const keyed = await this.#mutate((cur) => (cur === undefined ? cur : ensurePhoneKey(cur, this.#deps.random).state));
    if (keyed === undefined) return;
    const fetched = await fetchOfflineCredential(keyed, api, this.#deps.ed, this.#deps.clock.nowMs());
    await this.#mutate((cur) =>
      cur !== undefined && cur.phoneKeySeed === fetched.phoneKeySeed && fetched.credential
        ? { ...cur, credential: fetched.credential }
        : cur,
    );
    if (fetched.credential) await this.#deps.cache.saveCredentialBalance(fetched.credential.credentialId, balance);
  }

  async #takeHistory(payments: PaymentRecord[]): Promise<void> {
    this.#model.payments = payments;
    await this.#deps.cache.savePayments(payments);
    const now = this.#deps.clock.nowMs();
    await this.#mutate((cur) => (cur === undefined ? cur : settleOfflineSessions(cur, payments, correctedNowMs(cur, now) ?? now)));
  }

  // ---- screens with codes ----

  async #showOnlineCode(code: PayCode): Promise<void> {
    if (code.kind !== 'online') return;
    const offset = this.#model.state?.clock?.offsetMs ?? 0;
    const expiresAtLocalMs = code.expiresAtMs - offset;
    const [qr, barcode] = await Promise.all([qrSvg(code.text), code128Svg(code.text).catch(() => undefined)]);
    const renewAtLocalMs = Math.max(this.#deps.clock.nowMs() + APP_TIMING.historyPollMs, expiresAtLocalMs - APP_TIMING.onlineRenewBeforeMs);
    const flow = this.#setScreen({
      name: 'online-code',
      text: code.text,
      qrSvg: qr,
      ...(barcode ? { barcodeSvg: barcode } : {}),
      expiresAtLocalMs,
      renewAtLocalMs,
    });
    this.#tickEvery(flow);
    this.#screenTimers.push(
      this.#deps.timers.after(renewAtLocalMs - this.#deps.clock.nowMs(), () => {
        if (flow === this.#flow) void this.pay();
      }),
    );
    const known = new Set(this.#model.payments.map((p) => p.paymentId));
    const poll = () => {
      this.#screenTimers.push(
        this.#deps.timers.after(APP_TIMING.historyPollMs, () => {
          void this.#pollPaid(flow, known, code.issuedAtMs).then((again) => {
            if (again) poll();
          });
        }),
      );
    };
    poll();
  }

  /** True to poll again. Shows "paid" once history has a new online payment made after the code. */
  async #pollPaid(flow: number, known: Set<string>, issuedAtMs: number): Promise<boolean> {
    const s = this.#model.state;
    if (flow !== this.#flow || !s) return false;
    try {
      const h = await this.#api(s).history(10);
      if (flow !== this.#flow) return false;
      const paid = h.payments.find((p) => p.kind === 'online' && !known.has(p.paymentId) && p.at >= issuedAtMs);
      if (paid === undefined) return true;
      this.#setScreen({ name: 'paid', payment: paid });
      void this.refresh();
      return false;
    } catch {
      return flow === this.#flow;
    }
  }

  /** `refresh`: the screen's periodic new code, one sitting with the code it replaces (one payment). */
  async #nextOfflineCode(flow: number, form: 'qr' | 'numeric', refresh = false): Promise<void> {
    if (flow !== this.#flow) return;
    const { clock, ed } = this.#deps;
    const r = await this.#mutateWith((cur) => {
      if (cur === undefined) return { state: cur, result: undefined };
      const x =
        form === 'qr' ? nextOfflineCode(cur, clock, ed, { sameSitting: refresh }) : nextNumericCode(cur, clock, { sameSitting: refresh });
      return { state: x.ok ? x.state : cur, result: x };
    });
    const screen = this.#model.screen;
    if (flow !== this.#flow || screen.name !== 'offline-code' || r === undefined) return;
    const now = clock.nowMs();
    if (!r.ok) {
      if (r.reason === 'numeric-step-used' && r.retryAfterMs !== undefined) {
        this.#model.screen = { ...screen, retryAtLocalMs: now + r.retryAfterMs };
        this.#screenTimers.push(this.#deps.timers.after(r.retryAfterMs + 50, () => void this.#nextOfflineCode(flow, form, refresh)));
      } else {
        this.#model.screen = { ...screen, status: this.#offlineStatus() };
      }
      this.#emit();
      return;
    }
    const offset = this.#model.state?.clock?.offsetMs ?? 0;
    const nextAtLocalMs = 'stepEndsAtMs' in r ? r.stepEndsAtMs - offset + 50 : now + this.#model.offlineRefreshMs;
    const [qr, barcode] = await Promise.all([qrSvg(r.text), form === 'numeric' ? code128Svg(r.text) : Promise.resolve(undefined)]);
    if (flow !== this.#flow) return;
    const counter = 'counter' in r ? r.counter : r.step;
    const { retryAtLocalMs: _cleared, ...rest } = screen;
    this.#model.screen = {
      ...rest,
      code: {
        form,
        text: r.text,
        qrSvg: qr,
        ...(barcode ? { barcodeSvg: barcode } : {}),
        counter,
        timestampMs: r.timestampMs,
        nextAtLocalMs,
      },
    };
    this.#emit();
    this.#screenTimers.push(this.#deps.timers.after(Math.max(0, nextAtLocalMs - now), () => void this.#nextOfflineCode(flow, form, true)));
  }

  // ---- plumbing ----

  #halfSheet(cause: HalfSheetCause): void {
    this.#setScreen({ name: 'half-sheet', cause, status: this.#offlineStatus() });
  }

  #offlineStatus() {
    return offlineStatus(this.#model.state, this.#model.info, this.#model.payments, this.#deps.clock.nowMs());
  }

  #payDeps(s: WalletState) {
    const api = this.#api(s);
    return {
      fetchOnlineCode: (o: { signal?: AbortSignal }) => api.onlineCode(o),
      // Online codes change no state; offline codes are made through #mutate instead.
      persist: async () => {},
      clock: this.#deps.clock,
      ed: this.#deps.ed,
      timers: this.#deps.timers,
    };
  }

  #api(s: WalletState | undefined): WalletApiClient {
    const base = new WalletApiClient({
      baseUrl: this.#deps.baseUrl,
      timers: this.#deps.timers,
      ...(this.#deps.fetch ? { fetch: this.#deps.fetch } : {}),
    });
    return s?.enrollment ? base.withToken(s.enrollment.token) : base;
  }

  #setScreen(screen: Screen): number {
    for (const cancel of this.#screenTimers) cancel();
    for (const leave of this.#onLeave) leave();
    this.#screenTimers = [];
    this.#onLeave = [];
    this.#model.screen = screen;
    if (screen.name !== 'home' && screen.name !== 'methods') delete this.#model.message;
    this.#flow += 1;
    this.#emit();
    return this.#flow;
  }

  #tickEvery(flow: number): void {
    const tick = () => {
      this.#screenTimers.push(
        this.#deps.timers.after(APP_TIMING.tickMs, () => {
          if (flow !== this.#flow) return;
          this.#model.nowMs = this.#deps.clock.nowMs();
          for (const fn of this.#listeners) fn(this.#model, 'tick');
          tick();
        }),
      );
    };
    tick();
  }

  #emit(): void {
    this.#model.nowMs = this.#deps.clock.nowMs();
    for (const fn of this.#listeners) fn(this.#model, 'change');
  }

  /** Shows an operating error; anything else is a bug, shown too (the app must not die silently) and logged. */
  #fail(e: unknown): void {
    if (!isWalletFailure(e)) console.error(e);
    this.#model.message = { kind: 'error', text: isWalletFailure(e) ? errorText(e) : `BUG: ${e instanceof Error ? e.message : String(e)}` };
    if (this.#model.screen.name === 'waiting' || this.#model.screen.name === 'loading') this.home();
    else this.#emit();
  }

  /** Read-modify-write of the durable state, exclusive across tabs; saves only what changed. */
  #mutate(fn: (cur: WalletState | undefined) => WalletState | undefined): Promise<WalletState | undefined> {
    return this.#mutateWith((cur) => {
      const state = fn(cur);
      return { state, result: state };
    });
  }

  #mutateWith<T>(fn: (cur: WalletState | undefined) => { state: WalletState | undefined; result: T }): Promise<T> {
    const step = async (): Promise<T> => {
      const cur = await this.#deps.store.load();
      const { state, result } = fn(cur);
      if (state !== undefined && state !== cur) await this.#deps.store.save(state);
      this.#model.state = state;
      return result;
    };
    const locks = this.#deps.locks;
    const run = (): Promise<T> => (locks ? (locks.request('kioskpay-wallet-state', step) as Promise<T>) : step());
    const next = this.#chain.then(run, run);
    this.#chain = next.catch(() => undefined);
    return next;
  }
}

/** Takes the clock and credential that maintenance produced into the state found now. */
function mergeMaintenance(cur: WalletState, before: WalletState, after: WalletState): WalletState {
  const next: WalletState = { ...cur };
  if (after.clock !== before.clock && after.clock) next.clock = after.clock;
  if (after.credential !== before.credential) {
    if (after.credential) next.credential = after.credential;
    else delete next.credential;
  }
  return next;
}

/** Failures that mean "communication is difficult": the half sheet offers offline mode. */
function fallbackCause(e: unknown): HalfSheetCause | undefined {
  if (e instanceof WalletNetworkError)
    return e.code === 'NETWORK_TIMEOUT' ? 'timeout' : e.code === 'NETWORK_UNREACHABLE' ? 'network' : undefined;
  if (e instanceof WalletProtocolError) return 'bad-response';
  if (e instanceof WalletApiError && (e.status >= 500 || e.code === 'RATE_LIMITED')) return 'server-error';
  return undefined;
}

function errorText(e: { code: string; message: string }): string {
  return `${e.code}: ${e.message}`;
}
