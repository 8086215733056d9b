// SPDX-License-Identifier: Apache-2.0
// Server replicas behind Mosquitto (issues 6 and 13, scale-out): closed-loop online payments per
// second with 1, 2 and 4 server replicas sharing kiosk requests through one MQTT shared subscription
// ($share/replicas/kp/v1/kiosk/+/req) and one PostgreSQL ledger, each ratio against 1 replica, with
// each replica's share, the throughput per replica and per replica-core, and the transactions run
// again (serialization failures and deadlocks; units whose read another replica made stale). Each
// replica runs on its own thread (in production, its own process), the kiosks on the main thread;
// where the machine has fewer cores than that, the output says so. The setups compared run side by
// side and are measured in one-second slices in turn, as the echo and the payments in bench/run.ts.
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
import { HEADER, mergeRuns, ratioSeen, row, targetLine, type RunStats } from './stats.ts';
import { processThreads, threadId, threadsSince } from './thread-cpu.ts';
import { cpuByName, processesNamed } from './process-cpu.ts';
import { freePort } from '../test/free-port.ts';

/** Payments a second the pre-issued codes suffice for, over the whole run (all kiosks together). */
const CODES_PER_SECOND = 8_000;
/**
 * Closed-loop payments before the measured slices, per replica: V8 compiles a replica thread's hot
 * paths only after it has run them often, and with R replicas each runs them R times less often, so
 * R replicas warm up R times as long (with the same 2 s, four replicas' threads were still compiling
 * in the measured seconds: V8's helper threads 120 µs a payment instead of 19).
 */
const WARM_UP_MS_PER_REPLICA = 2_000;
/** One measured slice of each setup in turn, so a change in the machine's load falls on all alike. */
const SLICE_MS = 1_000;

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
  perPayment: CpuParts | undefined;
}

/** CPU by where it ran: ms over a world's measured slices, or µs per payment. */
interface CpuParts {
  replicas: number;
  kiosks: number;
  /** This process's other threads: V8's (garbage collection, compilers) and libuv's. */
  otherThreads: number;
  postgres: number;
  mosquitto: number;
}

/**
 * One setup under test, kept running while the others take their turns: its own Mosquitto, PostgreSQL
 * schema, `replicas` replica threads, kiosks and wallets. `slice` runs the closed loop for a while and
 * adds its CPU to the world's; `close` stops everything and returns the merged measurement.
 */
interface World {
  readonly replicas: number;
  warm(ms: number): Promise<void>;
  slice(ms: number): Promise<void>;
  close(): Promise<Measured>;
}

/** Starts a world of `replicas` replica threads, with codes for `paymentsMax` payments. */
async function openWorld(replicas: number, kiosks: number, merchants: Merchants, paymentsMax: number): Promise<World> {
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
  const shutDown = async () => {
    await Promise.all(uplinks.splice(0).map((u) => u.close()));
    const counters: PgStoreCounters[] = [];
    for (const c of await Promise.all(threads.splice(0).map((t) => t.close()))) if (c) counters.push(c);
    await admin.store.close();
    await broker.close();
    await drop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    return counters;
  };
  let codes: string[][];
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
    // A kiosk whose codes run out stops early (reported).
    const perKiosk = Math.ceil(paymentsMax / kiosks);
    codes = await Promise.all(
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
  } catch (e) {
    await shutDown();
    throw e;
  }
  let tx = 0;
  let ranOut = 0;
  const payOnce = async (u: Uplink, k: number) => {
    const code = codes[k]!.pop();
    if (!code) throw new Error('bench ran out of pre-issued codes');
    const r = await u.request<'pay'>({ v: 1, type: 'pay', id: `p${++tx}`, txId: `b${tx}`, code, amount: money(100) });
    if (r.type !== 'pay.result' || r.status !== 'approved') throw new Error(`payment not approved: ${JSON.stringify(r)}`);
  };
  /** Every kiosk pays, one payment after another, for `ms`. */
  const closedLoop = async (ms: number): Promise<RunStats> => {
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
    return { name: '', ops: lat.length, seconds: (performance.now() - start) / 1000, latenciesMs: lat };
  };
  const slices: RunStats[] = [];
  const cpu: CpuParts = { replicas: 0, kiosks: 0, otherThreads: 0, postgres: 0, mosquitto: 0 };
  return {
    replicas,
    warm: async (ms) => {
      await closedLoop(ms);
      ranOut = 0;
    },
    slice: async (ms) => {
      const threadsBefore = processThreads();
      const othersBefore = processesNamed(['postgres', 'mosquitto']);
      const s = await closedLoop(ms);
      addCpu(cpu, threadsSince(threadsBefore), cpuByName(othersBefore, processesNamed(['postgres', 'mosquitto'])), threads);
      slices.push(s);
    },
    close: async () => {
      const totals = await admin.store.unit((t) => t.balanceTotals());
      if ([...totals.values()].some((v) => v !== 0))
        throw new Error(`ledger does not sum to zero: ${JSON.stringify(Object.fromEntries(totals))}`);
      const counters = await shutDown();
      const into = merchants === 'one' ? '1 merchant' : `${kiosks} merchants`;
      const early = ranOut === 0 ? '' : ` (${ranOut} kiosks used up their codes early)`;
      const name = `online, ${kiosks} kiosks, ${into}, ${replicas} replica${replicas === 1 ? '' : 's'}${early}`;
      const merged = mergeRuns(name, slices);
      return { ...merged, replicas, counters, perPayment: perPayment(cpu, merged.ops) };
    },
  };
}

