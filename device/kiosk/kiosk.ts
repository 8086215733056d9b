// SPDX-License-Identifier: Apache-2.0
// The running kiosk: wires the checkout, the offline desk, the uplink, the hardware ports, telemetry
// and technician commands. Every adapter is chosen before this (hardware.ts, called by run-kiosk.ts); here everything is a
// port, so the same code runs on a Pi and as the simulated kiosk, and under tests.
import type { Logger } from 'pino';
import type { TimerHandle } from '../timers.ts';
import { parseCatalog, isNewerCatalog, type Catalog, type CatalogMessage } from '../../shared/catalog/catalog.ts';
import { fromBase64url } from '../../shared/bytes.ts';
import type { Clock } from '../../shared/clock.ts';
import { OfflineQrVerifier } from '../../shared/codes/offline-qr-verifier.ts';
import type { Ed25519 } from '../../shared/crypto/ed25519.ts';
import { commandReply, type CommandReply } from '../../shared/kiosk-commands.ts';
import { applyPolicyChange, type KioskPolicy } from '../../shared/kiosk-policy.ts';
import type { HealthState, OnlineStatus } from '../../shared/kiosk-telemetry.ts';
import { topics } from '../../shared/topics.ts';
import type { KioskButton, KioskGpio } from '../adapters/gpio/gpio.ts';
import type { Scanner } from '../adapters/scanner/scanner.ts';
import { makeCheckoutConfig, type CheckoutConfig } from '../domain/checkout/config.ts';
import type { CheckoutContext, FaultKind } from '../domain/checkout/types.ts';
import { RevocationCache } from '../domain/offline/revocation-cache.ts';
import { TrustedClock } from '../domain/offline/trusted-clock.ts';
import type { Display } from '../display/display.ts';
import { FAULT_WORDS } from '../display/words.ts';
import type { OutboxStore } from '../outbox/outbox-store.ts';
import type { KioskUplink } from '../uplink/uplink.ts';
import { CheckoutRunner, type PaymentOutcome, type TimerPort } from './checkout-runner.ts';
import { syncClock } from './clock-sync.ts';
import { CommandDesk, CommandFailure, type CommandActions } from './commands.ts';
import type { KioskConfig } from './config.ts';
import { KioskForwarder } from './kiosk-forwarder.ts';
import { InflightLedger } from './inflight-ledger.ts';
import type { KioskStatePort } from './kiosk-state.ts';
import { deskRecords, KioskStateWriter, STATE_NOT_SAVED } from './state-writer.ts';
import { KioskView } from './kiosk-view.ts';
import { OfflineDesk } from './offline-desk.ts';
import { Telemetry } from './telemetry.ts';

/** How often the clock's lower bound and the last-uplink time are saved while running. */
export const CLOCK_PERSIST_MS = 60_000;

export interface KioskHardware {
  scanner: Scanner;
  gpio: KioskGpio | undefined;
  displays: readonly Display[];
  simulated: boolean;
}

export interface KioskDeps {
  config: Readonly<KioskConfig>;
  clock: Clock;
  /** Names the monotonic clock's origin (the boot id) so a restart within one boot keeps the sync. */
  monotonicEpoch?: string | undefined;
  /** A battery-backed RTC set the system clock at this boot (rtc.ts, from config offline.clock.rtc). */
  rtc?: boolean | undefined;
  uplink: KioskUplink;
  hardware: KioskHardware;
  outbox: OutboxStore;
  state: KioskStatePort;
  ed: Ed25519;
  /** Fresh unique ids (request ids, transaction ids). */
  newId: () => string;
  timers: TimerPort;
  log: Logger;
}

export class Kiosk {
  readonly #d: KioskDeps;
  readonly #state: KioskStateWriter;
  readonly #cfg: Readonly<KioskConfig>;
  readonly #checkoutConfig: CheckoutConfig;
  readonly #trusted: TrustedClock;
  readonly #revocations: RevocationCache;
  readonly #view: KioskView;
  readonly #runner: CheckoutRunner;
  readonly #telemetry: Telemetry;
  readonly #commands: CommandDesk;
  readonly #forwarder: KioskForwarder;
  readonly #desk: OfflineDesk;
  readonly #faults = new Set<FaultKind>();
  readonly #cleanups: Array<() => void> = [];
  #catalog: Catalog | undefined;
  #persistTimer: TimerHandle | undefined;
  #syncTimer: TimerHandle | undefined;
  #stopped = false;

