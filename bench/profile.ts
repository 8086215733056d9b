// SPDX-License-Identifier: Apache-2.0
// A CPU profile of this thread (the inspector's sampling profiler) and where its time went, by
// stage of an online payment. Each sample is given to the innermost frame on its stack that belongs
// to a stage: a SHA-256 inside the ledger unit counts as hashing, a better-sqlite3 call inside the
// payment logic counts as the ledger (and MQTT client work under its publish() as publishing). `BENCH_PROFILE=1 BENCH_ONLY=online npm run bench` prints the
// table for the server during the closed-loop run (docs/performance.md).
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import type { RunStats } from './stats.ts';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Starts sampling this thread every 100 µs; the returned function stops and returns the profile. */
export async function startProfile(): Promise<() => Promise<CpuProfile>> {
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
  return async () => {
    const { profile } = await post<{ profile: CpuProfile }>('Profiler.stop');
    session.disconnect();
    return profile;
  };
}

const MQTT_CLIENT = 'MQTT client: packet parse, acks, socket I/O';
const PUBLISH = 'publish: the reply through the MQTT client';
const OTHER = 'other (promises, timers, native)';

/** The stages, in table order; `match` sees one frame and says whether it belongs. */
const STAGES: ReadonlyArray<{ stage: string; match: (f: CallFrame) => boolean }> = [
  { stage: 'garbage collection', match: (f) => f.functionName === '(garbage collector)' },
  {
    stage: 'decode: bytes to JSON, duplicate-key check',
    match: (f) => f.url.includes('shared/strict-json.ts') || (f.url.includes('kiosk-messages') && f.functionName === 'parseJsonMessage'),
  },
  { stage: 'validate: zod schema of the request', match: (f) => f.url.includes('/zod/') },
  { stage: 'decode: the code text (digits, Luhn)', match: (f) => f.url.includes('shared/codes/') },
  { stage: 'hash: SHA-256 of code and request, random ids', match: (f) => f.url.includes('server/domain/ids.ts') },
  { stage: 'ledger: SQLite statements, commit', match: (f) => f.url.includes('better-sqlite3') || f.url.includes('server/adapters/') },
  { stage: 'payment logic (server/domain)', match: (f) => f.url.includes('server/domain/') },
  { stage: 'dispatch: topic, limits (server/mqtt)', match: (f) => f.url.includes('server/mqtt/') },
  { stage: PUBLISH, match: (f) => f.url.includes('mqtt/build/lib/client') && /^publish(Async)?$/.test(f.functionName) },
  {
    stage: MQTT_CLIENT,
    match: (f) =>
      /node_modules\/(mqtt|mqtt-packet|bl|readable-stream|duplexify|process-nextick-args)\//.test(f.url) ||
      /^node:(net|stream|internal\/stream)/.test(f.url),
  },
  { stage: 'idle (waiting for I/O)', match: (f) => f.functionName === '(idle)' },
  { stage: 'the profiler itself', match: (f) => f.url.includes('bench/profile.ts') },
];
/** Stages that are not the thread's work. */
const NOT_BUSY = new Set(['idle (waiting for I/O)', 'the profiler itself']);

/**
 * The stage of one sample, from its stack: the innermost frame that belongs to a stage, except that
 * MQTT client frames count as publishing when the client's publish() called them.
 */
function stageOfStack(frames: readonly CallFrame[]): string {
  let generic: string | undefined;
  for (const f of frames) {
    const stage = STAGES.find((s) => s.match(f))?.stage;
    if (stage === undefined) continue;
    if (generic === undefined && stage !== MQTT_CLIENT && stage !== PUBLISH) return stage;
    if (stage === PUBLISH) return PUBLISH;
    if (generic === undefined) generic = stage;
    else if (stage !== MQTT_CLIENT) return generic;
  }
  return generic ?? OTHER;
}

/** Milliseconds per stage, and the total, from a profile. */
export function stageTimes(p: CpuProfile): { stage: string; ms: number }[] {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const stageOf = new Map<number, string>();
  const classify = (id: number): string => {
    let stage = stageOf.get(id);
    if (stage === undefined) {
      const frames: CallFrame[] = [];
      for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) frames.push(byId.get(n)!.callFrame);
      stage = stageOfStack(frames);
      stageOf.set(id, stage);
    }
    return stage;
  };
  const ms = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const stage = classify(id);
    ms.set(stage, (ms.get(stage) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  });
  return [...STAGES.map((s) => s.stage), OTHER].map((stage) => ({ stage, ms: ms.get(stage) ?? 0 }));
}

/**
 * A markdown table of the stages: each one's share of the thread's busy samples, and that share of
 * the thread's CPU time per round trip. The samples are wall-clock time, which on a loaded machine
 * includes time the thread waited for a core; the CPU time (scheduler statistics) does not.
 */
export function stageTable(p: CpuProfile, run: RunStats): string {
  const times = stageTimes(p);
  const busy = times.filter((t) => !NOT_BUSY.has(t.stage)).reduce((a, t) => a + t.ms, 0);
  const cpuUs = run.cpu ? (run.cpu.main.runMs * 1000) / run.ops : undefined;
  const lines = ['| stage | share of busy samples | CPU µs per round trip |', '|---|---:|---:|'];
  for (const t of times) {
    if (NOT_BUSY.has(t.stage) || t.ms === 0) continue;
    lines.push(`| ${t.stage} | ${((t.ms / busy) * 100).toFixed(1)}% | ${cpuUs === undefined ? '-' : ((t.ms / busy) * cpuUs).toFixed(0)} |`);
  }
  lines.push(`| **main thread busy** | 100% | ${cpuUs === undefined ? '-' : cpuUs.toFixed(0)} |`);
  return lines.join('\n');
}

/** Writes the profile for Chrome DevTools or `node --cpu-prof`-style tools. */
export function saveProfile(path: string, p: CpuProfile): void {
  writeFileSync(path, JSON.stringify(p));
}
