// SPDX-License-Identifier: Apache-2.0
// Server replicas behind Mosquitto (issues 6 and 13, scale-out): closed-loop online payments per
// second with 1, 2 and 4 server replicas sharing kiosk requests through one MQTT shared subscription
// ($share/replicas/kp/v1/kiosk/+/req) and one PostgreSQL ledger, each ratio against 1 replica, with
// each replica's share, the throughput per replica and per replica-core, and the transactions run
// again (serialization failures and deadlocks; units whose read another replica made stale). Each
// replica runs on its own thread (in production, its own process), the kiosks on the main thread;
// where the machine has fewer cores than that, the output says so.
// Also the harness test/replicas.test.ts uses: a Mosquitto on a free port with generated password and
// ACL files, and a fresh PostgreSQL schema. Needs /usr/sbin/mosquitto and PostgreSQL
// (KP_BENCH_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test).
// Run: node --import tsx bench/replicas.ts
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { availableParallelism, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import type { IdentityWithPassword } from '../broker/identities.ts';
import { mosquittoAclFile, mosquittoConf, mosquittoPasswordFiles } from '../broker/mosquitto-config.ts';
import { MqttUplink } from '../device/uplink/mqtt-uplink.ts';
import { PgStore, type PgStoreCounters } from '../server/adapters/pg-store.ts';
import { createContext, registerKiosks, startServer } from '../server/app.ts';
import { parseServerConfig } from '../server/config.ts';
import { freshSchema, probePostgres as probe } from '../server/testing/pg-test-db.ts';
import { enrollWallet, issueOnlineCode, topUp } from '../server/domain/wallets.ts';
import { money } from '../shared/money.ts';
import { HEADER, row, type RunStats } from './stats.ts';
import { processThreads, threadId, threadsSince } from './thread-cpu.ts';
import { cpuByName, processesNamed } from './process-cpu.ts';
import { freePort } from '../test/free-port.ts';

/** Payments a second the pre-issued codes suffice for, over the whole run (all kiosks together). */
const CODES_PER_SECOND = 4_000;
/** Closed-loop payments before each measured run (V8 compiles each replica thread's hot paths meanwhile). */
const WARM_UP_MS = 2_000;

export const MOSQUITTO = '/usr/sbin/mosquitto';
export const DATABASE_URL =
  process.env['KP_BENCH_DATABASE_URL'] ?? process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The share group every replica joins. */
export const SHARE_GROUP = 'replicas';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Why PostgreSQL at `url` cannot be used (undefined when it answers); the test kit's probe, on this bench's URL. */
export const probePostgres = (url: string = DATABASE_URL): Promise<string | undefined> => probe(url);

/** `url`/`port`: the kiosks' listener; `staffUrl`/`staffPort`: the server's, technicians' and operators'. */
export interface Mosquitto {
  readonly url: string;
  readonly port: number;
  readonly staffUrl: string;
  readonly staffPort: number;
  log(): string;
  close(): Promise<void>;
}

/** A Mosquitto 2 on a free port, configured from our identities exactly as `kioskpay broker mosquitto-config` does. */
export async function startMosquitto(dir: string, identities: readonly IdentityWithPassword[]): Promise<Mosquitto> {
  const port = await freePort();
  const staffPort = await freePort();
  mkdirSync(dir, { recursive: true });
  const kioskPasswordFile = join(dir, 'passwd-kiosks');
  const staffPasswordFile = join(dir, 'passwd-staff');
  const aclFile = join(dir, 'acl');
  const passwords = await mosquittoPasswordFiles(identities);
  writeFileSync(kioskPasswordFile, passwords.kiosks, { mode: 0o600 });
  writeFileSync(staffPasswordFile, passwords.staff, { mode: 0o600 });
  writeFileSync(aclFile, mosquittoAclFile(identities), { mode: 0o600 });
  // Started as root, Mosquitto switches to user `mosquitto` before reading its files: keep ours.
  const user = process.getuid?.() === 0 ? { user: userInfo().username } : {};
  const confFile = join(dir, 'mosquitto.conf');
  writeFileSync(confFile, mosquittoConf({ port, staffPort, kioskPasswordFile, staffPasswordFile, aclFile, ...user }));
  let log = '';
  const proc: ChildProcess = spawn(MOSQUITTO, ['-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const close = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    await Promise.race([exited, sleep(3000)]);
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await Promise.race([exited, sleep(1000)]);
    }
  };
  const deadline = Date.now() + 5000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`mosquitto exited (${proc.exitCode}):\n${log}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`mosquitto did not listen on ${port} within 5 s:\n${log}`);
    }
    await sleep(50);
  }
  return { url: `mqtt://127.0.0.1:${port}`, port, staffUrl: `mqtt://127.0.0.1:${staffPort}`, staffPort, log: () => log, close };
}

/** What a replica thread needs: everything else is the server's defaults. */
interface ReplicaWorkerData {
  self: string;
  dataDir: string;
  databaseUrl: string;
  schema: string;
  mqttUrl: string;
  mqttPassword: string;
  clientId: string;
  kioskIds: string[];
  /** Every kiosk pays into one merchant account (the ledger's hot row), or each into its own. */
  merchants: Merchants;
}

export type Merchants = 'one' | 'per-kiosk';

/** Limits high enough that the bench measures throughput, not the offline/online code limits. */
/**
 * Each bench kiosk pays 20-100 times a second, far more than a till. The server's per-kiosk budget
 * (20 requests a second) is exactly 1,000 a second over 50 kiosks, and each replica keeps its own, so
 * with it in place the bench measured RATE_LIMITED waits: one replica held at 1,000/s, R replicas at R
 * times that. It is lifted here as in bench/run.ts; bench/fairness.ts measures what it is for.
 */
export const BENCH_SERVER_CONFIG = Object.freeze({
  kioskRequestsPerSec: 1_000_000,
  kioskRequestBurst: 1_000_000,
  kioskInFlightMax: 1_000_000,
  topupEnabled: true,
  onlineCodesPerWalletMax: 1_000_000,
  limits: { perPayment: 100_000, daily: { amount: 1_000_000_000, count: 255 }, monthly: { amount: 1_000_000_000, count: 255 } },
});

function replicaConfig(d: Omit<ReplicaWorkerData, 'self' | 'schema'>) {
  return parseServerConfig({
    ...BENCH_SERVER_CONFIG,
    dataDir: d.dataDir,
    databaseUrl: d.databaseUrl,
    httpPort: 0,
    mqttUrl: d.mqttUrl,
    mqttUsername: 'server',
    mqttPassword: d.mqttPassword,
    mqttClientId: d.clientId,
    mqttShareGroup: SHARE_GROUP,
    logLevel: 'silent',
    kiosks: d.kioskIds.map((id) => ({ id, merchant: d.merchants === 'one' ? 'shop' : `shop-${id}` })),
  });
}

/** Worker entry as plain JS: it registers tsx itself, then loads this TypeScript file. */
const BOOT = `import('tsx/esm/api').then(({ register }) => { register(); return import(require('node:worker_threads').workerData.self); })`;

interface ReplicaThread {
  /** The replica's thread id (Linux), for its CPU time. */
  tid: string | undefined;
  /** Stops the replica; resolves with its store's counters. */
  close(): Promise<PgStoreCounters | undefined>;
}

function startReplicaThread(d: Omit<ReplicaWorkerData, 'self'>): Promise<ReplicaThread> {
  const worker = new Worker(BOOT, { eval: true, workerData: { ...d, self: import.meta.url } satisfies ReplicaWorkerData });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m: { ready: true; tid: string | undefined } | { error: string }) => {
      if ('error' in m) {
        void worker.terminate();
        reject(new Error(`replica ${d.clientId} did not start: ${m.error}`));
        return;
      }
      resolve({
        tid: m.tid,
        close: () =>
          new Promise<PgStoreCounters | undefined>((done) => {
            let counters: PgStoreCounters | undefined;
            worker.on('message', (c: { counters?: PgStoreCounters }) => {
              counters = c.counters ?? counters;
            });
            const timer = setTimeout(() => void worker.terminate(), 10_000);
            worker.once('exit', () => {
              clearTimeout(timer);
              done(counters);
            });
            worker.postMessage('close');
          }),
      });
    });
  });
}

