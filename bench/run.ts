// SPDX-License-Identifier: Apache-2.0
// npm run bench: payments through the real broker and server, each beside a baseline measured in the
// same run on the same machine. The broker runs on its own thread (in production it is its own
// process), the 50 simulated kiosks on another (bench/kiosk-load.ts), and the server or the echo
// responder alone on the main thread.
//  1. raw MQTT echo (50 kiosk clients, a responder that answers every request at once) - the ceiling
//     for any request/response over this broker (bench/echo.ts);
//  2. online payments, 50 concurrent simulated kiosks, closed loop (ratio against 1; the two run in
//     alternating one-second slices after a warm-up, so a change in the machine's load falls on both
//     alike, and the ratio is the median of the slice pairs);
//  3. online payments at fixed rates up to 1,000/s, open loop, for latency (at 1,000/s alternating
//     with the echo at the same rate);
//  4. settlement of stored offline payments, batches of 100;
//  5. offline code verification (issuer + phone signatures) beside raw crypto.verify;
//  6. the kiosk: pre-check latency, cold start, memory, forwarding (bench/kiosk.ts);
//  7. fairness: an honest kiosk's latency while another kiosk floods (bench/fairness.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import pino from 'pino';
import { startBrokerInWorker } from './broker-worker.ts';
import { MqttUplink } from '../device/uplink/mqtt-uplink.ts';
import { startSystem, type RunningSystem } from '../bin/system.ts';
import { fromBase64url } from '../shared/bytes.ts';
import { decodeCode, type DecodedOfflineQr } from '../shared/codes/decode.ts';
import { makeOfflineCode } from '../shared/codes/offline-code.ts';
import { verifyOfflineQr } from '../shared/codes/verify-offline.ts';
import { naclEd25519 } from '../shared/crypto/ed25519-nacl.ts';
import { nodeEd25519, nodeVerifyAsync } from '../shared/crypto/ed25519-node.ts';
import { OfflineQrVerifier } from '../shared/codes/offline-qr-verifier.ts';
import { money } from '../shared/money.ts';
import { enrollWallet, issueCredential, issueOnlineCode, topUp } from '../server/domain/wallets.ts';
import { cpuLine, HEADER, p99, p99Seen, ratioSeen, row, targetLine, type RunStats } from './stats.ts';
import { alternating, startKioskLoad } from './kiosk-load.ts';
import { startEcho } from './echo.ts';
import { saveProfile, stageTable, startProfile } from './profile.ts';
import { kioskBench } from './kiosk.ts';
import { pgStoreBench } from './pg-store.ts';

const KIOSKS = 50;
const CLOSED_LOOP_MS = Number(process.env['BENCH_SECONDS'] ?? 4) * 1000;
const OPEN_RATE_PER_S = 1000;
const OPEN_LOOP_MS = 3000;
const WARM_UP_MS = 2000;
const silent = pino({ level: 'silent' });
/**
 * Each simulated kiosk here sends 20-100 requests a second, far more than a till: the per-kiosk
 * budgets of the broker (50 publishes/s) and the server (20 requests/s, 8 in flight) are lifted in
 * the echo and the payment runs alike. bench/fairness.ts measures what those budgets do.
 */
const LIFTED = {
  broker: { publishesPerSecMax: 1_000_000, publishBurstMax: 1_000_000 },
  server: { kioskRequestsPerSec: 1_000_000, kioskRequestBurst: 1_000_000, kioskInFlightMax: 1_000_000 },
};
/** BENCH_ONLY=online: only the echo and the online payment runs (for iterating on the online path). */
const ONLINE_ONLY = process.env['BENCH_ONLY'] === 'online';

/**
 * With BENCH_PROFILE set, one more closed-loop run each of the echo and the payments with a CPU
 * profile of the main thread (the echo responder, or the server), printed as time per stage after
 * the results and saved as BENCH_PROFILE-<what>.cpuprofile. Without it, nothing runs.
 */
const profiles: string[] = [];
async function profiled(what: string, run: () => Promise<RunStats>): Promise<void> {
  const out = process.env['BENCH_PROFILE'];
  if (!out) return;
  const stop = await startProfile();
  const stats = await run();
  const profile = await stop();
  saveProfile(`${out}-${what.replace(/ /g, '-')}.cpuprofile`, profile);
  profiles.push(`\n${what}, main thread, during "${stats.name}" (${stats.ops} round trips):\n${stageTable(profile, stats)}`);
}

