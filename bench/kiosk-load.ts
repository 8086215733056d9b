// SPDX-License-Identifier: Apache-2.0
// The bench's simulated kiosks on a thread of their own: 50 MqttUplink clients that send pay
// requests in a closed loop (each kiosk sends its next request when the last is answered) or an open
// loop (requests at fixed times, latency counted from each one's scheduled time, so queueing is not
// hidden). Kept off the main thread so they do not share an event loop with what is measured there
// (the server, or the echo responder); the broker has its own thread too (broker-worker.ts).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { mergeRuns, type RunStats } from './stats.ts';
import { processThreads, threadId, threadsSince, type ThreadTimes } from './thread-cpu.ts';

export interface KioskLogin {
  url: string;
  kioskId: string;
  username: string;
  password: string;
}

/** What each kiosk pays with: its own list of one-time codes (used up from the end), or one fixed code for the echo. */
export type CodeSource = { perKiosk: string[][] } | { fixed: string };

export type LoadRun =
  | { kind: 'closed'; name: string; durationMs: number }
  | { kind: 'open'; name: string; ratePerS: number; durationMs: number };

export interface KioskLoad {
  run(r: LoadRun): Promise<RunStats>;
  close(): Promise<void>;
}

type Command = { cmd: 'run'; run: LoadRun } | { cmd: 'close' };
type Answer = { ok: true; stats?: RunStats; threadId?: string } | { ok: false; error: string };

const BOOT = `import('tsx/esm/api').then(({ register }) => { register(); return import(require('node:worker_threads').workerData.self); })`;
const NONE: ThreadTimes = { runMs: 0, waitMs: 0 };

/**
 * Connects the kiosks in a worker thread; each run's requests must all be approved (or, for the
 * echo, answered). Each run reports the CPU of the main thread, the kiosks' thread, the broker's
 * thread (when its id is given) and the process's other threads.
 */
export function startKioskLoad(logins: readonly KioskLogin[], codes: CodeSource, brokerThreadId?: string): Promise<KioskLoad> {
  const worker = new Worker(BOOT, { eval: true, workerData: { self: import.meta.url, logins, codes } });
  const mainThreadId = threadId();
  const ask = (c: Command) =>
    new Promise<RunStats | undefined>((resolve, reject) => {
      worker.once('message', (a: Answer) => (a.ok ? resolve(a.stats) : reject(new Error(a.error))));
      worker.postMessage(c);
    });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (a: Answer) => {
      if (!a.ok) return reject(new Error(a.error));
      worker.off('error', reject);
      const kiosksThreadId = a.threadId;
      resolve({
        run: async (run) => {
          const before = processThreads();
          const stats = (await ask({ cmd: 'run', run }))!;
          const used = threadsSince(before);
          if (!mainThreadId || !kiosksThreadId || used.size === 0) return stats;
          const of = (tid: string | undefined) => (tid === undefined ? NONE : (used.get(tid) ?? NONE));
          let otherMs = 0;
          for (const [tid, t] of used) if (tid !== mainThreadId && tid !== kiosksThreadId && tid !== brokerThreadId) otherMs += t.runMs;
          return { ...stats, cpu: { main: of(mainThreadId), kiosks: of(kiosksThreadId), broker: of(brokerThreadId), otherMs } };
        },
        close: async () => {
          await ask({ cmd: 'close' });
          await worker.terminate();
        },
      });
    });
  });
}

/**
 * Runs of a and b in alternating one-second slices (closed or open loop), for durationMs each: a
 * change in the machine's load (other processes) then falls on both alike. Each merged run keeps
 * its slices' rates, so the ratio can be taken pair by pair (sliceRatios).
 */