  constructor(deps: KioskDeps) {
    this.#d = deps;
    const cfg = (this.#cfg = deps.config);
    const { clock, log, timers } = deps;
    this.#checkoutConfig = makeCheckoutConfig(cfg.checkout as Partial<CheckoutConfig>);
    const issuerKeys = new Map(cfg.issuerKeys.map((k) => [k.keyId, fromBase64url(k.publicKey)!] as const));
    const st = deps.state.state;
    const clockOptions = {
      ...(deps.monotonicEpoch !== undefined ? { monotonicEpoch: deps.monotonicEpoch } : {}),
      ...(deps.rtc === true ? { rtc: { driftAllowanceMsPerHour: cfg.offline.clock.driftAllowanceMsPerHour, uncertaintyMaxMs: cfg.offline.clockUncertaintyMaxMs } } : {}),
    };
    this.#trusted = TrustedClock.restore(st.clock, clock.nowMs(), clock.monotonicMs(), clockOptions);
    this.#revocations = new RevocationCache({ issuerKeys, ed: deps.ed, maxAgeMs: cfg.offline.revocationMaxAgeMs });
    const state = this.#state = new KioskStateWriter(deps.state, log, (raised) => this.#telemetry.event({ kind: 'fault', fault: STATE_NOT_SAVED, raised }));
    const ledger = new InflightLedger({ state, log, onVoidQueued: () => this.#forwarder.voidSoon() });
    ledger.recoverInterrupted();
    if (st.revocations) this.#revocations.accept(st.revocations);
    if (st.catalog) this.#takeCatalog(st.catalog, false);
    if (!this.#catalog) this.#faults.add('catalog-unavailable');

    this.#view = new KioskView({ kioskId: cfg.kioskId, mode: cfg.mode, policyMode: st.policy.mode, displays: deps.hardware.displays, timers, log });
    const desk = this.#desk = new OfflineDesk({
      currency: cfg.currency,
      verifier: new OfflineQrVerifier({ issuerKeys, ed: deps.ed }),
      revocations: this.#revocations,
      outbox: deps.outbox,
      time: () => this.#time(),
      windowMs: cfg.offline.windowMs,
      clockUncertaintyMaxMs: cfg.offline.clockUncertaintyMaxMs,
      revocationFreshAgeMs: cfg.offline.revocationMaxAgeMs,
      ...deskRecords(state, deps.outbox),
    });
    const ctx: CheckoutContext = {
      mode: cfg.mode,
      config: this.#checkoutConfig,
      clock: { nowMs: () => this.#time().estimateMs, monotonicMs: () => clock.monotonicMs() },
      nextTxId: () => `${cfg.kioskId}-${deps.newId()}`,
      catalog: () => this.#catalog,
      policyMode: () => state.state.policy.mode,
    };
    this.#runner = new CheckoutRunner({
      ctx, uplink: deps.uplink, desk, ledger, nextRequestId: deps.newId, timers, log,
      events: {
        screen: (screen, hint) => {
          this.#view.screen(screen, hint);
          this.#refreshOfflineAvailability();
        },
        offlineIndicator: (on) => {
          this.#view.offline(on);
          deps.hardware.gpio?.setLed('offline', on);
        },
        beep: (pattern) => deps.hardware.gpio?.beep(pattern),
        pulseRelay: (slot, onMs) => this.#pulse(slot, onMs),
        payment: (o) => this.#onPayment(o),
      },
    });
    this.#telemetry = new Telemetry({
      kioskId: cfg.kioskId, uplink: deps.uplink, snapshot: () => this.#status(), nowMs: () => this.#time().estimateMs,
      heartbeatMs: cfg.timing.heartbeatMs, timers, log,
    }, () => clock.monotonicMs());
    this.#forwarder = new KioskForwarder({
      outbox: deps.outbox, state, ledger, uplink: deps.uplink, newId: deps.newId, log, timers, nowMs: () => this.#time().estimateMs,
      onProgress: (p) => {
        this.#view.stored(deps.outbox.stats().count, p.finished ? undefined : { done: p.done, total: p.total });
        this.#telemetry.event({ kind: 'forward', ...p });
        this.#telemetry.changed();
      },
      onDeclined: (r) => this.#telemetry.event({ kind: 'settle-declined', txId: r.txId, amount: r.amount, reason: r.reason as never }),
    });
    this.#commands = new CommandDesk(this.#commandActions(), () => this.#time().estimateMs, (m) => this.#ack(m));
  }

  /** Starts listening to the hardware and the uplink. */
  start(): void {
    const { uplink, hardware, log } = this.#d;
    const onConnected = () => this.#onUplink(true);
    const onDisconnected = () => this.#onUplink(false);
    const onMessage = (topic: string, payload: Buffer) => this.#onMessage(topic, payload);
    uplink.on('connected', onConnected).on('disconnected', onDisconnected).on('message', onMessage);
    this.#cleanups.push(() => uplink.off('connected', onConnected).off('disconnected', onDisconnected).off('message', onMessage));

    const scanner = hardware.scanner;
    const onScan = (scan: { text: string }) => this.#runner.send({ type: 'scan', text: scan.text });
    const onScannerStatus = (s: 'ready' | 'unavailable') => this.#setFault('scanner-unavailable', s === 'unavailable');
    const onDropped = (d: { reason: string }) => log.warn({ reason: d.reason }, 'scanner line dropped');
    scanner.on('scan', onScan).on('status', onScannerStatus).on('dropped', onDropped);
    this.#cleanups.push(() => scanner.off('scan', onScan).off('status', onScannerStatus).off('dropped', onDropped));
    scanner.start();
    if (hardware.gpio) this.#cleanups.push(hardware.gpio.onButton((b) => this.press(b)));

    // Before any sale: discarded offline payments whose write landed before a power loss leave the outbox.
    this.#desk.sweepDiscarded().then(
      (txIds) => { if (txIds.length > 0) log.warn({ txIds }, 'declined offline payments removed from the outbox'); },
      (e: unknown) => log.error({ err: (e as Error).message }, 'declined offline payments not removed; they stay unsent'),
    );
    this.#view.stored(this.#d.outbox.stats().count, undefined);
    this.#applyFaults();
    this.#runner.send({ type: 'uplinkChanged', online: uplink.connected });
    this.#view.offline(!uplink.connected);
    this.#refreshOfflineAvailability();
    hardware.gpio?.setLed('ready', true);
    hardware.gpio?.setLed('offline', !uplink.connected);
    this.#telemetry.start();
    this.#schedulePersist();
    if (uplink.connected) this.#onUplink(true);
  }

  /** A button, from GPIO or the simulated kiosk's screen. */
  press(b: KioskButton): void {
    if (b === 'cancel') this.#runner.send({ type: 'cancelPressed' });
    else if (b === 'pay') this.#runner.send({ type: 'payPressed' });
    else if (b === 'help') {
      this.#view.message('Help is on the way. Please wait.', 30);
      this.#telemetry.event({ kind: 'fault', fault: 'help-requested', raised: true });
    } else this.#runner.send({ type: 'slotPressed', slot: b.slot });
  }

  get catalog(): Catalog | undefined {
    return this.#catalog;
  }

  get checkoutState(): string {
    return this.#runner.state.name;
  }

  /** The status as it would be published now. */
  status(): OnlineStatus {
    return { ...this.#status(), seq: 0 };
  }

  /** Forwards stored payments now (also what the `forward` command runs). */
  forwardNow(progress?: (done: number, total: number) => void) {
    return this.#forwarder.run(progress);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#runner.stop();
    this.#telemetry.stop();
    this.#view.stop();
    for (const t of [this.#persistTimer, this.#syncTimer]) if (t !== undefined) this.#d.timers.clearTimeout(t);
    for (const c of this.#cleanups.splice(0)) c();
    await this.#forwarder.idle();
    if (this.#d.uplink.connected) {
      const offline = { v: 1, type: 'status', state: 'offline', reason: 'shutdown', firmware: this.#cfg.firmware };
      await this.#d.uplink.publish(topics.kioskStatus(this.#cfg.kioskId), JSON.stringify(offline), { retain: true }).catch(() => undefined);
    }
    await this.#persistClock();
  }

  // ---- time --------------------------------------------------------------------------------------

  #time() {
    return this.#trusted.now(this.#d.clock.monotonicMs());
  }

  /** Never rejects (state-writer.ts). */
  #persistClock(): Promise<boolean> {
    const mono = this.#d.clock.monotonicMs();
    const connected = this.#d.uplink.connected;
    const t = this.#time();
    const fromServer = connected && t.trusted && t.source === 'server';
    return this.#state.save('clock', (s) => ({ ...s, clock: this.#trusted.toState(mono), lastUplinkAtMs: fromServer ? t.estimateMs : s.lastUplinkAtMs }));
  }

  #schedulePersist(): void {
    this.#persistTimer = this.#d.timers.setTimeout(() => {
      void this.#persistClock();
      this.#refreshOfflineAvailability();
      if (!this.#stopped) this.#schedulePersist();
    }, CLOCK_PERSIST_MS);
  }

  async #syncClock(): Promise<void> {
    const r = await syncClock(this.#d.uplink, this.#trusted, this.#d.clock, this.#d.newId);
    if (r.ok) {
      this.#d.log.info({ offsetMs: r.sample.offsetMs, roundTripMs: r.sample.roundTripMs, taken: r.taken }, 'clock synced');
      await this.#persistClock();
      this.#telemetry.changed();
    } else this.#d.log.warn({ reason: r.reason }, 'clock sync failed');
  }

  #scheduleSync(): void {
    if (this.#syncTimer !== undefined) this.#d.timers.clearTimeout(this.#syncTimer);
    this.#syncTimer = this.#d.timers.setTimeout(() => {
      this.#syncTimer = undefined;
      if (this.#stopped || !this.#d.uplink.connected) return;
      void this.#syncClock().finally(() => this.#scheduleSync());
    }, this.#cfg.timing.clockSyncMs);
  }

  /**
   * While the uplink is down, whether any offline code could be taken now; when none could, the
   * screen says so before the shopper scans (words.ts). Cheap: the clock, the list's age, the outbox's totals.
   */
  #refreshOfflineAvailability(): void {
    if (this.#stopped) return;
    const cause = this.#d.uplink.connected ? undefined : this.#desk.unavailableCause();
    if (this.#view.offlineUnavailable(cause !== undefined)) this.#d.log.info({ cause }, cause === undefined ? 'offline payments possible again' : 'offline payments impossible now');
  }

  // ---- uplink ------------------------------------------------------------------------------------

  #onUplink(online: boolean): void {
    if (this.#stopped) return;
    this.#runner.send({ type: 'uplinkChanged', online });
    this.#view.offline(!online);
    this.#refreshOfflineAvailability();
    this.#d.hardware.gpio?.setLed('offline', !online);
    this.#telemetry.event({ kind: 'uplink', online });
    if (!online) return;
    this.#telemetry.publishStatus();
    void this.#telemetry.flush();
    void (async () => {
      await this.#syncClock();
      await this.#forwarder.voidPending();
      if (this.#d.outbox.stats().count > 0) await this.#forwarder.run().catch((e: unknown) => this.#d.log.info({ err: (e as Error).message }, 'forwarding not started'));
    })().catch((e: unknown) => this.#d.log.error({ err: (e as Error).message }, 'uplink start-up work failed'));
    this.#scheduleSync();
    this.#forwarder.scheduleRetry(this.#cfg.timing.forwardRetryMs, this.#d.timers);
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (topic === topics.kioskCommands(this.#cfg.kioskId)) {
      void this.#commands.handle(payload);
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      this.#d.log.warn({ topic }, 'broadcast is not JSON; ignored');
      return;
    }
    if (topic === topics.revocations) {
      const r = this.#revocations.accept(json);
      if (r.accepted) {
        void this.#state.save('revocation list', (s) => ({ ...s, revocations: json as never }));
        this.#refreshOfflineAvailability();
      }
      else this.#d.log.info({ reason: r.reason }, 'revocation list not taken');
    } else if (topic === topics.catalog) {
      this.#takeCatalog(json, true);
    }
  }

  #takeCatalog(json: unknown, persist: boolean): void {
    const parsed = parseCatalog(json);
    if (!parsed.ok) {
      this.#d.log.warn({ problem: parsed.message }, 'catalog refused');
      return;
    }
    if (!isNewerCatalog(this.#catalog, parsed.catalog)) return;
    this.#catalog = parsed.catalog;
    if (parsed.catalog.currency !== this.#cfg.currency) this.#d.log.warn({ currency: parsed.catalog.currency }, 'catalog currency differs from the kiosk currency');
    if (persist) {
      void this.#state.save('catalog', (s) => ({ ...s, catalog: json as CatalogMessage }));
      this.#setFault('catalog-unavailable', false);
      this.#telemetry.changed();
    }
  }

  // ---- hardware, faults, payments -------------------------------------------------------------

  #pulse(slot: number, onMs: number): void {
    const gpio = this.#d.hardware.gpio;
    if (!gpio) return;
    gpio.pulseRelay(onMs).catch((e: unknown) => {
      this.#d.log.error({ slot, err: (e as Error).message }, 'relay pulse failed');
      this.#setFault('relay-unavailable', true);
    });
  }

  #setFault(fault: FaultKind, raised: boolean): void {
    const had = this.#faults.has(fault);
    if (raised === had) return;
    if (raised) this.#faults.add(fault);
    else this.#faults.delete(fault);
    this.#telemetry.event({ kind: 'fault', fault, raised });
    this.#applyFaults();
    this.#telemetry.changed();
  }

  #applyFaults(): void {
    const first = this.#faults.values().next().value;
    this.#runner.send(first === undefined ? { type: 'faultCleared' } : { type: 'faultRaised', fault: first });
    this.#d.hardware.gpio?.setLed('fault', first !== undefined);
    this.#view.faults([...this.#faults].map((f) => FAULT_WORDS[f]));
  }

  #onPayment(o: PaymentOutcome): void {
    this.#telemetry.event({ kind: 'payment', txId: o.txId, amount: o.amount, outcome: o.outcome, offline: o.offline, ...(o.reason ? { reason: o.reason } : {}) });
    if (o.offline && o.outcome === 'approved') this.#view.stored(this.#d.outbox.stats().count, undefined);
    this.#refreshOfflineAvailability();
    this.#telemetry.changed();
  }

  #health(): { scanner: HealthState; gpio: HealthState; display: HealthState } {
    const h = this.#d.hardware;
    const displays = h.displays;
    return {
      scanner: h.scanner.status === 'unavailable' ? 'fault' : 'ok',
      gpio: h.gpio ? (this.#faults.has('relay-unavailable') ? 'fault' : 'ok') : 'absent',
      display: displays.length === 0 ? 'absent' : displays.every((d) => d.health === 'ok') ? 'ok' : 'fault',
    };
  }

  #status(): Omit<OnlineStatus, 'seq'> {
    const cfg = this.#cfg;
    const stats = this.#d.outbox.stats();
    const t = this.#time();
    const st = this.#state.state;
    const sync = this.#trusted.toState(this.#d.clock.monotonicMs()).sync;
    return {
      v: 1, type: 'status', state: 'online', at: t.estimateMs, firmware: cfg.firmware, mode: cfg.mode,
      checkout: this.#runner.state.name, policy: st.policy, currency: cfg.currency,
      queue: {
        count: stats.count, amount: { value: stats.amountByCurrency[cfg.currency] ?? 0, currency: cfg.currency },
        oldestCapturedAt: stats.oldestCapturedAt, declined: st.declined.length, forwarding: this.#forwarder.progress ?? null,
      },
      clock: {
        trusted: t.trusted && t.uncertaintyMs <= cfg.offline.clockUncertaintyMaxMs,
        offsetMs: t.trusted ? Math.round(t.estimateMs - this.#d.clock.nowMs()) : null,
        uncertaintyMs: Number.isFinite(t.uncertaintyMs) ? Math.round(t.uncertaintyMs) : null,
        lastSyncAt: sync ? Math.round(sync.serverTimeMs) : null,
      },
      health: this.#health(),
      faults: [...this.#faults].map((f) => FAULT_WORDS[f]),
      catalogVersion: this.#catalog?.version ?? null,
      heartbeatMs: cfg.timing.heartbeatMs,
    };
  }

  // ---- commands ----------------------------------------------------------------------------------

  #ack(m: CommandReply): void {
    const checked = commandReply.safeParse(m);
    if (!checked.success) this.#d.log.error({ issue: checked.error.issues[0]?.message }, 'built an invalid command reply');
    this.#d.uplink.publish(topics.kioskAcks(this.#cfg.kioskId), JSON.stringify(m))
      .catch((e: unknown) => this.#d.log.warn({ err: (e as Error).message }, 'ack not sent'));
  }

  #commandActions(): CommandActions {
    const gpio = () => {
      const g = this.#d.hardware.gpio;
      if (!g) throw new CommandFailure('COMMAND_UNSUPPORTED', 'this kiosk has no GPIO');
      return g;
    };
    return {
      status: () => this.status() as unknown as Record<string, unknown>,
      forward: async (progress) => {
        const r = await this.#forwarder.run(progress);
        return { end: r.end, settled: r.settled.length, declined: r.declined.length, remaining: r.remaining };
      },
      setPolicy: async (change) => {
        let next: KioskPolicy;
        try {
          next = applyPolicyChange(this.#state.state.policy, change);
        } catch (e) {
          throw new CommandFailure('COMMAND_MALFORMED', `policy not valid: ${(e as Error).message}`);
        }
        await this.#state.update('policy', (s) => ({ ...s, policy: next }));
        this.#view.policy(next.mode);
        this.#refreshOfflineAvailability();
        this.#telemetry.changed();
        return next;
      },
      displayMessage: (text, seconds) => this.#view.message(text, seconds),
      test: async (target) => {
        const g = gpio();
        if (target === 'buzzer') g.beep('attention');
        else if (target === 'relay') await g.pulseRelay(Math.min(500, this.#checkoutConfig.relayPulseMaxMs));
        else {
          for (const led of ['ready', 'offline', 'fault'] as const) g.setLed(led, true);
          await new Promise<void>((resolve) => this.#d.timers.setTimeout(resolve, 1000));
          g.setLed('ready', true);
          g.setLed('offline', !this.#d.uplink.connected);
          g.setLed('fault', this.#faults.size > 0);
        }
      },
      reloadCatalog: async () => {
        this.#catalog = undefined;
        await this.#state.update('catalog dropped', (s) => ({ ...s, catalog: null }));
        this.#setFault('catalog-unavailable', true);
        // A fresh subscription makes the broker send the retained catalog again.
        await this.#d.uplink.resubscribe(topics.catalog);
        const deadline = this.#d.clock.monotonicMs() + 5_000;
        const arrived = () => this.#catalog as Catalog | undefined;
        while (!arrived() && this.#d.clock.monotonicMs() < deadline) await new Promise<void>((r) => this.#d.timers.setTimeout(r, 50));
        return { version: arrived()?.version ?? null };
      },
      listStored: () => [
        ...this.#d.outbox.list().map((e) => ({ txId: e.txId, amount: { ...e.amount }, capturedAt: e.capturedAt, state: 'stored' as const })),
        ...this.#state.state.declined.map((r) => ({ txId: r.txId, amount: { ...r.amount }, capturedAt: r.capturedAt, state: 'declined' as const, reason: r.reason })),
      ],
    };
  }
}