async function verifyBench(codes: DecodedOfflineQr[], issuerKeys: ReadonlyMap<number, Uint8Array>): Promise<RunStats[]> {
  const n = 20_000;
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const msg = Buffer.alloc(147, 7);
  const sig = nodeSign(null, msg, privateKey);
  let t = performance.now();
  for (let i = 0; i < n; i++) if (!nodeVerify(null, msg, publicKey, sig)) throw new Error('raw verify failed');
  const raw: RunStats = {
    name: 'raw crypto.verify, 1 signature (baseline)',
    ops: n,
    seconds: (performance.now() - t) / 1000,
    latenciesMs: [],
  };
  t = performance.now();
  for (let i = 0; i < n / 4; i++)
    if (!verifyOfflineQr(codes[i % codes.length]!, issuerKeys, nodeEd25519).ok) throw new Error('verify failed');
  const plain: RunStats = {
    name: 'offline codes, verifyOfflineQr (2 signatures)',
    ops: n / 4,
    seconds: (performance.now() - t) / 1000,
    latenciesMs: [],
  };
  // What the server does: credentials verified once, phone signatures on the thread pool, 64 at a time.
  const verifier = new OfflineQrVerifier({ issuerKeys, ed: nodeEd25519, verifyAsync: nodeVerifyAsync });
  t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < n) {
        const i = next++;
        if (!(await verifier.verifyAsync(codes[i % codes.length]!)).ok) throw new Error('verifier failed');
      }
    }),
  );
  const server: RunStats = {
    name: 'offline codes, server verifier (cached, async)',
    ops: n,
    seconds: (performance.now() - t) / 1000,
    latenciesMs: [],
  };
  return [raw, plain, server];
}

