// SPDX-License-Identifier: Apache-2.0
// One kiosk across its whole life in the simulator: the REAL Kiosk (checkout machine, offline desk,
// forwarder, state, telemetry, commands) on a simulated scanner and screen, its own drifting clock,
// the simulated disk and the faulty uplink. A power loss abandons the running Kiosk without its
// shutdown path (its timers never fire again, its uplink client is dead, writes in flight land or
// not); a boot opens the disk again and starts a new Kiosk with a new boot id.
//
// What the shopper saw is recorded from the checkout's own structured log events, emitted in the
// same transition that changes the screen: authorisation-started, approved, declined, store-timeout,
// tx-unresolved. These records live outside the kiosk and survive its power losses.
import type { Logger } from 'pino';
import { toBase64url, toHex } from '../../shared/bytes.ts';
import { nodeEd25519 } from '../../shared/crypto/ed25519-node.ts';
import type { Display, DisplayView } from '../../device/display/display.ts';
import { SimScanner } from '../../device/adapters/scanner/sim-scanner.ts';
import type { KioskButton } from '../../device/adapters/gpio/gpio.ts';
import { parseKioskConfig, type KioskConfig } from '../../device/kiosk/config.ts';
import { Kiosk } from '../../device/kiosk/kiosk.ts';
import { initialKioskState } from '../../device/kiosk/kiosk-state.ts';
import type { OutboxContents } from '../../device/outbox/outbox-contents.ts';
import { KioskClock } from './sim-clock.ts';
import { SimDisk, SimDiskOutbox, SimStateStore, type DiskFaults } from './sim-disk.ts';
import type { SimRandom } from './sim-random.ts';
import { SimTimers } from './sim-timers.ts';
import { SimUplink } from '../../device/uplink/sim-uplink.ts';
import type { SimLink } from './sim-uplink.ts';

/** One payment attempt as the kiosk started it. */
export interface Attempt {
  kioskId: string;
  txId: string;
  /** The code text the shopper showed (kept by the simulator only, never by the kiosk's logs). */
  code: string;
  codeKind: string;
  online: boolean;
  boot: number;
}

/** What the shopper saw and what the disk held, per kiosk, across power losses. */
export class KioskRecord {
  readonly attempts = new Map<string, Attempt>();
  readonly approved = new Set<string>();
  readonly declined = new Map<string, string>();
  readonly storeTimeouts = new Set<string>();
  readonly unresolved = new Set<string>();
  /** txIds that were ever durable in the outbox. */
  readonly stored = new Set<string>();
  /** Attempts that had not ended (approved or declined) when the kiosk lost power. */
  readonly interrupted = new Set<string>();
  approvedScreens = 0;
  powerLosses = 0;
}

/** A pino-shaped logger that keeps the checkout's events and drops everything else. */
function recordingLogger(onEvent: (event: string, detail: Record<string, unknown>) => void): Logger {
  const write = (obj: unknown) => {
    if (obj && typeof obj === 'object' && typeof (obj as { event?: unknown }).event === 'string') {
      onEvent((obj as { event: string }).event, obj as Record<string, unknown>);
    }
  };
  const log = { info: write, warn: write, error: write, debug: write, trace: write, fatal: write, child: () => log, level: 'info' };
  return log as unknown as Logger;
}

class CountingDisplay implements Display {
  health: 'ok' | 'fault' = 'ok';
  constructor(private readonly onApproved: () => void) {}
  #last: string | undefined;
  render(view: DisplayView): void {
    if (view.screen.name === 'approved' && this.#last !== 'approved') this.onApproved();
    this.#last = view.screen.name;
  }
  async close(): Promise<void> {}
}

export interface SimKioskDeps {
  id: string;
  issuerKeys: ReadonlyMap<number, Uint8Array>;
  link: SimLink;
  rng: SimRandom;
  diskFaults: () => DiskFaults;
  trueNow: () => number;
  driftPpm: number;
  requestTimeoutMs: number;
}

export class SimKiosk {
  readonly id: string;
  readonly record = new KioskRecord();
  readonly disk: SimDisk;
  readonly config: Readonly<KioskConfig>;
  #clock: KioskClock;
  #timers = new SimTimers();
  #kiosk: Kiosk | undefined;
  #scanner: SimScanner | undefined;
  #outbox: SimDiskOutbox | undefined;
  #state: SimStateStore | undefined;
  #boot = 0;
  #wallOffsetMs = 0;
  #driftPpm: number;
  /** The code being scanned right now, to tie the attempt the scan starts to it. */
  #scanning: string | undefined;

  constructor(private readonly d: SimKioskDeps) {
    this.id = d.id;
    this.#driftPpm = d.driftPpm;
    this.#clock = new KioskClock(d.trueNow, d.driftPpm);
    this.disk = new SimDisk(d.rng.fork(), d.diskFaults);
    this.disk.onDurable = (file, value) => {
      if (file !== 'outbox') return;
      for (const e of (value as OutboxContents).entries) this.record.stored.add(e.txId);
    };
    const keys = [...d.issuerKeys].map(([keyId, key]) => ({ keyId, publicKey: toBase64url(key) }));
    this.config = parseKioskConfig({
      kioskId: d.id,
      dataDir: '/nonexistent/sim',
      mqtt: { url: 'mqtt://sim.invalid:1', password: 'x' },
      issuerKeys: keys,
      sim: true,
      display: {},
      timing: { heartbeatMs: 30_000, clockSyncMs: 300_000, forwardRetryMs: 30_000, requestTimeoutMs: d.requestTimeoutMs },
    });
  }

  get on(): boolean {
    return this.#kiosk !== undefined;
  }

  get kiosk(): Kiosk | undefined {
    return this.#kiosk;
  }

