// SPDX-License-Identifier: Apache-2.0
// The chaos itself, for a bounded time: shoppers pay at random kiosks while faults are injected at
// random moments (SIGKILL and restart of a kiosk, the server or the broker; a kiosk's uplink cut and
// later restored through its screen's switch). Every choice comes from a seeded generator, the
// shoppers' and the faults' from streams of their own: the moments are real time, and with one
// stream the shoppers' pace would decide which draws the faults got (kiosk kills 0, 4 and 6 for one
// seed). A run is reproducible in its choices, not to the millisecond.
import { DEMO_CATALOG } from '../../server/catalog/demo-catalog.ts';
import type { Random } from '../../shared/random.ts';
import type { ChaosCluster, KioskSlot } from './chaos-cluster.ts';
import { post, presentCode, startSale, type PayOutcome } from './kiosk-screen.ts';
import { offlineCode, onlineCode, type PresentedCode, type Shopper } from './shoppers.ts';

type Rng = Random & { int(maxExclusive: number): number };

/** One code shown to one kiosk, and what its screen said. */
export interface Attempt extends PresentedCode {
  readonly n: number;
  readonly kioskId: string;
  readonly walletId: string;
  /** The basket total, minor units (JPY). */
  readonly amount: number;
  outcome: PayOutcome;
}

export interface FaultCounts {
  kioskKills: number;
  serverKills: number;
  brokerKills: number;
  uplinkCuts: number;
  /** Server starts that failed (the broker went away meanwhile) and were tried again. */
  restartRetries: number;
  /** Restarts that failed for good; heal() starts what is still down. */
  restartsGivenUp: number;
  /** Online codes wanted but not issued (server down): an offline code was shown instead. */
  onlineCodeUnavailable: number;
}

export interface ChaosOptions {
  durationMs: number;
  /** Shoppers paying at the same time. */
  concurrentShoppers: number;
  /** A fault every faultGapMinMs + [0, faultGapSpreadMs) ms. */
  faultGapMinMs: number;
  faultGapSpreadMs: number;
  /** Shares of the faults in percent: kiosk kills, uplink cuts, server kills; broker kills are the rest. Default 35, 35, 15. */
  faultMix?: readonly [kiosk: number, uplink: number, server: number];
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PRODUCTS = DEMO_CATALOG.items.map((i) => ({ gtin: i.gtin, price: i.price.value }));

export class ChaosDriver {
  readonly attempts: Attempt[] = [];
  readonly faults: FaultCounts = {
    kioskKills: 0,
    serverKills: 0,
    brokerKills: 0,
    uplinkCuts: 0,
    restartRetries: 0,
    restartsGivenUp: 0,
    onlineCodeUnavailable: 0,
  };
  /** Restarts and uplink restorations still to happen; heal() waits for them. */
  readonly #pending = new Set<Promise<void>>();
  #serverRestarting = false;
  #brokerRestarting = false;
  #stopAt = 0;

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly shoppers: Shopper[],
    /** The shoppers' choices: kiosk, shopper, product, which code. */
    private readonly rng: Rng,
    /** The faults' choices: kind, target, how long it stays down. */
    private readonly faultRng: Rng,
    private readonly o: ChaosOptions,
  ) {}

