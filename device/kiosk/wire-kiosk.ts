// SPDX-License-Identifier: Apache-2.0
// How the running kiosk's parts are built and connected, one concern at a time (kiosk.ts starts,
// runs and stops them). In order:
//   1. stored state  the state writer; a save that fails raises the `state-not-saved` fault event
//   2. time          the clock keeper (server sync, RTC, monotonic epoch), its state restored
//   3. broadcasts    the revocation list and the catalog, restored from the state
//   4. checkout      the screen, the offline desk, the in-flight ledger and the checkout runner
//   5. telemetry     the status and events the server and the console read
//   6. forwarding    stored offline payments, and the payments to void
//   7. faults        the fault LED, the screen's fault list and the checkout's out-of-service state
//   8. commands      what a technician's command does, and its ack
// Parts that call one another before all exist (the state writer reports through telemetry, the
// ledger through the forwarder) reach each other through closures that run only after this returns.
import type { Logger } from 'pino';
import { fromBase64url } from '../../shared/bytes.ts';
import type { Clock } from '../../shared/clock.ts';
import { OfflineQrVerifier } from '../../shared/codes/offline-qr-verifier.ts';
import type { Ed25519 } from '../../shared/crypto/ed25519.ts';
import type { OnlineStatus } from '../../shared/kiosk-telemetry.ts';
import type { KioskGpio } from '../adapters/gpio/gpio.ts';
import type { Scanner } from '../adapters/scanner/scanner.ts';
import type { Display } from '../display/display.ts';
import { makeCheckoutConfig, type CheckoutConfig } from '../domain/checkout/config.ts';
import { RevocationCache } from '../domain/offline/revocation-cache.ts';
import type { OutboxStore } from '../outbox/outbox-store.ts';
import type { KioskUplink } from '../uplink/uplink.ts';
import { KioskBroadcasts } from './broadcasts.ts';
import { CheckoutRunner, type CheckoutEvents, type PaymentOutcome, type TimerPort } from './checkout-runner.ts';
import { ClockKeeper } from './clock-sync.ts';
import { ackPublisher, commandActions } from './command-actions.ts';
import { CommandDesk } from './commands.ts';
import type { KioskConfig } from './config.ts';
import { KioskFaults } from './faults.ts';
import { InflightLedger } from './inflight-ledger.ts';
import { KioskForwarder } from './kiosk-forwarder.ts';
import type { KioskStatePort } from './kiosk-state.ts';
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

/** The running kiosk's parts, connected. */
export interface KioskParts {
  state: KioskStateWriter;
  clock: ClockKeeper;
  broadcasts: KioskBroadcasts;
  view: KioskView;
  desk: OfflineDesk;
  runner: CheckoutRunner;
  telemetry: Telemetry;
  forwarder: KioskForwarder;
  faults: KioskFaults;
  commands: CommandDesk;
}

/** What the kiosk itself does when a part reports (kiosk.ts). */
export interface KioskReactions {
  /** The clock, the revocation list, the policy, the outbox or the screen changed: offline payments may have become possible or impossible. */
  offlineAvailabilityChanged(): void;
  pulseRelay(slot: number, onMs: number): void;
  paymentEnded(o: PaymentOutcome): void;
  /** The status as telemetry publishes it, without `seq`. */
  snapshot(): Omit<OnlineStatus, 'seq'>;
}

