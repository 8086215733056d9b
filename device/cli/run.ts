// SPDX-License-Identifier: Apache-2.0
// `kioskpay kiosk run --config kiosk.json [--sim]`: the kiosk program itself (on a Pi under systemd,
// or simulated on any machine). Config errors, and a data directory on volatile storage (tmpfs,
// ramfs, overlay, zram) unless allowed, are printed and exit 2 (systemd does not restart on 2); a
// hardware or store that cannot open exits 1; SIGINT/SIGTERM stop it cleanly.
import { parseArgs } from 'node:util';
import pino, { type Logger } from 'pino';
import { KioskConfigError, loadKioskConfig, type KioskConfig } from '../kiosk/config.ts';
import { mountOf, volatileDataDirMessage, VOLATILE_DATA_DIR_FIX } from '../kiosk/doctor/mounts.ts';
import { ServiceNotifier } from '../kiosk/service-notify.ts';
import { systemTimers } from '../timers.ts';

const HELP = `Usage: kioskpay kiosk run --config kiosk.json [--sim] [--log-level info]

  --config FILE                the kiosk's configuration (see docs/deploy-pi.md)
  --sim                        simulated scanner, GPIO and network switch; the web screen gets controls
  --allow-volatile-data-dir    start even when dataDir is on tmpfs, ramfs, overlay or zram (tests,
                               demos; stored payments are lost at reboot); also "allowVolatileDataDir": true
  --log-level L                trace, debug, info (default), warn, error

Under systemd (NOTIFY_SOCKET set) it reports READY=1, feeds WatchdogSec= and reports STOPPING=1.
Exit status: 0 stopped by a signal, 1 hardware or store failed to open, 2 config error or volatile data directory.
`;

/** Why the kiosk must not start on this data directory, or undefined. */
async function volatileRefusal(cfg: Readonly<KioskConfig>, log: Logger): Promise<string | undefined> {
  let m;
  try {
    m = await mountOf(cfg.dataDir);
  } catch (e) {
    if (process.platform !== 'linux') {
      log.warn({ err: (e as Error).message }, 'cannot tell whether the data directory is durable (not Linux)');
      return undefined;
    }
    return `cannot tell whether the data directory ${cfg.dataDir} is on durable storage: ${(e as Error).message}`;
  }
  if (m.volatile === undefined) return undefined;
  if (cfg.allowVolatileDataDir) {
    log.warn(
      { dataDir: cfg.dataDir, fsType: m.fsType, mountPoint: m.mountPoint },
      'VOLATILE DATA DIRECTORY allowed: stored payments are lost at the next reboot',
    );
    return undefined;
  }
  return volatileDataDirMessage(cfg.dataDir, m);
}

export async function runCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        config: { type: 'string' },
        sim: { type: 'boolean' },
        'allow-volatile-data-dir': { type: 'boolean' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`kioskpay kiosk run: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.config) {
    process.stderr.write(`kioskpay kiosk run: --config is required\n\n${HELP}`);
    return 2;
  }
  let cfg: Readonly<KioskConfig>;
  try {
    cfg = loadKioskConfig(values.config, { sim: values.sim === true });
    if (values['allow-volatile-data-dir']) cfg = Object.freeze({ ...cfg, allowVolatileDataDir: true });
  } catch (e) {
    if (e instanceof KioskConfigError) {
      process.stderr.write(`kioskpay kiosk run: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = pino({ level: values['log-level'] ?? 'info' });
  const refusal = await volatileRefusal(cfg, log);
  if (refusal !== undefined) {
    process.stderr.write(`kioskpay kiosk run: refusing to start: ${refusal}\nfix: ${VOLATILE_DATA_DIR_FIX}\n`);
    return 2;
  }
  const { runKiosk } = await import('../kiosk/run-kiosk.ts');
  const service = ServiceNotifier.fromEnv(process.env, { timers: systemTimers, log });
  if (service) log.info({ watchdogMs: service.watchdogMs ?? null }, 'running under systemd');
  let running;
  try {
    running = await runKiosk(cfg, { log, service });
  } catch (e) {
    process.stderr.write(`kioskpay kiosk run: ${(e as Error).message}\n`);
    return 1;
  }
  if (running.webUrl) process.stdout.write(`kiosk ${cfg.kioskId} screen: ${running.webUrl}${running.sim ? ' (simulated hardware)' : ''}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await running.close();
  return 0;
}