  async run(): Promise<void> {
    this.#stopAt = Date.now() + this.o.durationMs;
    const workers = Array.from({ length: this.o.concurrentShoppers }, () => this.#shopLoop());
    await Promise.all([this.#faultLoop(), ...workers]);
  }

  /** Waits for every pending restart and restoration (bounded by their own ready timeouts). */
  async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  #later(task: () => Promise<void>): void {
    const p = task()
      .catch((e: unknown) => {
        this.faults.restartsGivenUp++;
        this.o.log(`chaos: background task failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      })
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  async #shopLoop(): Promise<void> {
    while (Date.now() < this.#stopAt) {
      const free = this.cluster.kiosks.filter((k) => !k.busy && k.url !== undefined && k.proc?.alive);
      if (free.length === 0) {
        await sleep(100);
        continue;
      }
      const slot = free[this.rng.int(free.length)]!;
      const shopper = this.shoppers[this.rng.int(this.shoppers.length)]!;
      const product = PRODUCTS[this.rng.int(PRODUCTS.length)]!;
      const dice = this.rng.int(100);
      slot.busy = true;
      try {
        await this.#shop(slot, shopper, product, dice);
      } finally {
        slot.busy = false;
      }
    }
  }

  async #shop(slot: KioskSlot, shopper: Shopper, product: { gtin: string; price: number }, dice: number): Promise<void> {
    const url = slot.url;
    if (url === undefined) return;
    const sale = await startSale(url, slot.kioskId, product.gtin);
    if (!sale) {
      await sleep(100);
      return;
    }
    // A shopper who sees the offline label mostly shows the offline code; otherwise half and half.
    const wantOffline = dice < (sale.offline ? 90 : 50);
    let code = wantOffline ? offlineCode(shopper) : await onlineCode(shopper);
    if (code === undefined) {
      this.faults.onlineCodeUnavailable++;
      code = offlineCode(shopper);
    }
    const attempt: Attempt = {
      ...code,
      n: this.attempts.length + 1,
      kioskId: slot.kioskId,
      walletId: shopper.walletId,
      amount: product.price,
      outcome: { result: 'lost' },
    };
    this.attempts.push(attempt);
    attempt.outcome = await presentCode(url, slot.kioskId, code.code);
  }

  async #faultLoop(): Promise<void> {
    for (;;) {
      await sleep(this.o.faultGapMinMs + this.faultRng.int(this.o.faultGapSpreadMs));
      if (Date.now() >= this.#stopAt) return;
      const roll = this.faultRng.int(100);
      const [kiosk, uplink, server] = this.o.faultMix ?? [35, 35, 15];
      if (roll < kiosk) this.#killKiosk();
      else if (roll < kiosk + uplink) await this.#cutUplink();
      else if (roll < kiosk + uplink + server) this.#killServer();
      else this.#killBroker();
    }
  }

  #pickKiosk(): KioskSlot | undefined {
    const up = this.cluster.kiosks.filter((k) => !k.restarting && k.proc?.alive && k.url !== undefined);
    return up.length === 0 ? undefined : up[this.faultRng.int(up.length)];
  }

  #killKiosk(): void {
    const slot = this.#pickKiosk();
    if (!slot) return;
    const downMs = 200 + this.faultRng.int(2_000);
    slot.restarting = true;
    this.faults.kioskKills++;
    this.#later(async () => {
      try {
        await this.cluster.killKiosk(slot);
        await sleep(downMs);
        await this.cluster.startKiosk(slot);
      } finally {
        slot.restarting = false;
      }
    });
  }

  async #cutUplink(): Promise<void> {
    const slot = this.#pickKiosk();
    if (!slot?.uplinkUp || slot.url === undefined) return;
    const url = slot.url;
    const proc = slot.proc;
    const cutMs = 2_000 + this.faultRng.int(6_000);
    try {
      await post(url, '/sim/uplink', { up: false });
    } catch {
      return;
    }
    slot.uplinkUp = false;
    this.faults.uplinkCuts++;
    this.#later(async () => {
      await sleep(cutMs);
      // A kiosk restarted meanwhile came back with its uplink up.
      if (slot.proc !== proc || slot.url !== url) return;
      await post(url, '/sim/uplink', { up: true }).catch(() => undefined);
      if (slot.proc === proc) slot.uplinkUp = true;
    });
  }

  #killServer(): void {
    if (this.#serverRestarting || !this.cluster.serverUp) return;
    this.#serverRestarting = true;
    this.faults.serverKills++;
    const downMs = 300 + this.faultRng.int(2_500);
    this.#later(async () => {
      try {
        await this.cluster.server?.kill();
        await sleep(downMs);
        await this.restartServer();
      } finally {
        this.#serverRestarting = false;
      }
    });
  }

  #killBroker(): void {
    if (this.#brokerRestarting || !this.cluster.brokerUp) return;
    this.#brokerRestarting = true;
    this.faults.brokerKills++;
    const downMs = 300 + this.faultRng.int(2_500);
    this.#later(async () => {
      try {
        await this.cluster.broker?.kill();
        await sleep(downMs);
        await this.cluster.startBroker();
      } finally {
        this.#brokerRestarting = false;
      }
    });
  }

  /** The server needs the broker to start: wait for it, and try again if the broker died meanwhile. */
  async restartServer(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      for (let waited = 0; !this.cluster.brokerUp; waited += 100) {
        if (waited > 30_000) throw new Error('broker did not come back within 30 s');
        await sleep(100);
      }
      try {
        await this.cluster.startServer();
        return;
      } catch (e) {
        await this.cluster.server?.kill();
        if (attempt >= 4) throw e;
        this.faults.restartRetries++;
      }
    }
  }
}
