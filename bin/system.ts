// SPDX-License-Identifier: Apache-2.0
// Starts a whole kioskpay system in this process: the embedded broker with fresh identities, and the
// payment server with registered kiosks. Used by `kioskpay up`, `kioskpay demo` and the benchmark.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { startBroker, type BrokerOptions, type RunningBroker } from '../broker/broker.ts';
import { hashPassword } from '../broker/identities.ts';
import { parseServerConfig } from '../server/config.ts';
import { startServer, type RunningServer } from '../server/app.ts';
import { hashOperatorPassword } from '../server/ops/operator-auth.ts';
import type { Clock } from '../shared/clock.ts';

export interface KioskLogin {
  url: string;
  kioskId: string;
  username: string;
  password: string;
}

export interface SystemOptions {
  dataDir: string;
  mqttPort: number;
  /** The flag that set mqttPort, named if the port is taken (default `--mqtt-port`, as in `kioskpay up`). */
  mqttPortFlag?: string;
  httpPort: number;
  kioskIds: string[];
  merchant?: string;
  /** Built wallet web app to serve at /wallet/ (wallet/web/build.ts). */
  walletDir?: string;
  /** Extra server config (e.g. limits); topupEnabled is on: this is a dev/demo system. */
  server?: Record<string, unknown>;
  clock?: Clock;
  log?: Logger;
  logLevel?: string;
  /** How to run the broker; the benchmark runs it on its own thread. */
  startBroker?: (o: BrokerOptions) => Promise<Pick<RunningBroker, 'port' | 'url' | 'close'>>;
}

export interface RunningSystem {
  broker: Pick<RunningBroker, 'port' | 'url' | 'close'>;
  server: RunningServer;
  kiosks: KioskLogin[];
  /** A broker login with the server role, for tools that need one (benchmarks). */
  serverLogin: { username: string; password: string };
  /** A broker login with the technician role, for `kioskpay console`. */
  technicianLogin: { url: string; username: string; password: string };
  /** The operator dashboard's login (/ops). */
  operatorLogin: { username: string; password: string };
  close(): Promise<void>;
}

export async function startSystem(o: SystemOptions): Promise<RunningSystem> {
  const secret = () => randomBytes(18).toString('base64url');
  const serverPassword = secret();
  const technicianPassword = secret();
  const operatorPassword = secret();
  const kioskPasswords = o.kioskIds.map(() => secret());
  const identities = [
    { username: 'server', passwordHash: await hashPassword(serverPassword), role: 'server' as const },
    { username: 'technician', passwordHash: await hashPassword(technicianPassword), role: 'technician' as const },
    ...(await Promise.all(
      o.kioskIds.map(async (id, i) => ({
        username: id,
        passwordHash: await hashPassword(kioskPasswords[i]!),
        role: 'kiosk' as const,
        kioskId: id,
      })),
    )),
  ];
  const broker = await (o.startBroker ?? startBroker)({
    port: o.mqttPort,
    portFlag: o.mqttPortFlag ?? '--mqtt-port',
    host: '127.0.0.1',
    identities,
    ...(o.log ? { logger: o.log } : {}),
  });
  let server: RunningServer;
  try {
    const config = parseServerConfig({
      dataDir: o.dataDir,
      httpPort: o.httpPort,
      mqttUrl: broker.url,
      mqttUsername: 'server',
      mqttPassword: serverPassword,
      topupEnabled: true,
      logLevel: o.logLevel ?? 'warn',
      kiosks: o.kioskIds.map((id) => ({ id, merchant: o.merchant ?? 'demo-shop' })),
      operators: [{ username: 'operator', passwordHash: await hashOperatorPassword(operatorPassword) }],
      ...(o.walletDir === undefined ? {} : { walletDir: o.walletDir }),
      ...o.server,
    });
    server = await startServer(config, { ...(o.clock ? { clock: o.clock } : {}), ...(o.log ? { log: o.log } : {}) });
  } catch (e) {
    await broker.close();
    throw e;
  }
  return {
    broker,
    server,
    kiosks: o.kioskIds.map((id, i) => ({ url: broker.url, kioskId: id, username: id, password: kioskPasswords[i]! })),
    serverLogin: { username: 'server', password: serverPassword },
    technicianLogin: { url: broker.url, username: 'technician', password: technicianPassword },
    operatorLogin: { username: 'operator', password: operatorPassword },
    async close() {
      await server.close();
      await broker.close();
    },
  };
}
