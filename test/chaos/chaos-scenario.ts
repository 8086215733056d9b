// SPDX-License-Identifier: Apache-2.0
// The chaos test's scenario (issue 6), on either ledger (chaos.test.ts: SQLite in the server's data
// dir; chaos-pg.test.ts: PostgreSQL): the broker, the server and 10 simulated kiosks each run as
// their own `kioskpay` process. For a bounded time shoppers pay at random kiosks with online and
// offline codes while kiosks, the server and the broker are SIGKILLed and restarted at random and
// kiosk uplinks are cut and restored. Then everything heals and the ledger and the kiosks' stores
// must agree: the ledger sums to zero, every approval a screen showed is charged once, nothing is
// charged twice or without a code, every outbox is empty and every kept decline is the server's.
// Seeded choices, real time; every wait is bounded and every process group is killed in afterAll.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../shared/random.ts';
import { ChaosCluster, MERCHANT } from './chaos-cluster.ts';
import { ChaosDriver } from './chaos-driver.ts';
import { checkRetainedStatus, heal, stopAll } from './heal.ts';
import type { ChaosFacts, CheckInput } from './invariants.ts';
import { watchScreen } from './kiosk-screen.ts';
import { openKioskStores, type KioskStores } from './kiosk-stores.ts';
import { crashedProcesses, killAllManaged } from './managed-process.ts';
import { enrollShoppers, type Shopper } from './shoppers.ts';

const KIOSKS = 10;
/** Ten shoppers with plenty, two with little: their credentials' offline limits are small, so
 * offline payments at several kiosks exceed them and some are declined at settlement. */
const TOPUPS = [...Array<number>(10).fill(500_000), 700, 700];
const THIN_TOPUP_MAX = 10_000;

/** The server's ledger for one run. */
export interface ChaosLedger {
  /** The server's DATABASE_URL; unset: SQLite in its data dir. */
  readonly databaseUrl?: string;
  /** The invariants, read from the ledger once the server has stopped (`ledgerPath`: where SQLite's would be). */
  check(input: CheckInput, ledgerPath: string): Promise<{ violations: string[]; facts: ChaosFacts }>;
  /** Removes what the ledger left behind (a PostgreSQL schema). */
  dispose(): Promise<void>;
}

export interface ChaosScenario {
  seed: number;
  chaosMs: number;
  /** The faults' shares (ChaosOptions.faultMix). */
  faultMix?: readonly [kiosk: number, uplink: number, server: number];
  ledger: () => Promise<ChaosLedger>;
  /** Registers the suite skipped (what it needs is absent). */
  skip?: boolean;
}

