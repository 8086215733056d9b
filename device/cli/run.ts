// SPDX-License-Identifier: Apache-2.0
// `kioskpay kiosk run --config kiosk.json [--sim]`: the kiosk program itself (on a Pi under systemd,
// or simulated on any machine). Config errors are printed with their field paths and exit 2; a
// hardware or store that cannot open exits 1; SIGINT/SIGTERM stop it cleanly.
import { parseArgs } from 'node:util';
import pino from 'pino';
import { KioskConfigError, loadKioskConfig } from '../kiosk/config.ts';

const HELP = `Usage: kioskpay kiosk run --config kiosk.json [--sim] [--log-level info]

  --config FILE   the kiosk's configuration (see docs/deploy-pi.md)
  --sim           simulated scanner, GPIO and network switch; the kiosk's web screen gets controls
  --log-level L   trace, debug, info (default), warn, error
`;

export async function runCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: { config: { type: 'string' }, sim: { type: 'boolean' }, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
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
  let cfg;
  try {
    cfg = loadKioskConfig(values.config, { sim: values.sim === true });
  } catch (e) {
    if (e instanceof KioskConfigError) {
      process.stderr.write(`kioskpay kiosk run: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = pino({ level: values['log-level'] ?? 'info' });
  const { runKiosk } = await import('../kiosk/run-kiosk.ts');
  let running;
  try {
    running = await runKiosk(cfg, { log });
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
