// SPDX-License-Identifier: Apache-2.0
// Latency percentiles, CPU by thread, and printable table rows.
import type { ThreadTimes } from './thread-cpu.ts';

export function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  return sortedMs[Math.min(sortedMs.length - 1, Math.floor((p / 100) * sortedMs.length))]!;
}

export interface RunStats {
  name: string;
  ops: number;
  seconds: number;
  latenciesMs: number[];
  /** CPU time during the run (Linux only), ms: see cpuLine. */
  cpu?: RunCpu;
  /** For a run made of slices: each slice's rate, per second. */
  sliceRates?: number[];
}

/** CPU during a run, ms, by thread; "wait" is time a thread was ready to run but had no core. */
export interface RunCpu {
  /** The main thread: the server, or the echo responder. */
  main: ThreadTimes;
  kiosks: ThreadTimes;
  /** Zero when the broker's thread is not known. */
  broker: ThreadTimes;
  /** Every other thread of the process: V8's helpers (garbage collection, compilers), libuv's pool (the WAL fsync). */
  otherMs: number;
}

/** CPU per round trip, by thread. */
export function cpuLine(s: RunStats): string {
  const c = s.cpu;
  if (!c) return `  ${s.name}: CPU per thread not available on this platform`;
  const us = (ms: number) => ((ms * 1000) / s.ops).toFixed(0);
  const t = (x: ThreadTimes) => `${us(x.runMs)} (waited ${us(x.waitMs)})`;
  const total = c.main.runMs + c.kiosks.runMs + c.broker.runMs + c.otherMs;
  return `  ${s.name}: CPU µs per round trip: main thread ${t(c.main)}, broker ${t(c.broker)}, kiosks ${t(c.kiosks)}, other threads ${us(c.otherMs)}; total ${us(total)}`;
}

export const rate = (s: RunStats): number => s.ops / s.seconds;
export const p99 = (s: RunStats): number =>
  percentile(
    [...s.latenciesMs].sort((a, b) => a - b),
    99,
  );

/** s's rate over its baseline's, slice by slice (slices that ran back to back), sorted. */
export function sliceRatios(s: RunStats, baseline: RunStats): number[] {
  const b = baseline.sliceRates ?? [rate(baseline)];
  return (s.sliceRates ?? [rate(s)]).map((r, i) => r / b[i]!).sort((x, y) => x - y);
}

/** The median of a sorted list. */
export const median = (sorted: readonly number[]): number => percentile(sorted, 50);

/** One target: what was measured, beside its baseline from the same run, and whether it is met. */
export function targetLine(what: string, seen: string, target: string, met: boolean): string {
  return `  ${what}: ${seen}; target ${target}: ${met ? 'met' : 'NOT met'}`;
}

/** The throughput target: the median of the slice-by-slice ratios, their spread, and the ratio of the totals. */
export function ratioSeen(s: RunStats, baseline: RunStats, pairs = 'one-second pairs'): { ratio: number; seen: string } {
  const ratios = sliceRatios(s, baseline);
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const ratio = median(ratios);
  return {
    ratio,
    seen:
      `${pct(ratio)} (median of ${ratios.length} ${pairs}, ${pct(ratios[0]!)}-${pct(ratios[ratios.length - 1]!)}; ` +
      `totals ${rate(s).toFixed(0)}/s beside ${rate(baseline).toFixed(0)}/s, ${pct(rate(s) / rate(baseline))})`,
  };
}

/** The latency target: p99 beside the baseline's. */
export const p99Seen = (s: RunStats, baseline: RunStats): string =>
  `${p99(s).toFixed(1)} ms beside ${p99(baseline).toFixed(1)} ms for the echo (${(p99(s) / p99(baseline)).toFixed(1)}x)`;

export function row(s: RunStats, baseline?: RunStats): string {
  const sorted = [...s.latenciesMs].sort((a, b) => a - b);
  const rate = s.ops / s.seconds;
  const ratio = baseline ? `${((rate / (baseline.ops / baseline.seconds)) * 100).toFixed(0)}%` : '-';
  const lat = sorted.length ? `${percentile(sorted, 50).toFixed(2)} / ${percentile(sorted, 99).toFixed(2)}` : '-';
  return `| ${s.name.padEnd(46)} | ${rate.toFixed(0).padStart(8)} /s | ${lat.padStart(15)} ms | ${ratio.padStart(6)} |`;
}

export const HEADER = `| ${'run'.padEnd(46)} | ${'throughput'.padStart(10)} | ${'p50 / p99'.padStart(18)} | ${'ratio'.padStart(6)} |\n|${'-'.repeat(48)}|${'-'.repeat(12)}|${'-'.repeat(20)}|${'-'.repeat(8)}|`;

/** One run made of several slices (ops, time, latencies and CPU added up). */
export function mergeRuns(name: string, slices: readonly RunStats[]): RunStats {
  const add = (a: ThreadTimes, b: ThreadTimes): ThreadTimes => ({ runMs: a.runMs + b.runMs, waitMs: a.waitMs + b.waitMs });
  const cpus = slices.map((s) => s.cpu);
  const cpu =
    cpus.length > 0 && cpus.every((c) => c !== undefined)
      ? cpus.reduce((a, c) => ({
          main: add(a.main, c.main),
          kiosks: add(a.kiosks, c.kiosks),
          broker: add(a.broker, c.broker),
          otherMs: a.otherMs + c.otherMs,
        }))
      : undefined;
  return {
    name,
    ops: slices.reduce((a, s) => a + s.ops, 0),
    seconds: slices.reduce((a, s) => a + s.seconds, 0),
    latenciesMs: slices.flatMap((s) => s.latenciesMs),
    sliceRates: slices.map(rate),
    ...(cpu ? { cpu } : {}),
  };
}