/** Registers the scenario as one suite: the cluster starts in its beforeAll, the chaos and the checks are its test. */
export function chaosSuite(name: string, o: ChaosScenario): void {
  let dir: string;
  let cluster: ChaosCluster;
  let shoppers: Shopper[];
  let ledger: ChaosLedger | undefined;
  const log = (line: string) => process.stdout.write(`${line}\n`);

  (o.skip ? describe.skip : describe)(name, () => {
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'kp-chaos-'));
      ledger = await o.ledger();
      const random = seededRandom(o.seed);
      cluster = await ChaosCluster.create(dir, KIOSKS, random, ledger.databaseUrl === undefined ? {} : { databaseUrl: ledger.databaseUrl });
      await cluster.startBroker();
      await cluster.startServer();
      await Promise.all(cluster.kiosks.map((k) => cluster.startKiosk(k)));
      // Ready to sell: every kiosk online, with its catalog, idle.
      for (const k of cluster.kiosks) {
        const ready = await watchScreen(k.url!, k.kioskId, (v) => (!v.offline && v.screen.name === 'idle' ? true : undefined), 30_000);
        if (!ready) throw new Error(`${k.kioskId} did not become ready\n${k.proc?.recentOutput()}`);
      }
      shoppers = await enrollShoppers(cluster.httpUrl, TOPUPS, random);
    }, 120_000);

    afterAll(async () => {
      await killAllManaged();
      await ledger?.dispose();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it(`heals to a consistent ledger and empty kiosk stores (seed ${o.seed}, ${KIOSKS} kiosks, ${o.chaosMs} ms)`, async () => {
      const started = Date.now();
      const driver = new ChaosDriver(cluster, shoppers, seededRandom(o.seed ^ 0x5eed), seededRandom(o.seed ^ 0xfa17), {
        durationMs: o.chaosMs,
        concurrentShoppers: 4,
        faultGapMinMs: 600,
        faultGapSpreadMs: 1_500,
        ...(o.faultMix === undefined ? {} : { faultMix: o.faultMix }),
        log,
      });
      await driver.run();
      const chaosEnded = Date.now();
      await heal(cluster, driver);
      const healedMs = Date.now() - chaosEnded;
      const statuses = await checkRetainedStatus(cluster);
      await stopAll(cluster);
      const crashed = crashedProcesses();

      const stores = new Map<string, KioskStores>();
      for (const k of cluster.kiosks) stores.set(k.kioskId, await openKioskStores(k.dataDir));
      const input: CheckInput = {
        attempts: driver.attempts,
        wallets: shoppers,
        thinWallets: new Set(shoppers.filter((s) => s.topup < THIN_TOPUP_MAX).map((s) => s.walletId)),
        merchant: MERCHANT,
        kiosks: stores,
      };
      const { violations, facts } = await ledger!.check(input, cluster.ledgerPath);
      const f = driver.faults;
      log(
        `chaos: seed ${o.seed}, ${KIOSKS} kiosks, ledger ${ledger!.databaseUrl === undefined ? 'SQLite' : 'PostgreSQL'}, ${Math.round((chaosEnded - started) / 1000)} s of chaos, healed in ${(healedMs / 1000).toFixed(1)} s; ` +
          `faults: ${f.kioskKills} kiosk kills, ${f.serverKills} server kills, ${f.brokerKills} broker kills, ${f.uplinkCuts} uplink cuts, ${f.restartRetries} server starts retried, ${f.restartsGivenUp} restarts given up, ${f.onlineCodeUnavailable} online codes unavailable; ` +
          `codes: ${facts.presented} presented (${driver.attempts.filter((a) => a.kind === 'offline').length} offline), ${facts.approvedSeen} approved on screen, ` +
          `${facts.declinedSeen} declined ${JSON.stringify(facts.declineReasons)}, ${facts.lost} without a verdict (${facts.chargedWithoutVerdict} of them charged); ` +
          `${facts.approvedThenDeclined} offline approvals declined at settlement; ` +
          `ledger: ${facts.charged} charged, ${facts.settledOffline} settled from outboxes, ${facts.voided} voided; ${facts.declinesKept} declines kept by kiosks; ` +
          `${violations.length} violations`,
      );
      for (const line of violations.slice(0, 30)) log(`  violation: ${line}`);

      expect(violations).toEqual([]);
      // Only the test's SIGKILLs end a process: none exited by itself.
      expect(crashed).toEqual([]);
      // The run exercised what it claims to: faults of every kind, and payments both ways.
      expect(f.kioskKills).toBeGreaterThan(0);
      expect(f.serverKills + f.brokerKills).toBeGreaterThan(0);
      expect(f.uplinkCuts).toBeGreaterThan(0);
      expect(facts.approvedSeen).toBeGreaterThan(0);
      expect(driver.attempts.some((a) => a.kind === 'offline' && a.outcome.result === 'approved')).toBe(true);
      expect(driver.attempts.some((a) => a.kind === 'online' && a.outcome.result === 'approved')).toBe(true);
      expect(facts.charged + facts.approvedThenDeclined).toBeGreaterThanOrEqual(facts.approvedSeen);
      expect(statuses.size).toBe(KIOSKS);
    }, 240_000);
  });
}