if (!isMainThread && parentPort && (workerData as Partial<ReplicaWorkerData>).schema !== undefined) {
  const port = parentPort;
  const d = workerData as ReplicaWorkerData;
  try {
    const store = new PgStore({ connectionString: d.databaseUrl, schema: d.schema });
    const server = await startServer(replicaConfig(d), { store });
    port.postMessage({ ready: true, tid: threadId() });
    port.on('message', (m) => {
      if (m === 'close')
        void server.close().finally(() => {
          port.postMessage({ counters: store.counters });
          port.close();
        });
    });
  } catch (e) {
    port.postMessage({ error: (e as Error).message });
  }
}

const silent = pino({ level: 'silent' });
type Uplink = Awaited<ReturnType<typeof MqttUplink.connect>>;

interface Measured extends RunStats {
  replicas: number;
  /** Each replica's store counters, in thread order. */
  counters: PgStoreCounters[];
  /** CPU µs per payment during the measured seconds, by where it ran (Linux only). */
  perPayment: CpuPerPayment | undefined;
}

interface CpuPerPayment {
  replicas: number;
  kiosks: number;
  /** This process's other threads: V8's (garbage collection, compilers) and libuv's. */
  otherThreads: number;
  postgres: number;
  mosquitto: number;
}

/** Closed-loop online payments through `replicas` replica threads; kiosks and wallets are fresh per run. */
async function measure(replicas: number, kiosks: number, durationMs: number, merchants: Merchants): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'kioskpay-replicas-'));
  const { schema, dispose: drop } = freshSchema({ url: DATABASE_URL, prefix: 'kp_rep' });
  const secret = () => randomBytes(12).toString('base64url');
  const serverPassword = secret();
  const kioskIds = Array.from({ length: kiosks }, (_, i) => `r${i}`);
  const kioskLogins = kioskIds.map((id) => ({ username: id, password: secret(), role: 'kiosk' as const, kioskId: id }));
  const broker = await startMosquitto(join(dir, 'mosquitto'), [
    { username: 'server', password: serverPassword, role: 'server' },
    ...kioskLogins,
  ]);
  const threads: ReplicaThread[] = [];
  const counters: PgStoreCounters[] = [];
  const uplinks: Uplink[] = [];
  // The main thread's own context on the same ledger and issuer key: wallets and codes (not measured).
  const adminDir = join(dir, 'admin');
  const admin = createContext(
    replicaConfig({
      dataDir: adminDir,
      databaseUrl: DATABASE_URL,
      mqttUrl: broker.staffUrl,
      mqttPassword: serverPassword,
      clientId: 'admin',
      kioskIds,
      merchants,
    }),
    {
      store: new PgStore({ connectionString: DATABASE_URL, schema }),
      log: silent,
    },
  );
  try {
    await registerKiosks(admin);
    for (let i = 0; i < replicas; i++) {
      const dataDir = join(dir, `replica-${i}`);
      mkdirSync(dataDir, { recursive: true });
      copyFileSync(join(adminDir, 'issuer-key.json'), join(dataDir, 'issuer-key.json'));
      threads.push(
        await startReplicaThread({
          dataDir,
          databaseUrl: DATABASE_URL,
          schema,
          mqttUrl: broker.staffUrl,
          mqttPassword: serverPassword,
          clientId: `replica-${i}`,
          kioskIds,
          merchants,
        }),
      );
    }
    // Codes for up to CODES_PER_SECOND payments a second, warm-up included; a kiosk whose codes run out stops early (reported).
    const perKiosk = Math.ceil((((durationMs + WARM_UP_MS) / 1000) * CODES_PER_SECOND) / kiosks);
    const codes = await Promise.all(
      kioskIds.map(async () => {
        const w = await enrollWallet(admin);
        await topUp(admin, w.walletId, money(1_000_000_000));
        const out: string[] = [];
        for (let i = 0; i < perKiosk; i += 50)
          out.push(...(await Promise.all(Array.from({ length: 50 }, async () => (await issueOnlineCode(admin, w.walletId)).code))));
        return out;
      }),
    );
    for (const k of kioskLogins)
      uplinks.push(
        await MqttUplink.connect({ url: broker.url, kioskId: k.kioskId, username: k.username, password: k.password, logger: silent }),
      );
    let tx = 0;
    const payOnce = async (u: Uplink, k: number) => {
      const code = codes[k]!.pop();
      if (!code) throw new Error('bench ran out of pre-issued codes');
      const r = await u.request<'pay'>({ v: 1, type: 'pay', id: `p${++tx}`, txId: `b${tx}`, code, amount: money(100) });
      if (r.type !== 'pay.result' || r.status !== 'approved') throw new Error(`payment not approved: ${JSON.stringify(r)}`);
    };
    let ranOut = 0;
    /** Every kiosk pays, one payment after another, for `ms`; the latencies, and when it began. */
    const closedLoop = async (ms: number) => {
      const lat: number[] = [];
      const start = performance.now();
      const end = start + ms;
      await Promise.all(
        uplinks.map(async (u, k) => {
          while (performance.now() < end) {
            if (codes[k]!.length === 0) {
              ranOut++;
              break;
            }
            const t = performance.now();
            await payOnce(u, k);
            lat.push(performance.now() - t);
          }
        }),
      );
      return { lat, start };
    };
    // Warm-up, not measured, as long with 4 replicas as with 1: each replica thread compiles its hot
    // paths only after it has run them often, and with R replicas each runs them R times less often.
    await closedLoop(WARM_UP_MS);
    ranOut = 0;
    const threadsBefore = processThreads();
    const othersBefore = processesNamed(['postgres', 'mosquitto']);
    const { lat, start } = await closedLoop(durationMs);
    const ops = lat.length;
    const seconds = (performance.now() - start) / 1000;
    const perPayment = cpuPerPayment(
      threadsSince(threadsBefore),
      cpuByName(othersBefore, processesNamed(['postgres', 'mosquitto'])),
      threads,
      ops,
    );
    const totals = await admin.store.unit((t) => t.balanceTotals());
    if ([...totals.values()].some((v) => v !== 0))
      throw new Error(`ledger does not sum to zero: ${JSON.stringify(Object.fromEntries(totals))}`);
    const into = merchants === 'one' ? '1 merchant' : `${kiosks} merchants`;
    await Promise.all(uplinks.splice(0).map((u) => u.close()));
    for (const c of await Promise.all(threads.splice(0).map((t) => t.close()))) if (c) counters.push(c);
    const early = ranOut === 0 ? '' : ` (${ranOut} kiosks used up their codes early)`;
    const name = `online, ${kiosks} kiosks, ${into}, ${replicas} replica${replicas === 1 ? '' : 's'}${early}`;
    return { name, ops, seconds, latenciesMs: lat, replicas, counters, perPayment };
  } finally {
    await Promise.all(uplinks.map((u) => u.close()));
    await Promise.all(threads.map((t) => t.close()));
    await admin.store.close();
    await broker.close();
    await drop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The measured seconds' CPU, per payment: the replica threads, the kiosks (this thread), this process's other threads, PostgreSQL, Mosquitto. */
function cpuPerPayment(
  threads: ReturnType<typeof threadsSince>,
  others: Map<string, number>,
  replicas: readonly ReplicaThread[],
  payments: number,
): CpuPerPayment | undefined {
  const self = threadId();
  if (self === undefined || threads.size === 0 || payments === 0) return undefined;
  const replicaTids = new Set(replicas.map((r) => r.tid));
  let onReplicas = 0;
  let onOthers = 0;
  for (const [tid, t] of threads) {
    if (replicaTids.has(tid)) onReplicas += t.runMs;
    else if (tid !== self) onOthers += t.runMs;
  }
  const us = (ms: number) => Math.round((ms * 1000) / payments);
  return {
    replicas: us(onReplicas),
    kiosks: us(threads.get(self)?.runMs ?? 0),
    otherThreads: us(onOthers),
    postgres: us(others.get('postgres') ?? 0),
    mosquitto: us(others.get('mosquitto') ?? 0),
  };
}

/** CPU µs per payment of each run, by where it ran; the machine's cores used. */
function cpuTable(runs: readonly Measured[]): string {
  const lines = [
    '| run | replica threads | kiosks (bench thread) | other threads (V8, libuv) | PostgreSQL | Mosquitto | total | cores busy |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of runs) {
    const c = r.perPayment;
    if (!c) continue;
    const total = c.replicas + c.kiosks + c.otherThreads + c.postgres + c.mosquitto;
    const busy = (total * r.ops) / r.seconds / 1e6;
    lines.push(
      `| ${r.name} | ${c.replicas} | ${c.kiosks} | ${c.otherThreads} | ${c.postgres} | ${c.mosquitto} | ${total} | ${busy.toFixed(2)} |`,
    );
  }
  return lines.length === 2 ? '' : `CPU µs per payment, measured seconds only (Linux scheduler statistics):\n${lines.join('\n')}`;
}

/** A table of what each run's replicas did: shares, throughput per replica and per replica-core, retries. */
function replicaTable(runs: readonly Measured[], cores: number): string {
  const lines = [
    '| run | total /s | per replica /s | per replica-core /s | units per replica | units per transaction | serialization retries | stale reads | in-replica reruns |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of runs) {
    const rate = r.ops / r.seconds;
    const units = r.counters.map((c) => c.units);
    const sum = (f: (c: PgStoreCounters) => number) => r.counters.reduce((a, c) => a + f(c), 0);
    lines.push(
      `| ${r.name} | ${rate.toFixed(0)} | ${(rate / r.replicas).toFixed(0)} | ${(rate / Math.min(r.replicas, cores)).toFixed(0)} | ${units.join(' / ')} | ${(
        sum((c) => c.units) /
          Math.max(
            1,
            sum((c) => c.groups),
          )
      ).toFixed(1)} | ${sum((c) => c.retries)} | ${sum((c) => c.staleReads)} | ${sum((c) => c.reruns)} |`,
    );
  }
  return lines.join('\n');
}

/** The issue-13 targets for replicas, each as a ratio beside its baseline from the same run. */
function replicaTargets(runs: readonly Measured[]): string[] {
  const out: string[] = [];
  const fifty = runs.filter((r) => !r.name.includes(' 1 merchant,'));
  const one = fifty.find((r) => r.replicas === 1);
  const four = fifty.find((r) => r.replicas === 4);
  if (one && four) {
    const ratio = four.ops / four.seconds / (one.ops / one.seconds);
    out.push(
      `target: 4 replicas >= 1 replica against many merchants: ${(four.ops / four.seconds).toFixed(0)}/s vs ${(one.ops / one.seconds).toFixed(0)}/s = ${(ratio * 100).toFixed(0)}% (target >= 100%): ${ratio >= 1 ? 'met' : 'not met'}`,
    );
  }
  const retries = fifty.reduce((a, r) => a + r.counters.reduce((b, c) => b + c.retries, 0), 0);
  out.push(`target: 0 serialization retries against many merchants: ${retries}: ${retries === 0 ? 'met' : 'not met'}`);
  return out;
}

/**
 * Payments per second with 1, 2 and 4 replicas behind Mosquitto on PostgreSQL, as a table (ratio
 * against 1 replica): all kiosks paying one merchant, then each kiosk its own merchant; then what
 * each run's replicas did, and the targets. A line saying why when Mosquitto or PostgreSQL is absent.
 */
export async function replicasBench(
  o: { kiosks?: number; durationMs?: number; counts?: readonly number[]; merchants?: readonly Merchants[] } = {},
): Promise<string> {
  const kiosks = o.kiosks ?? 50;
  const durationMs = o.durationMs ?? Number(process.env['BENCH_SECONDS'] ?? 4) * 1000;
  if (!existsSync(MOSQUITTO)) return `skipped: ${MOSQUITTO} is absent (apt-get install mosquitto)`;
  const unreachable = await probePostgres();
  if (unreachable !== undefined) return `skipped: ${unreachable}`;
  const counts = o.counts ?? [1, 2, 4];
  const cores = availableParallelism();
  const lines = [HEADER];
  const runs: Measured[] = [];
  for (const merchants of o.merchants ?? (['one', 'per-kiosk'] as const)) {
    let base: RunStats | undefined;
    for (const n of counts) {
      const s = await measure(n, kiosks, durationMs, merchants);
      base ??= s;
      runs.push(s);
      lines.push(row(s, base));
    }
  }
  const most = Math.max(...counts);
  lines.push(
    '',
    `this machine has ${cores} core${cores === 1 ? '' : 's'}; the largest run has ${most} replica threads, PostgreSQL, Mosquitto and the kiosks' thread${most + 3 > cores ? ': fewer cores than processes, so replicas share cores (per replica-core = total / min(replicas, cores))' : ''}`,
    replicaTable(runs, cores),
    '',
    cpuTable(runs),
    '',
    ...replicaTargets(runs),
  );
  return lines.join('\n');
}

if (isMainThread && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(`server replicas behind Mosquitto, one PostgreSQL ledger (issue 6)\n${await replicasBench()}\n`);
}
