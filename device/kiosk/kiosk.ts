// SPDX-License-Identifier: Apache-2.0
// The running kiosk: wires its parts (checkout runner, offline desk, in-flight ledger, state writer,
// clock keeper, broadcasts, faults, forwarding, telemetry, commands) and reacts to the uplink and the
// hardware. Every adapter is chosen before this (hardware.ts, called by run-kiosk.ts); here all is a
// port, so the same code runs on a Pi and as the simulated kiosk, and under tests.
import type { Logger } from 'pino';
import { fromBase64url } from '../../shared/bytes.ts';
import type { Catalog } from '../../shared/catalog/catalog.ts';
import type { Clock } from '../../shared/clock.ts';
import { OfflineQrVerifier } from '../../shared/codes/offline-qr-verifier.ts';
import type { Ed25519 } from '../../shared/crypto/ed25519.ts';
import type { OnlineStatus } from '../../shared/kiosk-telemetry.ts';
import { topics } from '../../shared/topics.ts';
import { GpioClosedError, type KioskButton, type KioskGpio } from '../adapters/gpio/gpio.ts';
import type { Scanner } from '../adapters/scanner/scanner.ts';
import { makeCheckoutConfig, type CheckoutConfig } from '../domain/checkout/config.ts';
import { RevocationCache } from '../domain/offline/revocation-cache.ts';
import type { Display } from '../display/display.ts';
import type { OutboxStore } from '../outbox/outbox-store.ts';
import type { KioskUplink } from '../uplink/uplink.ts';
import { KioskBroadcasts } from './broadcasts.ts';
import { CheckoutRunner, type PaymentOutcome, type TimerPort } from './checkout-runner.ts';
import { ClockKeeper } from './clock-sync.ts';
import { ackPublisher, commandActions } from './command-actions.ts';
import { CommandDesk } from './commands.ts';
import type { KioskConfig } from './config.ts';
import { InflightLedger } from './inflight-ledger.ts';
import { KioskForwarder } from './kiosk-forwarder.ts';
import { KioskFaults } from './faults.ts';
import type { KioskStatePort } from './kiosk-state.ts';
import { kioskStatus } from './kiosk-status.ts';
import { KioskView } from './kiosk-view.ts';
import { OfflineDesk } from './offline-desk.ts';
import { deskRecords, KioskStateWriter, STATE_NOT_SAVED } from './state-writer.ts';
import { Telemetry } from './telemetry.ts';

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
  readonly #cfg: Readonly<KioskConfig>;
  readonly #state: KioskStateWriter;
  readonly #clock: ClockKeeper;
  readonly #broadcasts: KioskBroadcasts;
  readonly #view: KioskView;
  readonly #desk: OfflineDesk;
  readonly #runner: CheckoutRunner;
  readonly #telemetry: Telemetry;
  readonly #forwarder: KioskForwarder;
  readonly #commands: CommandDesk;
  readonly #faults: KioskFaults;
  readonly #cleanups: Array<() => void> = [];
  #stopped = false;

  constructor(deps: KioskDeps) {
    this.#d = deps;
    this.#cfg = deps.config;
    const cfg = this.#cfg;
    const { clock, log, timers, uplink, outbox } = deps;
    const checkoutConfig = makeCheckoutConfig(cfg.checkout as Partial<CheckoutConfig>);
    const issuerKeys = new Map(cfg.issuerKeys.map((k) => [k.keyId, fromBase64url(k.publicKey)!] as const));
    const state = new KioskStateWriter(deps.state, log, (raised) =>
      this.#telemetry.event({ kind: 'fault', fault: STATE_NOT_SAVED, raised }),
    );
    this.#state = state;
    const st = state.state;
    const revocations = new RevocationCache({ issuerKeys, ed: deps.ed, maxAgeMs: cfg.offline.revocationMaxAgeMs });
    this.#clock = new ClockKeeper({
      saved: st.clock,
      clock,
      options: {
        ...(deps.monotonicEpoch !== undefined ? { monotonicEpoch: deps.monotonicEpoch } : {}),
        ...(deps.rtc === true
          ? {
              rtc: {
                driftAllowanceMsPerHour: cfg.offline.clock.driftAllowanceMsPerHour,
                uncertaintyMaxMs: cfg.offline.clockUncertaintyMaxMs,
              },
            }
          : {}),
      },
      uplink,
      state,
      newId: deps.newId,
      timers,
      log,
      syncEveryMs: cfg.timing.clockSyncMs,
      onTick: () => this.#refreshOfflineAvailability(),
      onSynced: () => this.#telemetry.changed(),
    });
    const now = () => this.#clock.now().estimateMs;
    const ledger = new InflightLedger({ state, log, onVoidQueued: () => this.#forwarder.voidSoon() });
    ledger.recoverInterrupted();
    this.#broadcasts = new KioskBroadcasts({
      currency: cfg.currency,
      revocations,
      state,
      uplink,
      clock,
      timers,
      log,
      onRevocations: () => this.#refreshOfflineAvailability(),
      onCatalog: (present) => {
        this.#faults.set('catalog-unavailable', !present);
        if (present) this.#telemetry.changed();
      },
    });
    this.#broadcasts.restore(st);

    this.#view = new KioskView({
      kioskId: cfg.kioskId,
      mode: cfg.mode,
      policyMode: st.policy.mode,
      displays: deps.hardware.displays,
      timers,
      log,
    });
    const desk = new OfflineDesk({
      currency: cfg.currency,
      verifier: new OfflineQrVerifier({ issuerKeys, ed: deps.ed }),
      revocations,
      outbox,
      time: () => this.#clock.now(),
      windowMs: cfg.offline.windowMs,
      clockUncertaintyMaxMs: cfg.offline.clockUncertaintyMaxMs,
      revocationFreshAgeMs: cfg.offline.revocationMaxAgeMs,
      ...deskRecords(state, outbox),
    });
    this.#desk = desk;
    this.#runner = new CheckoutRunner({
      ctx: {
        mode: cfg.mode,
        config: checkoutConfig,
        clock: { nowMs: now, monotonicMs: () => clock.monotonicMs() },
        nextTxId: () => `${cfg.kioskId}-${deps.newId()}`,
        catalog: () => this.#broadcasts.catalog,
        policyMode: () => state.state.policy.mode,
      },
      uplink,
      desk,
      ledger,
      nextRequestId: deps.newId,
      timers,
      log,
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
    this.#telemetry = new Telemetry(
      {
        kioskId: cfg.kioskId,
        uplink,
        snapshot: () => this.#status(),
        nowMs: now,
        heartbeatMs: cfg.timing.heartbeatMs,
        timers,
        log,
      },
      () => clock.monotonicMs(),
    );
    this.#forwarder = new KioskForwarder({
      outbox,
      state,
      ledger,
      uplink,
      newId: deps.newId,
      log,
      timers,
      nowMs: now,
      onProgress: (p) => {
        this.#view.stored(outbox.stats().count, p.finished ? undefined : { done: p.done, total: p.total });
        this.#telemetry.event({ kind: 'forward', ...p });
        this.#telemetry.changed();
      },
      onDeclined: (r) => this.#telemetry.event({ kind: 'settle-declined', txId: r.txId, amount: r.amount, reason: r.reason as never }),
    });
    this.#faults = new KioskFaults(
      { runner: this.#runner, gpio: deps.hardware.gpio, view: this.#view, telemetry: this.#telemetry },
      this.#broadcasts.catalog ? [] : ['catalog-unavailable'],
    );
    this.#commands = new CommandDesk(
      commandActions({
        status: () => this.status(),
        forwarder: this.#forwarder,
        broadcasts: this.#broadcasts,
        state,
        outbox,
        gpio: deps.hardware.gpio,
        relayPulseMaxMs: checkoutConfig.relayPulseMaxMs,
        timers,
        policyChanged: (next) => {
          this.#view.policy(next.mode);
          this.#refreshOfflineAvailability();
          this.#telemetry.changed();
        },
        message: (text, seconds) => this.#view.message(text, seconds),
        lights: () => ({ offline: !uplink.connected, fault: this.#faults.raised.size > 0 }),
      }),
      now,
      ackPublisher(uplink, cfg.kioskId, log),
    );
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
    const onScannerStatus = (s: 'ready' | 'unavailable') => this.#faults.set('scanner-unavailable', s === 'unavailable');
    const onDropped = (d: { reason: string }) => log.warn({ reason: d.reason }, 'scanner line dropped');
    scanner.on('scan', onScan).on('status', onScannerStatus).on('dropped', onDropped);
    this.#cleanups.push(() => scanner.off('scan', onScan).off('status', onScannerStatus).off('dropped', onDropped));
    scanner.start();
    if (hardware.gpio) this.#cleanups.push(hardware.gpio.onButton((b) => this.press(b)));

    // Before any sale: discarded offline payments whose write landed before a power loss leave the outbox.
    this.#desk.sweepDiscarded().then(
      (txIds) => {
        if (txIds.length > 0) log.warn({ txIds }, 'declined offline payments removed from the outbox');
      },
      (e: unknown) => log.error({ err: (e as Error).message }, 'declined offline payments not removed; they stay unsent'),
    );
    this.#view.stored(this.#d.outbox.stats().count, undefined);
    this.#faults.apply();
    this.#runner.send({ type: 'uplinkChanged', online: uplink.connected });
    this.#view.offline(!uplink.connected);
    this.#refreshOfflineAvailability();
    hardware.gpio?.setLed('ready', true);
    hardware.gpio?.setLed('offline', !uplink.connected);
    this.#telemetry.start();
    this.#clock.start();
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
    return this.#broadcasts.catalog;
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
    this.#clock.stop();
    for (const c of this.#cleanups.splice(0)) c();
    await this.#forwarder.idle();
    await this.#telemetry.publishShutdown(this.#cfg.firmware);
    await this.#clock.persist();
  }

  /**
   * While the uplink is down, whether any offline code could be taken now; when none could, the
   * screen says so before the shopper scans (words.ts). Cheap: the clock, the list's age, the outbox's totals.
   */
  #refreshOfflineAvailability(): void {
    if (this.#stopped) return;
    const cause = this.#d.uplink.connected ? undefined : this.#desk.unavailableCause();
    if (this.#view.offlineUnavailable(cause !== undefined))
      this.#d.log.info({ cause }, cause === undefined ? 'offline payments possible again' : 'offline payments impossible now');
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
      await this.#clock.sync();
      await this.#forwarder.voidPending();
      if (this.#d.outbox.stats().count > 0)
        await this.#forwarder.run().catch((e: unknown) => this.#d.log.info({ err: (e as Error).message }, 'forwarding not started'));
    })().catch((e: unknown) => this.#d.log.error({ err: (e as Error).message }, 'uplink start-up work failed'));
    this.#clock.scheduleSync();
    this.#forwarder.scheduleRetry(this.#cfg.timing.forwardRetryMs, this.#d.timers);
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (topic === topics.kioskCommands(this.#cfg.kioskId)) void this.#commands.handle(payload);
    else this.#broadcasts.receive(topic, payload);
  }

  // ---- hardware, payments -----------------------------------------------------------------------

  #pulse(slot: number, onMs: number): void {
    const gpio = this.#d.hardware.gpio;
    if (!gpio) return;
    gpio.pulseRelay(onMs).catch((e: unknown) => {
      if (this.#stopped || e instanceof GpioClosedError) return; // switched off under the pulse: not a relay fault
      this.#d.log.error({ slot, err: (e as Error).message }, 'relay pulse failed');
      this.#faults.set('relay-unavailable', true);
    });
  }

  #onPayment(o: PaymentOutcome): void {
    this.#telemetry.event({
      kind: 'payment',
      txId: o.txId,
      amount: o.amount,
      outcome: o.outcome,
      offline: o.offline,
      ...(o.reason ? { reason: o.reason } : {}),
    });
    if (o.offline && o.outcome === 'approved') this.#view.stored(this.#d.outbox.stats().count, undefined);
    this.#refreshOfflineAvailability();
    this.#telemetry.changed();
  }

  #status(): Omit<OnlineStatus, 'seq'> {
    return kioskStatus({
      config: this.#cfg,
      outbox: this.#d.outbox,
      state: this.#state.state,
      time: this.#clock.now(),
      wallNowMs: this.#d.clock.nowMs(),
      lastSyncAt: this.#clock.lastSyncAt(),
      checkout: this.#runner.state.name,
      forwarding: this.#forwarder.progress,
      hardware: this.#d.hardware,
      faults: this.#faults.raised,
      catalogVersion: this.#broadcasts.catalog?.version,
    });
  }
}
