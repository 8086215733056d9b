// SPDX-License-Identifier: Apache-2.0
// npm run bench: payments through the real broker and server, each beside a baseline measured in the
// same run on the same machine. The broker runs on its own thread (in production it is its own
// process); the server or the echo responder, and the 50 kiosk clients, share the main thread.
//  1. raw MQTT echo (50 kiosk clients, a responder that answers every request at once) - the ceiling
//     for any request/response over this broker;
//  2. online payments, 50 concurrent simulated kiosks, closed loop (ratio against 1);
//  3. online payments at fixed rates up to 1,000/s, open loop, for latency;
//  4. settlement of stored offline payments, batches of 100;
//  5. offline code verification (issuer + phone signatures) beside raw crypto.verify;
//  6. the kiosk: pre-check latency, cold start, memory, forwarding (bench/kiosk.ts);
//  7. fairness: an honest kiosk's latency while another kiosk floods (bench/fairness.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import mqtt from 'mqtt';
import pino from 'pino';
import { startBrokerInWorker } from './broker-worker.ts';
import { hashPassword } from '../broker/identities.ts';
import { MqttUplink } from '../device/uplink/mqtt-uplink.ts';
import { startSystem } from '../bin/system.ts';
import { fromBase64url } from '../shared/bytes.ts';
import { decodeCode, type DecodedOfflineQr } from '../shared/codes/decode.ts';
import { makeOfflineCode } from '../shared/codes/offline-code.ts';
import { verifyOfflineQr } from '../shared/codes/verify-offline.ts';
import { naclEd25519 } from '../shared/crypto/ed25519-nacl.ts';
import { nodeEd25519, nodeVerifyAsync } from '../shared/crypto/ed25519-node.ts';
import { OfflineQrVerifier } from '../shared/codes/offline-qr-verifier.ts';
import { money } from '../shared/money.ts';
import { topics } from '../shared/topics.ts';
import { enrollWallet, issueCredential, issueOnlineCode, topUp } from '../server/domain/wallets.ts';
import { HEADER, row, type RunStats } from './stats.ts';
import { kioskBench } from './kiosk.ts';
import { pgStoreBench } from './pg-store.ts';

const KIOSKS = 50;
const CLOSED_LOOP_MS = Number(process.env['BENCH_SECONDS'] ?? 4) * 1000;
const OPEN_RATE_PER_S = 1000;
const OPEN_LOOP_MS = 3000;
const silent = pino({ level: 'silent' });

type Uplink = Awaited<ReturnType<typeof MqttUplink.connect>>;

async function closedLoop(
  name: string,
  uplinks: Uplink[],
  durationMs: number,
  one: (u: Uplink, i: number) => Promise<void>,
): Promise<RunStats> {
  const lat: number[] = [];
  let ops = 0;
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    uplinks.map(async (u, k) => {
      for (let i = 0; performance.now() < end; i++) {
        const t = performance.now();
        await one(u, k * 1_000_000 + i);
        lat.push(performance.now() - t);
        ops++;
      }
    }),
  );
  return { name, ops, seconds: (performance.now() - start) / 1000, latenciesMs: lat };
}

async function openLoop(
  name: string,
  uplinks: Uplink[],
  ratePerS: number,
  durationMs: number,
  one: (u: Uplink, i: number) => Promise<void>,
): Promise<RunStats> {
  const lat: number[] = [];
  const inflight: Promise<void>[] = [];
  const start = performance.now();
  const total = Math.floor((ratePerS * durationMs) / 1000);
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / ratePerS;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    // Latency counts from the scheduled time, so a stalled system cannot hide queueing (no coordinated omission).
    inflight.push(
      one(uplinks[i % uplinks.length]!, i).then(() => {
        lat.push(performance.now() - due);
      }),
    );
  }
  await Promise.all(inflight);
  return { name, ops: total, seconds: (performance.now() - start) / 1000, latenciesMs: lat };
}

