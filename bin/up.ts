// SPDX-License-Identifier: Apache-2.0
// `kioskpay up`: the whole system on this machine for development and demos: the embedded broker
// (fresh identities each start), the payment server (demo top-up on), simulated kiosks with their
// web screens, a complete kiosk config per kiosk (DATA/up/<kiosk>.json, which `kioskpay kiosk
// --config FILE` runs as is), and login files for the technician console and the operator.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { mountOf } from '../device/kiosk/doctor/mounts.ts';
import { writeUpKioskConfigs } from './kiosk-configs.ts';
import { startSimKiosks } from './sim-kiosks.ts';
import { buildWallet } from '../wallet/web/build.ts';
import { startSystem } from './system.ts';
import { ISSUER_KEYS_PATH, issuerKeyLines } from '../server/http/issuer-keys-route.ts';

const HELP = `Usage: kioskpay up [options]

Builds the wallet web app and serves it at /wallet/, runs the embedded MQTT broker and the
payment server, registers demo kiosks and runs the first --sim-kiosks of them on simulated
hardware. Every kiosk gets a complete kiosk config in DATA/up/<kiosk>.json (broker login, the
server's issuer keys, data directory, simulated hardware, screen port) that
'kioskpay kiosk --config FILE' runs as is: '--kiosks 3' registers kiosk-3 without running it, and
'kioskpay kiosk --config DATA/up/kiosk-3.json' starts it as a kiosk of its own.
Development only: the demo top-up endpoint is enabled.

Options:
  --data-dir DIR     data directory (default ./data)
  --mqtt-port PORT   broker port (default 1884; 1883 is usually Mosquitto's; 0 = any free port)
  --http-port PORT   wallet API port (default 8080; 0 = any free port)
  --kiosks N         number of demo kiosks (default 2)
  --kiosk-port PORT  first simulated kiosk screen's port (default 8090; next kiosks +1; 0 = any)
  --sim-kiosks N     how many of the kiosks run simulated here (default 2; 0 = none); the
                     others wait for 'kioskpay kiosk --config DATA/up/<kiosk>.json'
  -h, --help
`;

export async function upCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'data-dir': { type: 'string' },
      'mqtt-port': { type: 'string' },
      'http-port': { type: 'string' },
      kiosks: { type: 'string' },
      'kiosk-port': { type: 'string' },
      'sim-kiosks': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const dataDir = resolve(v['data-dir'] ?? './data');
  const count = whole(v.kiosks, '--kiosks', 2, 1, 100);
  const mqttPort = whole(v['mqtt-port'], '--mqtt-port', 1884, 0, 65_535);
  const httpPort = whole(v['http-port'], '--http-port', 8080, 0, 65_535);
  const screenPort = whole(v['kiosk-port'], '--kiosk-port', 8090, 0, 65_535 - count + 1);
  const simCount = Math.min(whole(v['sim-kiosks'], '--sim-kiosks', 2, 0, 100), count);
  const kioskIds = Array.from({ length: count }, (_, i) => `kiosk-${i + 1}`);
  // The wallet web app is built on every start (esbuild, offline, about a second) and served at /wallet/.
  const wallet = await buildWallet();
  const system = await startSystem({
    dataDir: join(dataDir, 'server'),
    mqttPort,
    mqttPortFlag: '--mqtt-port',
    httpPort,
    kioskIds,
    logLevel: 'info',
    walletDir: wallet.outDir,
  });
  const loginDir = join(dataDir, 'up');
  const kiosksDir = join(dataDir, 'kiosks');
  let sims: Awaited<ReturnType<typeof startSimKiosks>>;
  let configs: string[];
  let volatile: string | undefined;
  try {
    mkdirSync(kiosksDir, { recursive: true });
    volatile = (await mountOf(kiosksDir).catch(() => undefined))?.volatile;
    configs = writeUpKioskConfigs(system, loginDir, { kiosksDir, screenPort, volatileDataDir: volatile !== undefined });
    writeFileSync(join(loginDir, 'technician.json'), JSON.stringify(system.technicianLogin, null, 2) + '\n', { mode: 0o600 });
    writeFileSync(
      join(loginDir, 'operator.json'),
      JSON.stringify({ url: `${system.server.httpUrl}/ops`, ...system.operatorLogin }, null, 2) + '\n',
      { mode: 0o600 },
    );
    sims = await startSimKiosks(system, {
      dataDir: kiosksDir,
      screenPort,
      screenPortSetting: '--kiosk-port',
      count: simCount,
      log: pino({ level: 'warn' }),
    });
  } catch (e) {
    await system.close();
    throw e;
  }
  const api = system.server.httpUrl;
  const kc = configs[0]!;
  const spare = configs.slice(simCount);
  const kioskLines =
    spare.length > 0
      ? spare.map((path, i) => `  kiosk       ${kioskIds[simCount + i]} is not running: start it with  npx kioskpay kiosk --config ${path}`)
      : [
          `  more        npx kioskpay up --kiosks ${count + 1} registers kiosk-${count + 1} without running it; then  npx kioskpay kiosk --config ${join(loginDir, `kiosk-${count + 1}.json`)}`,
        ];
  process.stdout.write(`
kioskpay is up.
  broker      ${system.broker.url}
  wallet API  ${api}
  wallet app  ${api}/wallet/ (a browser here; a phone needs HTTPS or localhost for offline mode)
  kiosks      ${kioskIds.join(', ')}: complete kiosk configs in ${loginDir}/<kiosk>.json${volatile ? ` (data on ${volatile}: allowVolatileDataDir is set)` : ''}
${sims.map((k, i) => `  screen      ${k.webUrl}  ${kioskIds[i]}, ${k.kiosk.status().mode}, simulated hardware: open it in a browser`).join('\n')}
${kioskLines.join('\n')}
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
  await new Promise<void>((r) => {
    process.once('SIGINT', r);
    process.once('SIGTERM', r);
  });
  for (const k of sims) await k.close();
  await system.close();
  return 0;
}

/** A whole number flag in [min, max], or its default; the error names the flag. */
function whole(text: string | undefined, flag: string, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < min || n > max)
    throw new Error(`${flag} must be a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`);
  return n;
}
