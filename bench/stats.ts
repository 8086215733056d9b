// SPDX-License-Identifier: Apache-2.0
// Latency percentiles and a printable table row.

export function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  return sortedMs[Math.min(sortedMs.length - 1, Math.floor((p / 100) * sortedMs.length))]!;
}

export interface RunStats {
  name: string;
  ops: number;
  seconds: number;
  latenciesMs: number[];
}

export function row(s: RunStats, baseline?: RunStats): string {
  const sorted = [...s.latenciesMs].sort((a, b) => a - b);
  const rate = s.ops / s.seconds;
  const ratio = baseline ? `${((rate / (baseline.ops / baseline.seconds)) * 100).toFixed(0)}%` : '-';
  const lat = sorted.length ? `${percentile(sorted, 50).toFixed(2)} / ${percentile(sorted, 99).toFixed(2)}` : '-';
  return `| ${s.name.padEnd(46)} | ${rate.toFixed(0).padStart(8)} /s | ${lat.padStart(15)} ms | ${ratio.padStart(6)} |`;
}

export const HEADER = `| ${'run'.padEnd(46)} | ${'throughput'.padStart(10)} | ${'p50 / p99'.padStart(18)} | ${'ratio'.padStart(6)} |\n|${'-'.repeat(48)}|${'-'.repeat(12)}|${'-'.repeat(20)}|${'-'.repeat(8)}|`;
