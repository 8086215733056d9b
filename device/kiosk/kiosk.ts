// SPDX-License-Identifier: Apache-2.0
// The running kiosk: starts and stops its parts (built and connected in wire-kiosk.ts) and reacts to
// the uplink, the hardware and the checkout's payments. Every adapter is chosen before this
// (hardware.ts, called by run-kiosk.ts); here all is a port, so the same code runs on a Pi and as the
// simulated kiosk, and under tests.
import type { Catalog } from '../../shared/catalog/catalog.ts';
import type { OnlineStatus } from '../../shared/kiosk-telemetry.ts';
import { topics } from '../../shared/topics.ts';
import { GpioClosedError, type KioskButton } from '../adapters/gpio/gpio.ts';
import type { PaymentOutcome } from './checkout-runner.ts';
import { kioskStatus } from './kiosk-status.ts';
import { wireKiosk, type KioskDeps, type KioskParts } from './wire-kiosk.ts';

export type { KioskDeps, KioskHardware } from './wire-kiosk.ts';

export class Kiosk {
  readonly #d: KioskDeps;
  readonly #p: KioskParts;
  readonly #cleanups: Array<() => void> = [];
  #stopped = false;

  constructor(deps: KioskDeps) {
    this.#d = deps;
    this.#p = wireKiosk(deps, {
      offlineAvailabilityChanged: () => this.#refreshOfflineAvailability(),
      pulseRelay: (slot, onMs) => this.#pulse(slot, onMs),
      paymentEnded: (o) => this.#onPayment(o),
      snapshot: () => this.#status(),
    });
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
    const onScan = (scan: { text: string }) => this.#p.runner.send({ type: 'scan', text: scan.text });
    const onScannerStatus = (s: 'ready' | 'unavailable') => this.#p.faults.set('scanner-unavailable', s === 'unavailable');
    const onDropped = (d: { reason: string }) => log.warn({ reason: d.reason }, 'scanner line dropped');
    scanner.on('scan', onScan).on('status', onScannerStatus).on('dropped', onDropped);
    this.#cleanups.push(() => scanner.off('scan', onScan).off('status', onScannerStatus).off('dropped', onDropped));
    scanner.start();
    if (hardware.gpio) this.#cleanups.push(hardware.gpio.onButton((b) => this.press(b)));

    // Before any sale: discarded offline payments whose write landed before a power loss leave the outbox.
    this.#p.desk.sweepDiscarded().then(
      (txIds) => {
        if (txIds.length > 0) log.warn({ txIds }, 'declined offline payments removed from the outbox');
      },
      (e: unknown) => log.error({ err: (e as Error).message }, 'declined offline payments not removed; they stay unsent'),
    );
    this.#p.view.stored(this.#d.outbox.stats().count, undefined);
    this.#p.faults.apply();
    this.#p.runner.send({ type: 'uplinkChanged', online: uplink.connected });
    this.#p.view.offline(!uplink.connected);
    this.#refreshOfflineAvailability();
    hardware.gpio?.setLed('ready', true);
    hardware.gpio?.setLed('offline', !uplink.connected);
    this.#p.telemetry.start();
    this.#p.clock.start();
    if (uplink.connected) this.#onUplink(true);
  }

  /** A button, from GPIO or the simulated kiosk's screen. */
  press(b: KioskButton): void {
    if (b === 'cancel') this.#p.runner.send({ type: 'cancelPressed' });
    else if (b === 'pay') this.#p.runner.send({ type: 'payPressed' });
    else if (b === 'help') {
      this.#p.view.message('Help is on the way. Please wait.', 30);
      this.#p.telemetry.event({ kind: 'fault', fault: 'help-requested', raised: true });
    } else this.#p.runner.send({ type: 'slotPressed', slot: b.slot });
  }

  get catalog(): Catalog | undefined {
    return this.#p.broadcasts.catalog;
  }

  get checkoutState(): string {
    return this.#p.runner.state.name;
  }

  /** The status as it would be published now. */
  status(): OnlineStatus {
    return { ...this.#status(), seq: 0 };
  }

  /** Forwards stored payments now (also what the `forward` command runs). */
  forwardNow(progress?: (done: number, total: number) => void) {
    return this.#p.forwarder.run(progress);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#p.runner.stop();
    this.#p.faults.stop();
    this.#p.telemetry.stop();
    this.#p.view.stop();
    this.#p.clock.stop();
    for (const c of this.#cleanups.splice(0)) c();
    await this.#p.forwarder.idle();
    await this.#p.telemetry.publishShutdown(this.#d.config.firmware);
    await this.#p.clock.persist();
  }

  /**
   * While the uplink is down, whether any offline code could be taken now; when none could, the
   * screen says so before the shopper scans (words.ts). Cheap: the clock, the list's age, the outbox's totals.
   */
  #refreshOfflineAvailability(): void {
    if (this.#stopped) return;
    const cause = this.#d.uplink.connected ? undefined : this.#p.desk.unavailableCause();
    if (this.#p.view.offlineUnavailable(cause !== undefined))
      this.#d.log.info({ cause }, cause === undefined ? 'offline payments possible again' : 'offline payments impossible now');
  }

  // ---- uplink ------------------------------------------------------------------------------------

  #onUplink(online: boolean): void {
    if (this.#stopped) return;
    this.#p.runner.send({ type: 'uplinkChanged', online });
    this.#p.view.offline(!online);
    this.#refreshOfflineAvailability();
    this.#d.hardware.gpio?.setLed('offline', !online);
    this.#p.telemetry.event({ kind: 'uplink', online });
    if (!online) return;
    this.#p.telemetry.publishStatus();
    void this.#p.telemetry.flush();
    void (async () => {
      await this.#p.clock.sync();
      await this.#p.forwarder.voidPending();
      if (this.#d.outbox.stats().count > 0)
        await this.#p.forwarder.run().catch((e: unknown) => this.#d.log.info({ err: (e as Error).message }, 'forwarding not started'));
    })().catch((e: unknown) => this.#d.log.error({ err: (e as Error).message }, 'uplink start-up work failed'));
    this.#p.clock.scheduleSync();
    this.#p.forwarder.scheduleRetry(this.#d.config.timing.forwardRetryMs, this.#d.timers);
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (topic === topics.kioskCommands(this.#d.config.kioskId)) void this.#p.commands.handle(payload);
    else this.#p.broadcasts.receive(topic, payload);
  }

  // ---- hardware, payments -----------------------------------------------------------------------

  #pulse(slot: number, onMs: number): void {
    const gpio = this.#d.hardware.gpio;
    if (!gpio) return;
    gpio.pulseRelay(onMs).catch((e: unknown) => {
      if (this.#stopped || e instanceof GpioClosedError) return; // switched off under the pulse: not a relay fault
      this.#d.log.error({ slot, err: (e as Error).message }, 'relay pulse failed');
      this.#p.faults.set('relay-unavailable', true);
    });
  }

  #onPayment(o: PaymentOutcome): void {
    this.#p.telemetry.event({
      kind: 'payment',
      txId: o.txId,
      amount: o.amount,
      outcome: o.outcome,
      offline: o.offline,
      ...(o.reason ? { reason: o.reason } : {}),
    });
    if (o.offline && o.outcome === 'approved') this.#p.view.stored(this.#d.outbox.stats().count, undefined);
    this.#refreshOfflineAvailability();
    this.#p.telemetry.changed();
  }

  #status(): Omit<OnlineStatus, 'seq'> {
    return kioskStatus({
      config: this.#d.config,
      outbox: this.#d.outbox,
      state: this.#p.state.state,
      time: this.#p.clock.now(),
      wallNowMs: this.#d.clock.nowMs(),
      lastSyncAt: this.#p.clock.lastSyncAt(),
      checkout: this.#p.runner.state.name,
      forwarding: this.#p.forwarder.progress,
      hardware: this.#d.hardware,
      faults: this.#p.faults.raised,
      catalogVersion: this.#p.broadcasts.catalog?.version,
    });
  }
}