async function echoBaseline(): Promise<RunStats> {
  const pw = 'bench-echo';
  const hash = await hashPassword(pw);
  const ids = Array.from({ length: KIOSKS }, (_, i) => `echo-${i}`);
  const broker = await startBrokerInWorker({
    port: 0,
    identities: [
      { username: 'server', passwordHash: hash, role: 'server' },
      ...ids.map((id) => ({ username: id, passwordHash: hash, role: 'kiosk' as const, kioskId: id })),
    ],
  });
  const responder = await mqtt.connectAsync(broker.url, {
    protocolVersion: 4,
    username: 'server',
    password: pw,
    clientId: 'echo-responder',
  });
  (responder.stream as import('node:net').Socket).setNoDelay(true);
  await responder.subscribeAsync(topics.allKioskRequests, { qos: 1 });
  responder.on('message', (topic, payload) => {
    const kioskId = topic.split('/')[3]!;
    const req = JSON.parse(payload.toString()) as { id: string; txId: string };
    // The same shape and size as a real pay.result.
    responder.publish(
      topics.kioskReplies(kioskId),
      JSON.stringify({
        v: 1,
        type: 'pay.result',
        re: req.id,
        txId: req.txId,
        status: 'approved',
        kind: 'online',
        amount: { value: 100, currency: 'JPY' },
        paymentId: 'pay_000000000000000000000000',
        at: Date.now(),
      }),
      { qos: 1 },
    );
  });
  const uplinks = await Promise.all(
    ids.map((id) => MqttUplink.connect({ url: broker.url, kioskId: id, username: id, password: pw, logger: silent })),
  );
  const stats = await closedLoop('raw MQTT echo, 50 kiosks (baseline)', uplinks, CLOSED_LOOP_MS, async (u, i) => {
    await u.request<'pay'>({
      v: 1,
      type: 'pay',
      id: `e${i}`,
      txId: `t${i}`,
      code: '31000000000000000000',
      amount: { value: 100, currency: 'JPY' },
    });
  });
  await Promise.all(uplinks.map((u) => u.close()));
  await responder.endAsync();
  await broker.close();
  return stats;
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
  const echo = await echoBaseline();
  print(row(echo));

  const dir = mkdtempSync(join(tmpdir(), 'kioskpay-bench-'));
  const kioskIds = Array.from({ length: KIOSKS }, (_, i) => `bench-${i}`);
  const system = await startSystem({
    dataDir: join(dir, 'server'),
    mqttPort: 0,
    httpPort: 0,
    kioskIds,
    log: silent,
    startBroker: startBrokerInWorker,
    server: {
      onlineCodesPerWalletMax: 1_000_000,
      limits: { perPayment: 100_000, daily: { amount: 1_000_000_000, count: 255 }, monthly: { amount: 1_000_000_000, count: 255 } },
    },
  });
  const ctx = system.server.ctx;
  try {
    const uplinks = await Promise.all(system.kiosks.map((k) => MqttUplink.connect({ ...k, logger: silent })));
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
    const used = new Array<number>(KIOSKS).fill(0);
    let tx = 0;
    const payOnce = async (u: Uplink, k: number) => {
      const code = codes[k]!.pop();
      if (!code) throw new Error('bench ran out of pre-issued codes; lower BENCH_SECONDS');
      used[k]!++;
      const r = await u.request<'pay'>({ v: 1, type: 'pay', id: `p${++tx}`, txId: `b${tx}`, code, amount: money(100) });
      if (r.type !== 'pay.result' || r.status !== 'approved') throw new Error(`payment not approved: ${JSON.stringify(r)}`);
    };
    const closed = await closedLoop('online payments, 50 kiosks, closed loop', uplinks, CLOSED_LOOP_MS, (u, i) =>
      payOnce(u, Math.floor(i / 1_000_000)),
    );
    print(row(closed, echo));
    for (const rate of [OPEN_RATE_PER_S / 4, OPEN_RATE_PER_S / 2, OPEN_RATE_PER_S]) {
      const open = await openLoop(`online payments at ${rate}/s, open loop`, uplinks, rate, OPEN_LOOP_MS, (u, i) => payOnce(u, i % KIOSKS));
      print(row(open));
    }

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
    await Promise.all(
      uplinks.slice(0, 10).map(async (u, k) => {
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
    const totals = await ctx.store.unit((t) => t.balanceTotals());
    print(`\nledger check: totals ${JSON.stringify(Object.fromEntries(totals))} (must be 0)`);
    await Promise.all(uplinks.map((u) => u.close()));
  } finally {
    await system.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.stdout.write('\nkiosk (issue 3): each beside a baseline measured in this run\n');
await kioskBench((line) => process.stdout.write(`${line}\n`));
process.stdout.write(`\nfairness: one kiosk floods, another pays (issue 12)\n${await (await import('./fairness.ts')).fairnessBench()}\n`);
process.stdout.write(`\nledger on PostgreSQL beside SQLite (issue 6)\n${await pgStoreBench()}\n`);
process.stdout.write(`\nserver replicas behind Mosquitto (issue 6)\n${await (await import('./replicas.ts')).replicasBench()}\n`);
