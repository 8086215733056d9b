// SPDX-License-Identifier: Apache-2.0
// The deterministic simulator (issue 6, in the style of TigerBeetle's VOPR): kiosks, phones, the
// uplink "broker" and the server in one process, on one simulated clock, from one seed. A scheduler
// picks an action at each step (a shopper pays online or offline or replays an old code at another
// kiosk; an uplink is cut or restored; a kiosk loses power, maybe mid-write; the server or the broker
// restarts; a kiosk's clock jumps or drifts; time passes). Then everything is healed, the world runs
// until it is quiet, and the invariants (invariants.ts) are checked. Nothing reads real time and all
// randomness comes from the seed, so a failing seed replays exactly.
import { seededRandom } from '../../shared/random.ts';
import { T0 } from '../../server/testing/world.ts';
import { checkInvariants, type InvariantReport } from './invariants.ts';
import { SimKiosk } from './sim-kiosk.ts';
import { SimPhone } from './sim-phone.ts';
import { simRandom, type SimRandom } from './sim-random.ts';
import { SimServer, type Dispatcher } from './sim-server.ts';
import { SimTimers } from './sim-timers.ts';
import { NO_NET_FAULTS, SimLink } from './sim-uplink.ts';
import type { DiskFaults } from './sim-disk.ts';
import { CATALOG, ITEMS, scenario, type ActionName, type Scenario } from './scenario.ts';
import { DISHONEST_KIOSK, DishonestActors } from './sim-dishonest.ts';

export interface SimOptions {
  seed: number;
  /** Scheduler steps before healing (default 300). */
  steps?: number;
  /** Replaces the server's kiosk dispatcher (the mutation test breaks idempotency with it). */
  dispatcher?: Dispatcher;
  /** Called with each trace line as it happens (--verbose). */
  onTrace?: (line: string) => void;
  /** The server's ledger on PostgreSQL at this URL, in a fresh schema dropped afterwards (sim-ledger.ts); SQLite in memory when unset. */
  databaseUrl?: string;
  /** Server replicas sharing the ledger (sim-server.ts; default 1). */
  replicas?: number;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  violations: string[];
  report: InvariantReport | undefined;
  stats: Record<string, number>;
  /** The last trace lines (what happened just before the end). */
  trace: string[];
  /** A digest of the whole trace: equal digests mean the same run. */
  digest: string;
}

/** Events (timers, deliveries) at one simulated instant before the run counts as a livelock. */
const EVENTS_PER_ADVANCE_MAX = 200_000;
/** How long the healed world may take to become quiet, in simulated ms. */
const HEAL_MS_MAX = 6 * 3_600_000;
const TRACE_KEPT = 60;
const HEALED_DISK: DiskFaults = Object.freeze({ latencyMs: [1, 15] as const, stallRate: 0, stallMs: [0, 0] as const, outboxErrorRate: 0 });

export async function runSimulation(o: SimOptions): Promise<SimResult> {
  const sim = await Simulation.create(o);
  try {
    return await sim.run();
  } finally {
    await sim.close();
  }
}

class Simulation {
  readonly trace: string[] = [];
  readonly stats: Record<string, number> = {};
  #digest = 0x811c9dc5;
  #healing = false;

  private constructor(
    readonly o: SimOptions,
    readonly rng: SimRandom,
    readonly sc: Scenario,
    readonly server: SimServer,
    readonly world: SimTimers,
    readonly links: SimLink[],
    readonly kiosks: SimKiosk[],
    readonly phones: SimPhone[],
    readonly retained: Map<string, string>,
    readonly dishonest: DishonestActors,
  ) {}

