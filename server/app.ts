// SPDX-License-Identifier: Apache-2.0
// Wires the payment server from a validated config: store, issuer key, HTTP API and MQTT side.
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { systemClock, type Clock } from '../shared/clock.ts';
import { nodeEd25519, nodeVerifyAsync } from '../shared/crypto/ed25519-node.ts';
import { OfflineQrVerifier } from '../shared/codes/offline-qr-verifier.ts';
import { cryptoRandom, type Random } from '../shared/random.ts';
import { deploymentTimeZone, type ServerConfig } from './config.ts';
import { loadOrCreateIssuerKey } from './adapters/issuer-key-file.ts';
import { PgStore } from './adapters/pg-store.ts';
import { SqliteStore } from './adapters/sqlite-store.ts';
import { ServerCatalog } from './catalog/server-catalog.ts';
import { AlertSink } from './domain/alerts.ts';
import { GuessLimiter } from './domain/guess-limits.ts';
import type { ServerContext } from './domain/context.ts';
import { Issuer } from './domain/issuer.ts';
import { merchantAccountId } from './domain/ids.ts';
import { AuditLog } from './fleet/audit-log.ts';
import { createStaticDirHandler } from './http/static-dir.ts';
import { createWalletHttpServer, type StaticHandler } from './http/wallet-http.ts';
import { startKioskMqtt, type KioskMqtt } from './mqtt/kiosk-mqtt.ts';
import { createOps } from './ops/ops.ts';
import type { Store } from './ports/store.ts';

export interface ServerDeps {
  clock?: Clock;
  random?: Random;
  log?: Logger;
  store?: Store;
  staticHandler?: StaticHandler;
}

export interface RunningServer {
  readonly ctx: ServerContext;
  readonly httpUrl: string;
  close(): Promise<void>;
}

/** Registers the configured kiosks and their merchant accounts (idempotent). */
export async function registerKiosks(ctx: ServerContext): Promise<void> {
  const now = ctx.clock.nowMs();
  await ctx.store.unit(async (tx) => {
    for (const k of ctx.config.kiosks) {
      const account = merchantAccountId(k.merchant);
      if (!(await tx.getAccount(account)))
        await tx.createAccount({ id: account, kind: 'merchant', currency: ctx.config.currency, balance: 0, createdAt: now });
      await tx.upsertKiosk({ id: k.id, merchantAccount: account, createdAt: now });
    }
  });
}

/** The ledger, chosen once: PostgreSQL when a database URL is configured, else SQLite in the data dir. */
function openStore(config: ServerConfig, log: Logger): Store {
  if (config.databaseUrl === undefined)
    return new SqliteStore({
      path: join(config.dataDir, 'ledger.sqlite'),
      queuedUnitsMax: config.storeQueuedUnitsMax,
      // A failed WAL sync leaves commits whose fate only the disk knows: stop answering at all, and
      // let the supervisor start the server again on what the disk holds (exit code 74, EX_IOERR).
      onFatal: (err) => {
        log.fatal({ err: err.message }, 'ledger stopped: a WAL sync failed; exiting');
        process.exit(74);
      },
    });
  return new PgStore({
    connectionString: config.databaseUrl,
    queuedUnitsMax: config.storeQueuedUnitsMax,
    onError: (err) => log.warn({ err: err.message }, 'idle PostgreSQL connection failed; the pool replaces it'),
  });
}

/** The domain context alone, without network: for tests and the simulator. */
export function createContext(config: ServerConfig, deps: ServerDeps = {}): ServerContext & { setOnRevocation(fn: () => void): void } {
  const random = deps.random ?? cryptoRandom;
  const key = loadOrCreateIssuerKey(join(config.dataDir, 'issuer-key.json'), random);
  let onRevocation = () => {};
  const issuer = new Issuer(key.keyId, key.seed, nodeEd25519);
  const log = deps.log ?? pino({ level: config.logLevel });
  const clock = deps.clock ?? systemClock;
  const ctx = {
    config,
    store: deps.store ?? openStore(config, log),
    clock,
    random,
    ed: nodeEd25519,
    issuer,
    offlineVerifier: new OfflineQrVerifier({ issuerKeys: issuer.publicKeys(), ed: nodeEd25519, verifyAsync: nodeVerifyAsync }),
    log,
    onRevocation: () => onRevocation(),
    alerts: new AlertSink(),
    guessLimits: new GuessLimiter(clock, config.codeGuessLimits),
    setOnRevocation(fn: () => void) {
      onRevocation = fn;
    },
  };
  return ctx;
}

export async function startServer(config: ServerConfig, deps: ServerDeps = {}): Promise<RunningServer> {
  const ctx = createContext(config, deps);
  // An invalid catalogFile stops the start here, naming the file and field (CatalogFileError).
  let catalog: ServerCatalog;
  try {
    catalog = new ServerCatalog({ path: config.catalogFile, pollMs: config.catalogPollMs, log: ctx.log.child({ component: 'catalog' }) });
  } catch (e) {
    await ctx.store.close();
    throw e;
  }
  await registerKiosks(ctx);
  const walletStatic =
    config.walletDir === undefined
      ? undefined
      : createStaticDirHandler({
          dir: config.walletDir,
          prefix: '/wallet',
          onError: (err) => ctx.log.error({ err }, 'wallet static file failed'),
        });
  const ops = createOps(ctx, { catalog: () => catalog.current() });
  const statics = [ops.handler, walletStatic, deps.staticHandler].filter((h): h is StaticHandler => h !== undefined);
  const http = createWalletHttpServer(ctx, statics.length === 0 ? undefined : (req, res) => statics.some((h) => h(req, res)));
  await new Promise<void>((resolve, reject) => {
    http.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new Error(
              `HTTP port ${config.httpPort} on ${config.httpHost} is already in use; pick another with --http-port (0 = any free port)`,
            )
          : e,
      ),
    );
    http.listen(config.httpPort, config.httpHost, resolve);
  });
  const { port } = http.address() as AddressInfo;
  const audit = new AuditLog({
    path: join(config.dataDir, 'audit.log'),
    clock: ctx.clock,
    bytesMax: config.auditLogBytesMax,
    onError: (err) => ctx.log.error({ err }, 'audit log write failed'),
  });
  let mqtt: KioskMqtt;
  try {
    mqtt = await startKioskMqtt(ctx, { audit, catalog });
    catalog.start();
    ops.start();
  } catch (e) {
    catalog.close();
    await ops.close();
    audit.close();
    http.close();
    await ctx.store.close();
    throw e;
  }
  ctx.setOnRevocation(() => void mqtt.publishRevocations().catch((err: unknown) => ctx.log.error({ err }, 'revocation publish failed')));
  const httpUrl = `http://${config.httpHost}:${port}`;
  ctx.log.info({ httpUrl, mqttUrl: config.mqttUrl, timeZone: deploymentTimeZone(config).label(ctx.clock.nowMs()) }, 'payment server ready');
  return {
    ctx,
    httpUrl,
    async close() {
      catalog.close();
      await ops.close();
      await mqtt.close();
      audit.close();
      await new Promise<void>((r) => {
        http.close(() => r());
        http.closeAllConnections();
      });
      await ctx.store.close();
    },
  };
}