export async function alternating(
  a: { load: KioskLoad; name: string },
  b: { load: KioskLoad; name: string },
  run: { kind: 'closed' } | { kind: 'open'; ratePerS: number },
  durationMs: number,
): Promise<[RunStats, RunStats]> {
  const as: RunStats[] = [];
  const bs: RunStats[] = [];
  for (let left = durationMs; left > 0; left -= 1000) {
    const sliceMs = Math.min(1000, left);
    as.push(await a.load.run({ ...run, name: a.name, durationMs: sliceMs }));
    bs.push(await b.load.run({ ...run, name: b.name, durationMs: sliceMs }));
  }
  return [mergeRuns(a.name, as), mergeRuns(b.name, bs)];
}

if (!isMainThread && parentPort && (workerData as { codes?: unknown }).codes !== undefined) {
  const port = parentPort;
  const { logins, codes } = workerData as { logins: KioskLogin[]; codes: CodeSource };
  const pino = (await import('pino')).default;
  const { MqttUplink } = await import('../device/uplink/mqtt-uplink.ts');
  const { money } = await import('../shared/money.ts');
  const silent = pino({ level: 'silent' });
  type Uplink = Awaited<ReturnType<typeof MqttUplink.connect>>;
  const uplinks: Uplink[] = [];
  try {
    // A few at a time: the broker checks at most 4 passwords at once per address and defers the rest.
    for (let i = 0; i < logins.length; i += 4)
      uplinks.push(...(await Promise.all(logins.slice(i, i + 4).map((l) => MqttUplink.connect({ ...l, logger: silent })))));
  } catch (e) {
    port.postMessage({ ok: false, error: String(e) } satisfies Answer);
    throw e;
  }
  let seq = 0;
  const codeFor = (k: number): string => {
    if ('fixed' in codes) return codes.fixed;
    const code = codes.perKiosk[k]!.pop();
    if (!code) throw new Error('bench ran out of pre-issued codes; lower BENCH_SECONDS');
    return code;
  };
  const payOnce = async (k: number): Promise<void> => {
    const n = ++seq;
    const r = await uplinks[k]!.request<'pay'>({ v: 1, type: 'pay', id: `p${n}`, txId: `b${n}`, code: codeFor(k), amount: money(100) });
    if (r.type !== 'pay.result' || r.status !== 'approved') throw new Error(`payment not approved: ${JSON.stringify(r)}`);
  };

  const closedLoop = async (name: string, durationMs: number): Promise<RunStats> => {
    const lat: number[] = [];
    let ops = 0;
    const start = performance.now();
    const end = start + durationMs;
    await Promise.all(
      uplinks.map(async (_, k) => {
        while (performance.now() < end) {
          const t = performance.now();
          await payOnce(k);
          lat.push(performance.now() - t);
          ops++;
        }
      }),
    );
    return { name, ops, seconds: (performance.now() - start) / 1000, latenciesMs: lat };
  };

  const openLoop = async (name: string, ratePerS: number, durationMs: number): Promise<RunStats> => {
    const lat: number[] = [];
    const inflight: Promise<void>[] = [];
    const start = performance.now();
    const total = Math.floor((ratePerS * durationMs) / 1000);
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / ratePerS;
      // Never before its time: a request sent early would count less than its latency (with a 1 ms
      // slack here, the echo's p50 at 1,000/s was -0.05 ms).
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inflight.push(payOnce(i % uplinks.length).then(() => void lat.push(performance.now() - due)));
    }
    await Promise.all(inflight);
    return { name, ops: total, seconds: (performance.now() - start) / 1000, latenciesMs: lat };
  };

  /** The run, with this thread's CPU time during it. */
  port.on('message', (c: Command) => {
    const work =
      c.cmd === 'close'
        ? Promise.all(uplinks.map((u) => u.close())).then(() => undefined)
        : c.run.kind === 'closed'
          ? closedLoop(c.run.name, c.run.durationMs)
          : openLoop(c.run.name, c.run.ratePerS, c.run.durationMs);
    work.then(
      (stats) => port.postMessage((stats ? { ok: true, stats } : { ok: true }) satisfies Answer),
      (e: unknown) => port.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) } satisfies Answer),
    );
  });
  const tid = threadId();
  port.postMessage((tid ? { ok: true, threadId: tid } : { ok: true }) satisfies Answer);
}