  static async create(o: SimOptions): Promise<Simulation> {
    const root = simRandom(o.seed);
    const rng = root.fork();
    const netRng = root.fork();
    const sc = scenario(root.fork());
    const ids = Array.from({ length: sc.kiosks }, (_, i) => `k${i + 1}`);
    const server = await SimServer.start({
      startMs: T0,
      random: seededRandom(root.fork().int(2 ** 31)),
      limits: sc.limits,
      ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
      seed: o.seed,
      ...(o.databaseUrl === undefined ? {} : { databaseUrl: o.databaseUrl }),
      ...(o.replicas === undefined ? {} : { replicas: o.replicas }),
      kiosks: [...ids.map((id, i) => ({ id, merchant: i % 2 === 0 ? 'shop' : 'other' })), DISHONEST_KIOSK],
    });
    const world = new SimTimers(T0);
    const retained = new Map<string, string>();
    const links: SimLink[] = [];
    const kiosks: SimKiosk[] = [];
    let self: Simulation | undefined;
    const faults = () => (self && !self.#healing ? sc.net : NO_NET_FAULTS);
    for (const id of ids) {
      const link = new SimLink({
        kioskId: id,
        world,
        rng: netRng.fork(),
        faults,
        server: (k, p) => server.handle(k, p),
        retained: () => [...retained].map(([topic, payload]) => ({ topic, payload })),
      });
      links.push(link);
      kiosks.push(
        new SimKiosk({
          id,
          issuerKeys: server.ctx.issuer.publicKeys(),
          link,
          rng: root.fork(),
          trueNow: () => world.now(),
          diskFaults: () => (self && !self.#healing ? sc.disk : HEALED_DISK),
          driftPpm: rng.between(-80, 80),
          requestTimeoutMs: 5_000,
        }),
      );
    }
    const phoneRng = root.fork();
    const phones: SimPhone[] = [];
    try {
      for (let i = 0; i < sc.phones; i++) {
        const p = await SimPhone.enroll(server.ctx, phoneRng, phoneRng.pick([500, 2_000, 5_000, 20_000]));
        await p.renewCredential(server.ctx);
        phones.push(p);
      }
    } catch (e) {
      await server.close(); // run() never gets to close it (the ledger may be a PostgreSQL schema)
      throw e;
    }
    self = new Simulation(
      o,
      rng,
      sc,
      server,
      world,
      links,
      kiosks,
      phones,
      retained,
      new DishonestActors(server, root.fork(), sc.limits.perPayment),
    );
    return self;
  }

  async run(): Promise<SimResult> {
    const violations: string[] = [];
    let report: InvariantReport | undefined;
    try {
      await this.#start();
      const steps = this.o.steps ?? 300;
      for (let i = 0; i < steps; i++) {
        await this.#step();
        await this.#advance(this.#stepGap());
      }
      await this.#heal();
      report = await checkInvariants(this.server, this.kiosks, this.phones);
      violations.push(...report.violations, ...this.dishonest.faults.map((f) => `[8] ${f}`));
    } catch (e) {
      violations.push(`the run crashed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    for (const l of this.links) {
      this.#count('messagesSent', l.sent);
      this.#count('messagesDropped', l.dropped);
      this.#count('messagesDuplicated', l.duplicated);
    }
    for (const k of this.kiosks) {
      this.#count('approved', k.record.approved.size);
      this.#count('approvedScreens', k.record.approvedScreens);
      this.#count('attempts', k.record.attempts.size);
      this.#count('powerLosses', k.record.powerLosses);
      this.#count('tornWrites', k.disk.tornWrites);
    }
    this.#count('serverRestarts', this.server.restarts);
    if (this.server.races > 0) this.#count('replicaRaces', this.server.races);
    this.#count('dishonestClaims', this.dishonest.claims);
    this.#count('floodMessages', this.dishonest.floodMessages);
    for (const [k, n] of Object.entries(this.server.ledgerCounters())) this.#count(k, n);
    if (report) {
      this.#count('charged', report.charged);
      this.#count('settledOffline', report.settledOffline);
      this.#count('declinedAtSettlement', report.declinedAtSettlement);
      this.#count('copiesRefused', report.copiesRefused);
      this.#count('copiesSameKiosk', report.copiesSameKiosk);
      this.#count('chargedAfterPowerLossOnline', report.chargedAfterPowerLoss.online);
      this.#count('chargedAfterPowerLossOffline', report.chargedAfterPowerLoss.offline);
    }
    return {
      seed: this.o.seed,
      ok: violations.length === 0,
      violations,
      report,
      stats: this.stats,
      trace: this.trace.slice(-TRACE_KEPT),
      digest: (this.#digest >>> 0).toString(16).padStart(8, '0'),
    };
  }

  async close(): Promise<void> {
    for (const k of this.kiosks) k.powerLoss();
    await this.server.close();
  }

  // ---- time -----------------------------------------------------------------------------------

  get now(): number {
    return this.world.now();
  }

  /** Moves every clock to true time `t`, firing world events first, then each kiosk's timers. */
  #moveTo(t: number): void {
    this.server.clock.advance(t - this.server.clock.nowMs());
    this.world.advanceTo(t);
    for (const k of this.kiosks) k.advanceTo(t);
  }

  /**
   * Lets every promise chain run (all work in the simulation is microtasks on top of timers, and
   * the ledger's units: on PostgreSQL those wait for a socket, so the drain waits for them too).
   */
  async #drain(): Promise<void> {
    for (;;) {
      await new Promise<void>((r) => setImmediate(r));
      if (!this.server.ledgerBusy) break;
      await this.server.ledgerIdle();
    }
    if (this.server.takeRevoked()) await this.#publishRevocations();
  }

  /** Runs the world for `ms` of true time, event by event. */
  async #advance(ms: number): Promise<void> {
    const end = this.now + ms;
    let events = 0;
    for (;;) {
      let next = this.world.nextDueMs();
      for (const k of this.kiosks) {
        const due = k.nextDueTrueMs();
        if (due !== undefined && (next === undefined || due < next)) next = due;
      }
      if (next === undefined || next > end) break;
      if (++events > EVENTS_PER_ADVANCE_MAX)
        throw new Error(`livelock: more than ${EVENTS_PER_ADVANCE_MAX} events within ${ms} ms at ${this.now - T0} ms`);
      this.#moveTo(Math.max(next, this.now));
      await this.#drain();
    }
    this.#moveTo(end);
    await this.#drain();
  }

  #stepGap(): number {
    const r = this.rng;
    return r.chance(0.85) ? r.between(50, 8_000) : r.between(8_000, 180_000);
  }

  // ---- broadcasts -----------------------------------------------------------------------------

  async #start(): Promise<void> {
    this.retained.set('kp/v1/server/catalog', JSON.stringify(CATALOG));
    await this.#publishRevocations();
    const republish = () => {
      this.world.setTimeout(republish, this.server.config.revocationRepublishMs);
      if (this.server.up) void this.#publishRevocations();
    };
    this.world.setTimeout(republish, this.server.config.revocationRepublishMs);
    for (const k of this.kiosks) k.boot(this.rng.between(10, 500));
    await this.#advance(2_000);
  }

  async #publishRevocations(): Promise<void> {
    const message = JSON.stringify(await this.server.revocations());
    this.retained.set('kp/v1/server/revocations', message);
    for (const l of this.links) l.broadcast('kp/v1/server/revocations', message);
  }

  // ---- the scheduler --------------------------------------------------------------------------

  #note(line: string): void {
    const text = `${String(this.now - T0).padStart(9)} ${line}`;
    for (let i = 0; i < text.length; i++) this.#digest = Math.imul(this.#digest ^ text.charCodeAt(i), 0x01000193);
    this.trace.push(text);
    if (this.trace.length > TRACE_KEPT * 2) this.trace.splice(0, TRACE_KEPT);
    this.o.onTrace?.(text);
  }

  #count(name: string, by = 1): void {
    this.stats[name] = (this.stats[name] ?? 0) + by;
  }

  #pickAction(): ActionName {
    const entries = Object.entries(this.sc.weights) as Array<[ActionName, number]>;
    let roll = this.rng.int(entries.reduce((s, [, w]) => s + w, 0));
    for (const [name, w] of entries) {
      if (roll < w) return name;
      roll -= w;
    }
    return 'wait';
  }

  async #step(): Promise<void> {
    const action = this.#pickAction();
    this.#count(`action.${action}`);
    const r = this.rng;
    const k = r.pick(this.kiosks);
    const link = this.links[this.kiosks.indexOf(k)]!;
    switch (action) {
      case 'buy':
        return this.#buy(k);
      case 'cancel':
        this.#note(`${k.id} cancel (${k.checkoutState})`);
        k.press('cancel');
        return;
      case 'cut':
        this.#note(`${k.id} uplink cut`);
        link.cut();
        return;
      case 'restore':
        this.#note(`${k.id} uplink restored`);
        link.restore(r.between(100, 3_000));
        return;
      case 'powerLoss':
        return this.#powerLoss(k);
      case 'serverRestart': {
        const downMs = r.between(200, 5_000);
        const which = this.server.stop();
        this.#note(`server${(this.o.replicas ?? 1) > 1 ? ` replica ${which}` : ''} restarts (down ${downMs} ms)`);
        this.world.setTimeout(() => this.server.restart(which), downMs);
        return;
      }
      case 'brokerRestart': {
        const downMs = r.between(500, 10_000);
        this.#note(`broker restarts (down ${downMs} ms)`);
        const wereUp = this.links.filter((l) => l.up);
        for (const l of wereUp) l.cut();
        this.world.setTimeout(() => {
          for (const l of wereUp) l.restore(r.between(100, 2_000));
        }, downMs);
        return;
      }
      case 'clockJump': {
        const ms = r.pick([-1, 1]) * r.pick([1_000, 60_000, 3_600_000, 86_400_000]) * r.between(1, 3);
        this.#note(`${k.id} wall clock jumps ${ms} ms`);
        k.jumpWall(ms);
        return;
      }
      case 'drift': {
        const ppm = r.between(-150, 150);
        this.#note(`${k.id} crystal drift now ${ppm} ppm`);
        k.setDrift(ppm);
        return;
      }
      case 'wait': {
        const ms = r.between(60_000, 600_000);
        this.#note(`everyone waits ${ms} ms`);
        await this.#advance(ms);
        return;
      }
      case 'dishonest':
        this.#note(await this.dishonest.claimCopies(this.kiosks));
        return;
      case 'flood':
        this.#note(await this.dishonest.flood());
        return;
      case 'night':
        return this.#night(k);
      case 'topUp': {
        const p = r.pick(this.phones);
        const value = r.pick([500, 1_000, 5_000]);
        this.#note(`${p.walletId} tops up ${value}`);
        await p.topUp(this.server.ctx, value);
        if (!p.hasCredential || r.chance(0.3)) await p.renewCredential(this.server.ctx);
        return;
      }
    }
  }

  async #powerLoss(k: SimKiosk): Promise<void> {
    const r = this.rng;
    // Often a shopper pays offline first, so that the cut lands while the payment is being written.
    if (k.on && r.chance(0.5)) {
      const link = this.links[this.kiosks.indexOf(k)]!;
      link.cut();
      await this.#drain();
      this.#note(`${k.id} uplink cut`);
      await this.#buy(k, 'offline');
    }
    const delayMs = r.between(0, 12);
    const downMs = r.between(1_000, 120_000);
    this.world.setTimeout(() => {
      this.#note(`${k.id} loses power (${k.disk.writesInFlight} writes in flight, checkout ${k.checkoutState}); back in ${downMs} ms`);
      k.powerLoss();
      this.world.setTimeout(() => {
        // Half the kiosks have a battery-backed RTC that kept counting; the others boot on
        // fake-hwclock half the time (the wall clock restarts where it stopped).
        const rtc = r.chance(0.5);
        if (!rtc && r.chance(0.5)) k.jumpWall(-downMs);
        this.#count(rtc ? 'bootsWithRtc' : 'bootsWithoutRtc');
        k.boot(r.between(200, 3_000), rtc);
      }, downMs);
    }, delayMs);
  }

  /**
   * A long night without uplink: the kiosk's uplink drops and stays down 6-14 hours while shoppers
   * keep paying offline now and then; sometimes the power is cut in the middle (a reboot with or
   * without RTC, no uplink). The invariants must still hold after healing.
   */
  async #night(k: SimKiosk): Promise<void> {
    const r = this.rng;
    const link = this.links[this.kiosks.indexOf(k)]!;
    link.cut();
    this.#count('nights');
    const hours = r.between(6, 14);
    this.#note(`${k.id} uplink cut for a night of ${hours} h`);
    for (let h = 0; h < hours; h += 3) {
      await this.#advance(Math.min(3, hours - h) * 3_600_000);
      if (r.chance(0.2)) await this.#powerLoss(k);
      await this.#advance(r.between(5_000, 130_000));
      if (k.on) await this.#buy(k, 'offline');
    }
    link.restore(r.between(100, 3_000));
  }

  /** A shopper at kiosk `k`: fills a basket if needed, then shows a code. */
  async #buy(k: SimKiosk, only?: 'offline'): Promise<void> {
    const r = this.rng;
    const state = k.checkoutState;
    if (state === 'idle' || state === 'basket') {
      for (let n = r.between(1, 3); n > 0; n--) k.scan(r.pick(ITEMS).gtin);
      k.press('pay');
      await this.#drain();
    }
    if (k.checkoutState !== 'awaitingCode') {
      this.#note(`${k.id} shopper waits (${k.checkoutState})`);
      return;
    }
    const phone = r.pick(this.phones);
    const kind =
      only ?? r.pick(['online', 'online', 'offline', 'offline', 'offline', 'replay-offline', 'replay-online', 'garbage'] as const);
    let code: string | undefined;
    if (kind === 'online') code = await phone.onlineCode(this.server.ctx);
    else if (kind === 'offline') code = phone.offlineCode(this.now);
    else if (kind === 'replay-offline') code = phone.shownOffline.length > 0 ? r.pick(phone.shownOffline) : undefined;
    else if (kind === 'replay-online') code = phone.shownOnline.length > 0 ? r.pick(phone.shownOnline) : undefined;
    else code = r.pick(['hello', '12345', 'KP1.not-a-code']);
    if (code === undefined) {
      this.#note(`${k.id} shopper has no ${kind} code`);
      return;
    }
    const attempt = k.scan(code);
    this.#note(
      `${k.id} ${phone.walletId.slice(0, 10)} shows ${kind} code -> ${attempt ? `${attempt.txId} (${attempt.online ? 'online' : 'offline'})` : `no attempt (${k.checkoutState})`}`,
    );
    await this.#drain();
  }

  // ---- healing --------------------------------------------------------------------------------

  async #heal(): Promise<void> {
    this.#note('heal: faults off, server and links up, kiosks on');
    this.#healing = true;
    this.server.restartAll();
    for (const l of this.links) l.restore(this.rng.between(100, 1_000));
    await this.#advance(130_000);
    for (const k of this.kiosks) {
      // A failed outbox (a disk error) stays failed until it is reopened: a technician reboots the kiosk.
      if (k.outbox?.failed) {
        this.#note(`${k.id} outbox failed after a disk error: reboot`);
        k.powerLoss();
      }
      if (!k.on) k.boot(this.rng.between(100, 1_000));
    }
    const start = this.now;
    while (this.now - start < HEAL_MS_MAX) {
      await this.#advance(30_000);
      if (this.kiosks.every((k) => k.quiet())) {
        this.#note(`quiet after ${this.now - start} ms of healing`);
        this.#count('healMs', this.now - start);
        for (const k of this.kiosks) this.#count('voidLaterLeft', k.state?.state.voidLater.length ?? 0);
        return;
      }
    }
    for (const k of this.kiosks) {
      if (!k.quiet()) {
        this.#note(
          `${k.id} not quiet: checkout ${k.checkoutState}, outbox ${k.outbox?.stats().count}${k.outbox?.failed ? ' (failed)' : ''}, voidLater ${k.state?.state.voidLater.length}, connected ${this.links[this.kiosks.indexOf(k)]!.uplink?.connected}`,
        );
      }
    }
    throw new Error(`the healed world did not become quiet within ${HEAL_MS_MAX} ms (see the trace)`);
  }
}
