// SPDX-License-Identifier: Apache-2.0
// runDoctor: every area runs, in order; an area that throws or hangs becomes one failed result and
// the next area still runs; the exit code is 1 exactly when something failed; both output forms.
import { describe, expect, it } from 'vitest';
import { parseKioskConfig } from '../config.ts';
import type { DoctorCheck } from './check.ts';
import { formatReport, jsonReport, runDoctor } from './doctor.ts';

const cfg = parseKioskConfig({
  kioskId: 'k1',
  dataDir: '/var/lib/kioskpay',
  mqtt: { url: 'mqtt://127.0.0.1:1', password: 'x' },
  issuerKeys: [{ keyId: 1, publicKey: 'A'.repeat(43) }],
  sim: true,
});
const env = { root: '/', probeTimeoutMs: 100 };
const fixed =
  (...rs: Awaited<ReturnType<DoctorCheck>>): DoctorCheck =>
  async () =>
    rs;

describe('runDoctor', () => {
  it('passes with warnings and skips, and prints each status with its detail and fix', async () => {
    const report = await runDoctor(
      cfg,
      env,
      [
        {
          area: 'a',
          check: fixed(
            { id: 'a.one', title: 'One is fine', status: 'pass' },
            { id: 'a.two', title: 'Two is simulated', status: 'skip', detail: 'sim hardware' },
          ),
        },
        { area: 'b', check: fixed({ id: 'b.one', title: 'B is tight', status: 'warn', detail: '20 MiB', fix: 'free space' }) },
      ],
      { areaTimeoutMs: 1_000 },
    );
    expect(report.exitCode).toBe(0);
    expect(report.counts).toEqual({ pass: 1, warn: 1, fail: 0, skip: 1 });
    const text = formatReport(report);
    expect(text).toContain('PASS  One is fine  [a.one]');
    expect(text).toContain('SKIP  Two is simulated  [a.two]\n      sim hardware');
    expect(text).toContain('WARN  B is tight  [b.one]\n      20 MiB\n      fix: free space');
    expect(text).toMatch(/1 passed, 1 warnings, 0 failed, 1 skipped: ready\n$/);
    expect(JSON.parse(jsonReport(report))).toEqual({ ok: true, counts: report.counts, results: report.results });
  });

  it('turns a crash and a hang into failures, and still runs the areas after them', async () => {
    const calls: string[] = [];
    const report = await runDoctor(
      cfg,
      env,
      [
        {
          area: 'crash',
          check: async () => {
            calls.push('crash');
            throw new Error('boom');
          },
        },
        {
          area: 'hang',
          check: () => {
            calls.push('hang');
            return new Promise(() => undefined);
          },
        },
        {
          area: 'ok',
          check: async () => {
            calls.push('ok');
            return [{ id: 'ok.x', title: 'X', status: 'pass' }];
          },
        },
      ],
      { areaTimeoutMs: 50 },
    );
    expect(calls).toEqual(['crash', 'hang', 'ok']);
    expect(report.results.map((r) => [r.id, r.status])).toEqual([
      ['crash.error', 'fail'],
      ['hang.timeout', 'fail'],
      ['ok.x', 'pass'],
    ]);
    expect(report.results[0]?.detail).toBe('boom');
    expect(report.exitCode).toBe(1);
    expect(formatReport(report)).toMatch(/NOT READY to sell\n$/);
  });

  it('hands each check the config and the environment', async () => {
    let seen: unknown;
    await runDoctor(
      cfg,
      { root: '/fake', probeTimeoutMs: 7 },
      [
        {
          area: 'x',
          check: async (c, e) => {
            seen = [c.kioskId, e.root, e.probeTimeoutMs];
            return [];
          },
        },
      ],
      { areaTimeoutMs: 1_000 },
    );
    expect(seen).toEqual(['k1', '/fake', 7]);
  });
});
