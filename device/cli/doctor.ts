// SPDX-License-Identifier: Apache-2.0
// `kioskpay kiosk doctor --config kiosk.json [--sim] [--json]`: checks a kiosk's machine before it
// sells (device/kiosk/doctor). Exit 0: no check failed; 1: a check failed; 2: the config (or the
// command line) is wrong, so nothing was checked.
import { parseArgs } from 'node:util';
import { KioskConfigError, loadKioskConfig } from '../kiosk/config.ts';

const HELP = `Usage: kioskpay kiosk doctor --config kiosk.json [--sim] [--json] [--timeout MS]

Checks this machine for the kiosk in kiosk.json: data directory (durable, writable, free space),
broker (reachable, login, TLS files, password file), and the hardware areas. Each result is
PASS, WARN, FAIL or SKIP (simulated hardware is skipped) with what was seen and the fix.
Run it as the kiosk's user (sudo -u kioskpay …) so permissions are checked as the kiosk sees them.

  --config FILE   the kiosk's configuration
  --sim           as the simulated kiosk (kioskpay kiosk run --sim) would run
  --json          one JSON object: {"ok","counts","results":[{"id","title","status","detail","fix"}]}
  --timeout MS    bound on each probe (broker connect, device open, tool run); default 3000
  --root DIR      read /dev, /sys, /proc under DIR instead of / (for tests)

Exit status: 0 nothing failed, 1 something failed, 2 config or usage error.
`;

export async function doctorCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        config: { type: 'string' },
        sim: { type: 'boolean' },
        json: { type: 'boolean' },
        timeout: { type: 'string' },
        root: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`kioskpay kiosk doctor: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const probeTimeoutMs = Number(values.timeout ?? 3000);
  if (!values.config || !Number.isInteger(probeTimeoutMs) || probeTimeoutMs < 1 || probeTimeoutMs > 120_000) {
    process.stderr.write(`kioskpay kiosk doctor: ${values.config ? '--timeout must be 1..120000 ms' : '--config is required'}\n\n${HELP}`);
    return 2;
  }
  let cfg;
  try {
    cfg = loadKioskConfig(values.config, { sim: values.sim === true });
  } catch (e) {
    if (!(e instanceof KioskConfigError)) throw e;
    process.stderr.write(`kioskpay kiosk doctor: ${e.message}\n`);
    if (values.json) process.stdout.write(JSON.stringify({ ok: false, configError: e.message }) + '\n');
    return 2;
  }
  const { runDoctor, formatReport, jsonReport } = await import('../kiosk/doctor/doctor.ts');
  const { ALL_CHECKS } = await import('../kiosk/doctor/all-checks.ts');
  const report = await runDoctor(cfg, { root: values.root ?? '/', probeTimeoutMs }, ALL_CHECKS, { areaTimeoutMs: probeTimeoutMs * 5 });
  const text = values.json
    ? jsonReport(report)
    : `kioskpay kiosk doctor: ${cfg.kioskId}${cfg.sim ? ' (simulated hardware)' : ''}\n\n${formatReport(report)}`;
  // A one-shot command: exit once the report is out, whatever a probe left behind (after a refused
  // login, MqttUplink's client keeps a reconnect timer running even after close()).
  await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
  process.exit(report.exitCode);
}