/** Adds one slice's CPU to `to`: the replica threads, the kiosks (this thread), this process's other threads, PostgreSQL, Mosquitto. */
function addCpu(
  to: CpuParts,
  threads: ReturnType<typeof threadsSince>,
  others: Map<string, number>,
  replicas: readonly ReplicaThread[],
): void {
  const self = threadId();
  const replicaTids = new Set(replicas.map((r) => r.tid));
  for (const [tid, t] of threads) {
    if (replicaTids.has(tid)) to.replicas += t.runMs;
    else if (tid === self) to.kiosks += t.runMs;
    else to.otherThreads += t.runMs;
  }
  to.postgres += others.get('postgres') ?? 0;
  to.mosquitto += others.get('mosquitto') ?? 0;
}

/** CPU µs per payment from the world's measured slices; undefined where Linux's statistics are absent. */
function perPayment(cpu: CpuParts, payments: number): CpuParts | undefined {
  if (threadId() === undefined || payments === 0 || cpu.kiosks === 0) return undefined;
  const us = (ms: number) => Math.round((ms * 1000) / payments);
  return {
    replicas: us(cpu.replicas),
    kiosks: us(cpu.kiosks),
    otherThreads: us(cpu.otherThreads),
    postgres: us(cpu.postgres),
    mosquitto: us(cpu.mosquitto),
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
    const { ratio, seen } = ratioSeen(four, one, 'one-second slices run in turn');
    out.push(targetLine('4 replicas beside 1, many merchants', seen, '>= 100%', ratio >= 1));
  }
  const retries = fifty.reduce((a, r) => a + r.counters.reduce((b, c) => b + c.retries, 0), 0);
  out.push(targetLine('serialization retries, many merchants', String(retries), '0', retries === 0));
  return out;
}

/**
 * Payments per second with 1, 2 and 4 replicas behind Mosquitto on PostgreSQL, as a table (ratio
 * against 1 replica): all kiosks paying one merchant, then each kiosk its own merchant; then what
 * each run's replicas did, and the targets. The setups of one kind run side by side, each warmed up,
 * then measured in one-second slices in turn (the order reversed every round), and each ratio is the
 * median of the slice-by-slice ratios: on a shared VM the rate of one setup moved 4,400-6,800/s
 * between runs a minute apart. A line saying why when Mosquitto or PostgreSQL is absent.
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
    const worlds: World[] = [];
    try {
      for (const n of counts) {
        const warmMs = WARM_UP_MS_PER_REPLICA * n;
        worlds.push(await openWorld(n, kiosks, merchants, Math.ceil(((warmMs + durationMs) / 1000) * CODES_PER_SECOND)));
      }
      for (const w of worlds) await w.warm(WARM_UP_MS_PER_REPLICA * w.replicas);
      for (let round = 0, left = durationMs; left > 0; round++, left -= SLICE_MS)
        for (const w of round % 2 === 0 ? worlds : [...worlds].reverse()) await w.slice(Math.min(SLICE_MS, left));
    } finally {
      const measured: Measured[] = [];
      for (const w of worlds.splice(0)) measured.push(await w.close());
      const base = measured[0];
      for (const m of measured) {
        runs.push(m);
        lines.push(row(m, base));
      }
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