  get outbox(): SimDiskOutbox | undefined {
    return this.#outbox;
  }

  get state(): SimStateStore | undefined {
    return this.#state;
  }

  get clock(): KioskClock {
    return this.#clock;
  }

  get boots(): number {
    return this.#boot;
  }

  /**
   * Boots the kiosk on what its disk holds; the uplink connects after `connectDelayMs`. `rtc`: a
   * battery-backed RTC set its wall clock at this boot (it kept counting through the power cut).
   */
  boot(connectDelayMs: number, rtc = false): void {
    if (this.#kiosk) return;
    const boot = ++this.#boot;
    const rng = this.d.rng;
    this.#clock = new KioskClock(this.d.trueNow, this.#driftPpm);
    this.#clock.jumpWall(this.#wallOffsetMs);
    this.#timers = new SimTimers(0);
    this.disk.attach(this.#timers);
    this.#outbox = SimDiskOutbox.open(this.disk);
    this.#state = SimStateStore.open(this.disk, initialKioskState(this.config.policy));
    // The RATE_LIMITED backoff's jitter: its own stream, drawn from the kiosk's only if ever needed.
    let jitter: SimRandom | undefined;
    const random = () => {
      jitter ??= rng.fork();
      return jitter.int(2 ** 30) / 2 ** 30;
    };
    const uplink = new SimUplink(this.d.link, { timers: this.#timers, requestTimeoutMs: this.d.requestTimeoutMs, random });
    this.#scanner = new SimScanner();
    const bootPrefix = `b${toHex(rng.bytes(4))}`;
    let n = 0;
    this.#kiosk = new Kiosk({
      config: this.config,
      clock: this.#clock,
      monotonicEpoch: `boot-${boot}`,
      rtc,
      uplink,
      outbox: this.#outbox,
      state: this.#state.asKioskStateStore(),
      ed: nodeEd25519,
      hardware: {
        scanner: this.#scanner,
        gpio: undefined,
        displays: [new CountingDisplay(() => this.record.approvedScreens++)],
        simulated: true,
      },
      newId: () => `${bootPrefix}${(++n).toString(36)}`,
      timers: this.#timers,
      log: recordingLogger((e, detail) => this.#onEvent(boot, e, detail)),
    });
    this.#kiosk.start();
    this.d.link.attach(uplink, connectDelayMs);
  }

  /** Power is cut: no shutdown path runs. */
  powerLoss(): void {
    if (!this.#kiosk) return;
    const r = this.record;
    r.powerLosses++;
    for (const [txId, a] of r.attempts) {
      if (a.boot === this.#boot && !r.approved.has(txId) && !r.declined.has(txId)) r.interrupted.add(txId);
    }
    this.#wallOffsetMs = this.#clock.wallOffsetMs;
    this.disk.powerLoss();
    this.d.link.detach();
    this.#kiosk = undefined;
    this.#scanner = undefined;
    this.#outbox = undefined;
    this.#state = undefined;
  }

  /** A shopper scans `text`; returns the attempt it started, if any. */
  scan(text: string): Attempt | undefined {
    if (!this.#scanner) return undefined;
    const before = this.record.attempts.size;
    this.#scanning = text;
    try {
      this.#scanner.emitScan(text);
    } finally {
      this.#scanning = undefined;
    }
    if (this.record.attempts.size === before) return undefined;
    return [...this.record.attempts.values()].at(-1);
  }

  press(b: KioskButton): void {
    this.#kiosk?.press(b);
  }

  get checkoutState(): string {
    return this.#kiosk?.checkoutState ?? 'off';
  }

  /** The kiosk's wall clock is set wrong by `ms`. */
  jumpWall(ms: number): void {
    this.#clock.jumpWall(ms);
    this.#wallOffsetMs = this.#clock.wallOffsetMs;
  }

  setDrift(ppm: number): void {
    this.#driftPpm = ppm;
    this.#clock.setDrift(ppm);
  }

  /** True time at which this kiosk's next timer is due, or undefined. */
  nextDueTrueMs(): number | undefined {
    if (!this.#kiosk) return undefined;
    const mono = this.#timers.nextDueMs();
    return mono === undefined ? undefined : this.#clock.trueTimeOf(mono);
  }

  /** Runs this kiosk's timers up to true time `t`. */
  advanceTo(t: number): void {
    if (this.#kiosk) this.#timers.advanceTo(this.#clock.monotonicAt(t));
  }

  /** Nothing left to do: idle checkout, empty outbox, no write or request in flight. */
  quiet(): boolean {
    const k = this.#kiosk;
    if (!k) return false;
    const link = this.d.link;
    return (
      k.checkoutState === 'idle' &&
      (this.#outbox?.stats().count ?? 0) === 0 &&
      this.disk.writesInFlight === 0 &&
      (link.uplink?.pendingRequests ?? 0) === 0 &&
      link.uplink?.connected === true
    );
  }

  #onEvent(boot: number, event: string, detail: Record<string, unknown>): void {
    const r = this.record;
    const txId = typeof detail['txId'] === 'string' ? detail['txId'] : undefined;
    if (txId === undefined) return;
    switch (event) {
      case 'authorisation-started':
        r.attempts.set(txId, {
          kioskId: this.id,
          txId,
          code: this.#scanning ?? '',
          codeKind: String(detail['codeKind']),
          online: detail['online'] === true,
          boot,
        });
        return;
      case 'approved':
        r.approved.add(txId);
        return;
      case 'declined':
        r.declined.set(txId, String(detail['reason']));
        return;
      case 'store-timeout':
        r.storeTimeouts.add(txId);
        return;
      case 'tx-unresolved':
        r.unresolved.add(txId);
        return;
    }
  }
}
