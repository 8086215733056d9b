// SPDX-License-Identifier: Apache-2.0
// Fairness under a flood (issue 12): one kiosk publishes pay requests as fast as the broker takes
// them (well-formed 20-digit codes that were never issued: each costs a lookup and a recorded
// decline), reconnecting whenever it is thrown out (its own thread: bench/flood-worker.ts), while
// an honest kiosk pays one code every 100 ms. The honest kiosk's p50 and p99 latency with the flood
// are printed as ratios of its p50 and p99 alone, measured in the same run; then the same flood
// with the broker's publish budget and the server's per-kiosk limits lifted, to show what they buy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startSystem } from '../bin/system.ts';
import { MqttUplink } from '../device/uplink/mqtt-uplink.ts';
import { money } from '../shared/money.ts';
import { enrollWallet, issueOnlineCode, topUp } from '../server/domain/wallets.ts';
import { startBrokerInWorker } from './broker-worker.ts';
import { startFlood } from './flood-worker.ts';
import { percentile } from './stats.ts';

const PAYS = 100;
/**
 * The honest kiosk's pace: one payment every 100 ms, already far busier than a till, and under the
 * server's per-kiosk budget (20 a second), so what it measures is the flood's effect, not its own
 * requests being rate-limited.
 */
const HONEST_EVERY_MS = 100;
const silent = pino({ level: 'silent' });
const LIFTED = {
  server: { kioskRequestsPerSec: 1_000_000, kioskRequestBurst: 1_000_000, kioskInFlightMax: 1_000_000 },
  broker: { publishesPerSecMax: 1_000_000, publishBurstMax: 1_000_000 },
};

interface Phase {
  p50: number;
  p99: number;
  flooded: number;
  timedOut: number;
}
/** The honest kiosk's request timeout: a payment not answered by then counts at this latency. */
const REQUEST_TIMEOUT_MS = 5_000;

async function run(lifted: typeof LIFTED | undefined): Promise<{ alone: Phase; flood: Phase }> {
  const dir = mkdtempSync(join(tmpdir(), 'kioskpay-fair-'));
  const system = await startSystem({
    dataDir: join(dir, 'server'),
    mqttPort: 0,
    httpPort: 0,
    kioskIds: ['honest', 'flooder'],
    log: silent,
    startBroker: (o) => startBrokerInWorker({ ...o, ...(lifted ? { limits: lifted.broker } : {}) }),
    // The honest codes are issued up front; with the limits lifted, a third or more of its payments
    // wait out the 5 s timeout, and the run can outlast the codes' default 5 minutes.
    server: { onlineCodesPerWalletMax: 1_000_000, onlineCodeTtlMs: 60 * 60_000, ...lifted?.server },
  });
  try {
    const ctx = system.server.ctx;
    const [honestLogin, flooderLogin] = system.kiosks as [(typeof system.kiosks)[number], (typeof system.kiosks)[number]];
    const honest = await MqttUplink.connect({ ...honestLogin, logger: silent, requestTimeoutMs: REQUEST_TIMEOUT_MS });
    const w = await enrollWallet(ctx);
    await topUp(ctx, w.walletId, money(1_000_000));
    const codes: string[] = [];
    for (let i = 0; i < 2 * PAYS; i++) codes.push((await issueOnlineCode(ctx, w.walletId)).code);
    let tx = 0;
    let timedOut = 0;
    const pays = async (): Promise<number[]> => {
      const lat: number[] = [];
      const start = performance.now();
      for (let i = 0; i < PAYS; i++) {
        const wait = start + i * HONEST_EVERY_MS - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const t = performance.now();
        try {
          const r = await honest.request<'pay'>({
            v: 1,
            type: 'pay',
            id: `h${++tx}`,
            txId: `h${tx}`,
            code: codes.pop()!,
            amount: money(100),
          });
          if (r.type !== 'pay.result' || r.status !== 'approved') throw new Error(`honest payment not approved: ${JSON.stringify(r)}`);
          lat.push(performance.now() - t);
        } catch (e) {
          if (!(e instanceof Error && 'timeoutMs' in e)) throw e;
          timedOut++;
          lat.push(REQUEST_TIMEOUT_MS);
        }
      }
      return lat.sort((a, b) => a - b);
    };
    const alone = await pays();
    const timedOutAlone = timedOut;

    const flood = await startFlood({
      url: flooderLogin.url,
      username: flooderLogin.username,
      password: flooderLogin.password,
      kioskId: 'flooder',
    });
    await new Promise((r) => setTimeout(r, 500)); // the flood is under way before the honest kiosk pays
    const withFlood = await pays();
    const flooded = await flood.stop();
    await honest.close();
    const phase = (lat: number[], n: number, t: number): Phase => ({
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      flooded: n,
      timedOut: t,
    });
    return { alone: phase(alone, 0, timedOutAlone), flood: phase(withFlood, flooded, timedOut - timedOutAlone) };
  } finally {
    await system.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function fairnessBench(): Promise<string> {
  const lines = [
    `| ${'honest kiosk, one payment every 100 ms'.padEnd(52)} | ${'p50 / p99 ms'.padStart(16)} | ${'timed out'.padStart(9)} | ${'flood sent'.padStart(10)} | ${'p50 / p99 ratio'.padStart(15)} |`,
    `|${'-'.repeat(54)}|${'-'.repeat(18)}|${'-'.repeat(11)}|${'-'.repeat(12)}|${'-'.repeat(17)}|`,
  ];
  const line = (name: string, p: Phase, base: Phase | undefined) =>
    `| ${name.padEnd(52)} | ${`${p.p50.toFixed(2)} / ${p.p99.toFixed(2)}`.padStart(16)} | ${`${p.timedOut}/${PAYS}`.padStart(9)} | ${String(p.flooded).padStart(10)} | ${(base ? `${(p.p50 / base.p50).toFixed(2)}x / ${(p.p99 / base.p99).toFixed(2)}x` : '-').padStart(15)} |`;
  const limited = await run(undefined);
  lines.push(line('alone (baseline)', limited.alone, undefined));
  lines.push(line('while another kiosk floods, limits on', limited.flood, limited.alone));
  const lifted = await run(LIFTED);
  lines.push(line('alone, limits lifted (baseline)', lifted.alone, undefined));
  lines.push(line('while another kiosk floods, limits lifted', lifted.flood, lifted.alone));
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${await fairnessBench()}\n`);
