// SPDX-License-Identifier: Apache-2.0
// `kioskpay up`: the whole system on this machine for development and demos: the embedded broker
// (fresh identities each start), the payment server (demo top-up on), simulated kiosks with their
// web screens, and login files for kiosks and the technician console.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { startSimKiosks } from './sim-kiosks.ts';
import { buildWallet } from '../wallet/web/build.ts';
import { startSystem } from './system.ts';
import { ISSUER_KEYS_PATH, issuerKeyLines } from '../server/http/issuer-keys-route.ts';

const HELP = `Usage: kioskpay up [options]

Builds the wallet web app and serves it at /wallet/, runs the embedded MQTT broker and the
payment server, registers demo kiosks, and writes
their broker logins to DATA/up/<kiosk>.json for 'kioskpay kiosk --config'.
Development only: the demo top-up endpoint is enabled.

Options:
  --data-dir DIR     data directory (default ./data)
  --mqtt-port PORT   broker port (default 1884; 1883 is usually Mosquitto's; 0 = any free port)
  --http-port PORT   wallet API port (default 8080; 0 = any free port)
  --kiosks N         number of demo kiosks (default 2)
  --kiosk-port PORT  first simulated kiosk screen's port (default 8090; next kiosks +1; 0 = any)
  --sim-kiosks N     how many of the kiosks run simulated here (default 2; 0 = none)
  -h, --help
`;

export async function upCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv, strict: true,
    options: {
      'data-dir': { type: 'string' }, 'mqtt-port': { type: 'string' }, 'http-port': { type: 'string' },
      kiosks: { type: 'string' }, 'kiosk-port': { type: 'string' }, 'sim-kiosks': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { process.stdout.write(HELP); return 0; }
  const dataDir = resolve(v['data-dir'] ?? './data');
  const count = Number(v.kiosks ?? 2);
  if (!Number.isInteger(count) || count < 1 || count > 100) throw new Error('--kiosks must be 1..100');
  const kioskIds = Array.from({ length: count }, (_, i) => `kiosk-${i + 1}`);
  // The wallet web app is built on every start (esbuild, offline, about a second) and served at /wallet/.
  const wallet = await buildWallet();
  const system = await startSystem({
    dataDir: join(dataDir, 'server'), mqttPort: Number(v['mqtt-port'] ?? 1884), httpPort: Number(v['http-port'] ?? 8080),
    kioskIds, logLevel: 'info', walletDir: wallet.outDir,
  });
  const loginDir = join(dataDir, 'up');
  mkdirSync(loginDir, { recursive: true });
  for (const k of system.kiosks) writeFileSync(join(loginDir, `${k.kioskId}.json`), JSON.stringify(k, null, 2) + '\n', { mode: 0o600 });
  writeFileSync(join(loginDir, 'technician.json'), JSON.stringify(system.technicianLogin, null, 2) + '\n', { mode: 0o600 });
  writeFileSync(join(loginDir, 'operator.json'), JSON.stringify({ url: `${system.server.httpUrl}/ops`, ...system.operatorLogin }, null, 2) + '\n', { mode: 0o600 });
  const simCount = Math.min(Number(v['sim-kiosks'] ?? 2), count);
  let sims: Awaited<ReturnType<typeof startSimKiosks>>;
  try {
    sims = await startSimKiosks(system, { dataDir: join(dataDir, 'kiosks'), screenPort: Number(v['kiosk-port'] ?? 8090), count: simCount, log: pino({ level: 'warn' }) });
  } catch (e) {
    await system.close();
    throw e;
  }
  const api = system.server.httpUrl;
  const kc = join(loginDir, 'kiosk-1.json');
  process.stdout.write(`
kioskpay is up.
  broker      ${system.broker.url}
  wallet API  ${api}
  wallet app  ${api}/wallet/ (a browser here; a phone needs HTTPS or localhost for offline mode)
  kiosks      ${kioskIds.join(', ')} (logins in ${loginDir})
${sims.map((k) => `  screen      ${k.webUrl}  ${k.kiosk.status().mode}, simulated hardware: open it in a browser`).join('\n')}
  console     npx kioskpay console --login ${join(loginDir, 'technician.json')}
  ${issuerKeyLines(system.server.ctx.issuer).join('\n  ')}  (signed at ${api}${ISSUER_KEYS_PATH})
  operators   ${api}/ops  (user operator, password ${system.operatorLogin.password}; also in ${join(loginDir, 'operator.json')})

Try it:
  npx kioskpay wallet enroll --server ${api}
  npx kioskpay wallet topup 20000
  npx kioskpay wallet credential
  npx kioskpay wallet code                       # online code, or offline after 3 s without the server
  open the kiosk screen, scan a product, press Pay, paste the code (or drop a PNG of it), or:
  npx kioskpay kiosk pay --config ${kc} --amount 1200 --code <the code>
  npx kioskpay wallet history

Ctrl-C stops everything.
`);
  await new Promise<void>((r) => { process.once('SIGINT', r); process.once('SIGTERM', r); });
  for (const k of sims) await k.close();
  await system.close();
  return 0;
}