export function wireKiosk(deps: KioskDeps, react: KioskReactions): KioskParts {
  const { config: cfg, clock, log, timers, uplink, outbox } = deps;
  const checkoutConfig = makeCheckoutConfig(cfg.checkout as Partial<CheckoutConfig>);
  const issuerKeys = new Map(cfg.issuerKeys.map((k) => [k.keyId, fromBase64url(k.publicKey)!] as const));

  // 1. stored state
  const state = new KioskStateWriter(deps.state, log, (raised) => telemetry.event({ kind: 'fault', fault: STATE_NOT_SAVED, raised }));
  const saved = state.state;

  // 2. time
  const clockKeeper = newClockKeeper(deps, state, {
    onTick: () => react.offlineAvailabilityChanged(),
    onSynced: () => telemetry.changed(),
  });
  const now = () => clockKeeper.now().estimateMs;

  // 3. broadcasts
  const revocations = new RevocationCache({ issuerKeys, ed: deps.ed, maxAgeMs: cfg.offline.revocationMaxAgeMs });
  const broadcasts = new KioskBroadcasts({
    currency: cfg.currency,
    revocations,
    state,
    uplink,
    clock,
    timers,
    log,
    onRevocations: () => react.offlineAvailabilityChanged(),
    onCatalog: (present) => {
      faults.set('catalog-unavailable', !present);
      if (present) telemetry.changed();
    },
  });
  broadcasts.restore(saved);

  // 4. checkout
  const view = new KioskView({
    kioskId: cfg.kioskId,
    mode: cfg.mode,
    policyMode: saved.policy.mode,
    displays: deps.hardware.displays,
    timers,
    log,
  });
  const desk = new OfflineDesk({
    currency: cfg.currency,
    verifier: new OfflineQrVerifier({ issuerKeys, ed: deps.ed }),
    revocations,
    outbox,
    time: () => clockKeeper.now(),
    windowMs: cfg.offline.windowMs,
    clockUncertaintyMaxMs: cfg.offline.clockUncertaintyMaxMs,
    revocationFreshAgeMs: cfg.offline.revocationMaxAgeMs,
    ...deskRecords(state, outbox),
  });
  const ledger = new InflightLedger({
    state,
    log,
    onVoidQueued: () => forwarder.voidSoon(),
    onVoidsChanged: () => telemetry.changed(),
  });
  ledger.recoverInterrupted();
  const runner = new CheckoutRunner({
    ctx: {
      mode: cfg.mode,
      config: checkoutConfig,
      clock: { nowMs: now, monotonicMs: () => clock.monotonicMs() },
      nextTxId: () => `${cfg.kioskId}-${deps.newId()}`,
      catalog: () => broadcasts.catalog,
      policyMode: () => state.state.policy.mode,
    },
    uplink,
    desk,
    ledger,
    nextRequestId: deps.newId,
    timers,
    log,
    events: checkoutEvents(view, deps.hardware.gpio, react),
  });

  // 5. telemetry
  const telemetry = new Telemetry(
    { kioskId: cfg.kioskId, uplink, snapshot: () => react.snapshot(), nowMs: now, heartbeatMs: cfg.timing.heartbeatMs, timers, log },
    () => clock.monotonicMs(),
  );

  // 6. forwarding
  const forwarder = new KioskForwarder({
    outbox,
    state,
    ledger,
    uplink,
    newId: deps.newId,
    log,
    timers,
    nowMs: now,
    onProgress: (p) => {
      view.stored(outbox.stats().count, p.finished ? undefined : { done: p.done, total: p.total });
      telemetry.event({ kind: 'forward', ...p });
      telemetry.changed();
    },
    onDeclined: (r) => telemetry.event({ kind: 'settle-declined', txId: r.txId, amount: r.amount, reason: r.reason as never }),
  });

  // 7. faults; a missing catalog is reported only when the checkout warns about it (after catalogWaitMs)
  const faults = new KioskFaults(
    { runner, gpio: deps.hardware.gpio, view, telemetry, timers, graceMs: { 'catalog-unavailable': checkoutConfig.catalogWaitMs } },
    broadcasts.catalog ? [] : ['catalog-unavailable'],
  );

  // 8. commands
  const commands = new CommandDesk(
    commandActions({
      status: () => ({ ...react.snapshot(), seq: 0 }),
      forwarder,
      broadcasts,
      state,
      outbox,
      gpio: deps.hardware.gpio,
      relayPulseMaxMs: checkoutConfig.relayPulseMaxMs,
      timers,
      policyChanged: (next) => {
        view.policy(next.mode);
        react.offlineAvailabilityChanged();
        telemetry.changed();
      },
      message: (text, seconds) => view.message(text, seconds),
      lights: () => ({ offline: !uplink.connected, fault: faults.raised.size > 0 }),
    }),
    now,
    ackPublisher(uplink, cfg.kioskId, log),
  );

  return { state, clock: clockKeeper, broadcasts, view, desk, runner, telemetry, forwarder, faults, commands };
}

/** The checkout's screen, lights, buzzer, relay and payment outcomes, to the kiosk's parts. */
function checkoutEvents(view: KioskView, gpio: KioskGpio | undefined, react: KioskReactions): CheckoutEvents {
  return {
    screen: (screen, hint) => {
      view.screen(screen, hint);
      react.offlineAvailabilityChanged();
    },
    offlineIndicator: (on) => {
      view.offline(on);
      gpio?.setLed('offline', on);
    },
    beep: (pattern) => gpio?.beep(pattern),
    pulseRelay: (slot, onMs) => react.pulseRelay(slot, onMs),
    payment: (o) => react.paymentEnded(o),
  };
}

/** The trusted clock's keeper, with the RTC's allowances when an RTC set the clock at this boot. */
function newClockKeeper(deps: KioskDeps, state: KioskStateWriter, on: { onTick: () => void; onSynced: () => void }): ClockKeeper {
  const { config: cfg } = deps;
  const rtc = {
    driftAllowanceMsPerHour: cfg.offline.clock.driftAllowanceMsPerHour,
    uncertaintyMaxMs: cfg.offline.clockUncertaintyMaxMs,
  };
  return new ClockKeeper({
    saved: state.state.clock,
    clock: deps.clock,
    options: {
      ...(deps.monotonicEpoch !== undefined ? { monotonicEpoch: deps.monotonicEpoch } : {}),
      ...(deps.rtc === true ? { rtc } : {}),
    },
    uplink: deps.uplink,
    state,
    newId: deps.newId,
    timers: deps.timers,
    log: deps.log,
    syncEveryMs: cfg.timing.clockSyncMs,
    ...on,
  });
}
