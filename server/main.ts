// SPDX-License-Identifier: Apache-2.0
// `kioskpay server`: reads configuration (file, then flags, then environment for secrets), validates
// and freezes it, and runs the payment server until SIGINT/SIGTERM.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseServerConfig, type ServerConfig } from './config.ts';
import { startServer } from './app.ts';
import { ISSUER_KEYS_PATH, issuerKeyLines } from './http/issuer-keys-route.ts';

const HELP = `Usage: kioskpay server [options]

Runs the payment server: wallet HTTP API and kiosk MQTT API.

Options:
  --config FILE         JSON config file (keys as in docs/configuration.md)
  --data-dir DIR        where the ledger and the issuer key live (default ./data/server)
  --http-host HOST      HTTP bind address (default 127.0.0.1)
  --http-port PORT      HTTP port, 0 for any free port (default 8080)
  --mqtt-url URL        broker URL (default mqtt://127.0.0.1:1884)
  --mqtt-username NAME  broker identity (default server); password from KIOSKPAY_MQTT_PASSWORD
  (env DATABASE_URL)    postgres://… keeps the ledger in PostgreSQL instead of SQLite (docs/scaling.md)
  --kiosk ID:MERCHANT   register a kiosk paying into a merchant account (repeatable)
  --dev                 enable the demo top-up endpoint (never in production)
  --time-zone ZONE      time zone of /ops, e.g. Asia/Tokyo or +09:00 (default the machine's)
  --log-level LEVEL     pino level (default info)
  -h, --help            show this help
`;

export function serverConfigFromArgs(argv: string[], env: NodeJS.ProcessEnv): ServerConfig | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      'data-dir': { type: 'string' },
      'http-host': { type: 'string' },
      'http-port': { type: 'string' },
      'mqtt-url': { type: 'string' },
      'mqtt-username': { type: 'string' },
      kiosk: { type: 'string', multiple: true },
      dev: { type: 'boolean' },
      'log-level': { type: 'string' },
      'time-zone': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const file = values.config ? (JSON.parse(readFileSync(values.config, 'utf8')) as Record<string, unknown>) : {};
  const merged: Record<string, unknown> = { ...file };
  if (values['data-dir']) merged['dataDir'] = values['data-dir'];
  if (values['http-host']) merged['httpHost'] = values['http-host'];
  if (values['http-port']) merged['httpPort'] = Number(values['http-port']);
  if (values['mqtt-url']) merged['mqttUrl'] = values['mqtt-url'];
  if (values['mqtt-username']) merged['mqttUsername'] = values['mqtt-username'];
  if (env['KIOSKPAY_MQTT_PASSWORD']) merged['mqttPassword'] = env['KIOSKPAY_MQTT_PASSWORD'];
  if (env['DATABASE_URL']) merged['databaseUrl'] = env['DATABASE_URL'];
  if (values.kiosk) {
    merged['kiosks'] = [
      ...((file['kiosks'] as unknown[]) ?? []),
      ...values.kiosk.map((k) => {
        const [id, merchant] = k.split(':');
        return { id, merchant: merchant ?? id };
      }),
    ];
  }
  if (values.dev) merged['topupEnabled'] = true;
  if (values['log-level']) merged['logLevel'] = values['log-level'];
  if (values['time-zone']) merged['timeZone'] = values['time-zone'];
  return parseServerConfig(merged);
}

export async function serverCommand(argv: string[]): Promise<number> {
  let config: ServerConfig | 'help';
  try {
    config = serverConfigFromArgs(argv, process.env);
  } catch (e) {
    process.stderr.write(`kioskpay server: ${e instanceof Error ? e.message : String(e)}\n\n${HELP}`);
    return 2;
  }
  if (config === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const server = await startServer(config);
  // The keys an independent verifier checks codes with; the same as GET /v1/issuer-keys serves.
  process.stdout.write(`${issuerKeyLines(server.ctx.issuer).join('\n')}\n(also at ${server.httpUrl}${ISSUER_KEYS_PATH})\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}