async function main(): Promise<void> {
  const lines: string[] = [];
  const print = (s: string) => {
    lines.push(s);
    process.stdout.write(s + '\n');
  };
  print(
    `kioskpay bench: ${KIOSKS} kiosks, closed loop ${CLOSED_LOOP_MS / 1000} s, open loop ${OPEN_RATE_PER_S}/s for ${OPEN_LOOP_MS / 1000} s (node ${process.version})\n`,
  );
  print(HEADER);
  const echo = await startEcho(KIOSKS, LIFTED.broker);

  const dir = mkdtempSync(join(tmpdir(), 'kioskpay-bench-'));
  const kioskIds = Array.from({ length: KIOSKS }, (_, i) => `bench-${i}`);
  let brokerThreadId: string | undefined;
  const system = await startSystem({
    dataDir: join(dir, 'server'),
    mqttPort: 0,
    httpPort: 0,
    kioskIds,
    log: silent,
    startBroker: async (o) => {
      const broker = await startBrokerInWorker({ ...o, limits: LIFTED.broker });
      brokerThreadId = broker.threadId;
      return broker;
    },
    server: {
      ...LIFTED.server,
      onlineCodesPerWalletMax: 1_000_000,
      limits: { perPayment: 100_000, daily: { amount: 1_000_000_000, count: 255 }, monthly: { amount: 1_000_000_000, count: 255 } },
    },
  });
  const ctx = system.server.ctx;
  try {
    // One wallet per kiosk, with enough money and pre-issued one-time codes (issuing is not measured).
    const wallets = await Promise.all(
      kioskIds.map(async () => {
        const w = await enrollWallet(ctx);
        await topUp(ctx, w.walletId, money(1_000_000_000));
        return w.walletId;
      }),
    );
    const codesPerKiosk = 2_000;
    const codes: string[][] = await Promise.all(
      wallets.map(async (wid) => {
        const out: string[] = [];
        for (let i = 0; i < codesPerKiosk; i += 100)
          out.push(...(await Promise.all(Array.from({ length: 100 }, async () => (await issueOnlineCode(ctx, wid)).code))));
        return out;
      }),
    );
    const load = await startKioskLoad(system.kiosks, { perKiosk: codes }, brokerThreadId);
    // Warm-up, not counted: V8 compiles the hot paths of all three threads in its first seconds.
    await alternating({ load: echo.load, name: 'warm-up' }, { load, name: 'warm-up' }, { kind: 'closed' }, WARM_UP_MS);
    const [echoRun, closed] = await alternating(
      { load: echo.load, name: 'raw MQTT echo, 50 kiosks (baseline)' },
      { load, name: 'online payments, 50 kiosks, closed loop' },
      { kind: 'closed' },
      CLOSED_LOOP_MS,
    );
    print(row(echoRun));
    print(row(closed, echoRun));
    for (const ratePerS of [OPEN_RATE_PER_S / 4, OPEN_RATE_PER_S / 2])
      print(row(await load.run({ kind: 'open', name: `online payments at ${ratePerS}/s, open loop`, ratePerS, durationMs: OPEN_LOOP_MS })));
    const [echoOpen, open] = await alternating(
      { load: echo.load, name: `raw MQTT echo at ${OPEN_RATE_PER_S}/s (baseline)` },
      { load, name: `online payments at ${OPEN_RATE_PER_S}/s, open loop` },
      { kind: 'open', ratePerS: OPEN_RATE_PER_S },
      OPEN_LOOP_MS,
    );
    print(row(echoOpen));
    print(row(open));
    const throughput = ratioSeen(closed, echoRun);
    print(`\ntargets (issue 13), each beside its baseline from this run:`);
    print(targetLine('payments / echo, closed loop', throughput.seen, '>= 60%', throughput.ratio >= 0.6));
    print(targetLine(`p99 at ${OPEN_RATE_PER_S}/s, open loop`, p99Seen(open, echoOpen), '< 20 ms', p99(open) < 20));
    await profiled('echo responder', () => echo.load.run({ kind: 'closed', name: 'raw MQTT echo', durationMs: CLOSED_LOOP_MS }));
    await echo.close();
    await profiled('server', () => load.run({ kind: 'closed', name: 'online payments, closed loop', durationMs: CLOSED_LOOP_MS }));
    await load.close();
    if (!ONLINE_ONLY) await offlineRuns(system, wallets, print);
    const totals = await ctx.store.unit((t) => t.balanceTotals());
    print(`\nledger check: totals ${JSON.stringify(Object.fromEntries(totals))} (must be 0)`);
    print('\nCPU by thread (Linux scheduler statistics):');
    for (const r of [echoRun, closed]) print(cpuLine(r));
    for (const p of profiles) print(p);
  } finally {
    await system.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Settlement of stored offline payments, then offline code verification beside raw crypto.verify. */
async function offlineRuns(system: RunningSystem, wallets: string[], print: (s: string) => void): Promise<void> {
  const ctx = system.server.ctx;
  // Settlement: each kiosk sends batches of 100 stored offline payments.
  const phoneSeed = new Uint8Array(32).fill(3);
  const phone = naclEd25519.keyPairFromSeed(phoneSeed);
  const creds = await Promise.all(wallets.map((wid) => issueCredential(ctx, wid, phone.publicKey)));
  const now = ctx.clock.nowMs();
  let counter = 0;
  const offlineCode = (k: number) =>
    makeOfflineCode(
      { credential: fromBase64url(creds[k]!.credential)!, timestampMs: now, counter: ++counter, phoneSecretKey: phone.secretKey },
      nodeEd25519,
    );
  const batches = 4;
  const settleStart = performance.now();
  const settleLat: number[] = [];
  let settled = 0;
  let tx = 0;
  const uplinks = await Promise.all(system.kiosks.slice(0, 10).map((k) => MqttUplink.connect({ ...k, logger: silent })));
  await Promise.all(
    uplinks.map(async (u, k) => {
      for (let b = 0; b < batches; b++) {
        // A different wallet per batch keeps every wallet inside its signed daily count (at most 255).
        const wallet = (k * batches + b) % KIOSKS;
        const items = Array.from({ length: 100 }, () => ({
          txId: `s${++tx}`,
          code: offlineCode(wallet),
          amount: money(100),
          capturedAt: now,
        }));
        const t = performance.now();
        const r = await u.request<'settle'>({ v: 1, type: 'settle', id: `q${tx}`, items });
        settleLat.push(performance.now() - t);
        if (r.type !== 'settle.result' || r.items.some((i) => i.status !== 'settled'))
          throw new Error(`settlement failed: ${JSON.stringify(r).slice(0, 300)}`);
        settled += r.items.length;
      }
    }),
  );
  print(
    row({
      name: 'offline settlement, 10 kiosks x 100-item batches',
      ops: settled,
      seconds: (performance.now() - settleStart) / 1000,
      latenciesMs: settleLat,
    }),
  );

  const samples = Array.from({ length: 64 }, (_, i) => {
    const d = decodeCode(offlineCode(i % KIOSKS));
    if (!d.ok || d.code.kind !== 'offline-qr') throw new Error('bench code does not decode');
    return d.code;
  });
  const [raw, plain, server] = await verifyBench(samples, ctx.issuer.publicKeys());
  print(row(raw!));
  print(row(plain!, raw));
  print(row(server!, raw));
  await Promise.all(uplinks.map((u) => u.close()));
}

await main();
if (ONLINE_ONLY) process.exit(0);
process.stdout.write('\nkiosk (issue 3): each beside a baseline measured in this run\n');
await kioskBench((line) => process.stdout.write(`${line}\n`));
process.stdout.write(`\nfairness: one kiosk floods, another pays (issue 12)\n${await (await import('./fairness.ts')).fairnessBench()}\n`);
process.stdout.write(`\nledger on PostgreSQL beside SQLite (issue 6)\n${await pgStoreBench()}\n`);
process.stdout.write(`\nserver replicas behind Mosquitto (issue 6)\n${await (await import('./replicas.ts')).replicasBench()}\n`);
