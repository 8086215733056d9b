// SPDX-License-Identifier: Apache-2.0
// `kioskpay kiosk doctor`: runs every area's checks (all-checks.ts), each within a time budget (an
// area that hangs or throws becomes one failed result, and the others still run), and prints what
// a technician needs: pass/warn/fail/skip, what was seen, and the fix. Exit code: 0 without a
// fail, 1 with one (2, a config error, is the CLI's: device/cli/doctor.ts).
import type { KioskConfig } from '../config.ts';
import type { CheckResult, CheckStatus, DoctorCheck, DoctorEnv } from './check.ts';

export interface NamedCheck {
  /** The area, e.g. 'storage'; prefixes the id of a timeout or crash result. */
  readonly area: string;
  readonly check: DoctorCheck;
}

export interface DoctorReport {
  readonly results: readonly CheckResult[];
  readonly counts: Readonly<Record<CheckStatus, number>>;
  /** 0 when nothing failed, 1 otherwise. */
  readonly exitCode: 0 | 1;
}

export async function runDoctor(
  cfg: Readonly<KioskConfig>,
  env: Readonly<DoctorEnv>,
  checks: readonly NamedCheck[],
  o: { areaTimeoutMs: number },
): Promise<DoctorReport> {
  const results: CheckResult[] = [];
  for (const { area, check } of checks) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<CheckResult[]>((resolve) => {
      timer = setTimeout(
        () =>
          resolve([
            {
              id: `${area}.timeout`,
              title: `The ${area} checks did not finish within ${o.areaTimeoutMs} ms`,
              status: 'fail',
              fix: 'something the check waits for hangs (a device, a tool, the network): see the kiosk log, or run with --timeout larger',
            },
          ]),
        o.areaTimeoutMs,
      );
    });
    const run = Promise.resolve()
      .then(() => check(cfg, env))
      .catch((e: unknown): CheckResult[] => [
        {
          id: `${area}.error`,
          title: `The ${area} checks crashed`,
          status: 'fail',
          detail: e instanceof Error ? e.message : String(e),
          fix: 'report this as a bug, with the detail',
        },
      ]);
    try {
      results.push(...(await Promise.race([run, timeout])));
    } finally {
      clearTimeout(timer);
    }
  }
  const counts = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const r of results) counts[r.status]++;
  return { results, counts, exitCode: counts.fail > 0 ? 1 : 0 };
}

const LABEL: Record<CheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

/** The report for a person: one line per result, then its detail and fix indented. */
export function formatReport(r: DoctorReport): string {
  const lines: string[] = [];
  for (const x of r.results) {
    lines.push(`${LABEL[x.status]}  ${x.title}  [${x.id}]`);
    if (x.detail) lines.push(`      ${x.detail}`);
    if (x.fix && (x.status === 'fail' || x.status === 'warn')) lines.push(`      fix: ${x.fix}`);
  }
  const c = r.counts;
  lines.push(
    '',
    `${c.pass} passed, ${c.warn} warnings, ${c.fail} failed, ${c.skip} skipped: ${c.fail > 0 ? 'NOT READY to sell' : 'ready'}`,
  );
  return lines.join('\n') + '\n';
}

/** The report for scripts (`--json`). */
export function jsonReport(r: DoctorReport): string {
  return JSON.stringify({ ok: r.exitCode === 0, counts: r.counts, results: r.results }) + '\n';
}
