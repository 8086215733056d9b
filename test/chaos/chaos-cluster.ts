// SPDX-License-Identifier: Apache-2.0
// The processes of the chaos test, each the real program a deployment runs: `kioskpay broker`
// (identities file), `kioskpay server --config` (SQLite ledger in a data dir that outlives every
// restart, or PostgreSQL given a DATABASE_URL) and N × `kioskpay kiosk run --config --sim` (web
// screen on port 0, its URL read from the line the program prints). The broker's and the server's
// ports are fixed for the whole run, chosen free at the start, so a restarted process is found where
// the others look for it.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addIdentity } from '../../broker/identity-admin.ts';
import { loadOrCreateIssuerKey } from '../../server/adapters/issuer-key-file.ts';
import { Issuer } from '../../server/domain/issuer.ts';
import { toBase64url } from '../../shared/bytes.ts';
import { nodeEd25519 } from '../../shared/crypto/ed25519-node.ts';
import type { Random } from '../../shared/random.ts';
import { ManagedProcess } from './managed-process.ts';
import { freePort } from '../free-port.ts';

const BIN = new URL('../../bin/kioskpay.js', import.meta.url).pathname;
/** Bounds on a process becoming ready; tsx start-up on a busy 2-core machine takes a few seconds. */
const BROKER_READY_MS = 20_000;
const SERVER_READY_MS = 30_000;
const KIOSK_READY_MS = 40_000;
export const MERCHANT = 'chaos-shop';

/** One kiosk's place in the cluster; `proc` and `url` change with every restart. */
export interface KioskSlot {
  readonly index: number;
  readonly kioskId: string;
  readonly configPath: string;
  readonly dataDir: string;
  proc: ManagedProcess | undefined;
  url: string | undefined;
  /** What the test last set with /sim/uplink (a restarted kiosk starts with its uplink up). */
  uplinkUp: boolean;
  /** A shopper is at this kiosk. */
  busy: boolean;
  /** A restart is pending: the chaos driver leaves the slot alone. */
  restarting: boolean;
}

export interface ClusterLogins {
  serverPassword: string;
  technician: { username: string; password: string };
}

export class ChaosCluster {
  broker: ManagedProcess | undefined;
  server: ManagedProcess | undefined;
  readonly kiosks: KioskSlot[];
  readonly brokerUrl: string;
  readonly httpUrl: string;
  readonly ledgerPath: string;
  readonly #identities: string;
  readonly #serverConfig: string;
  readonly #serverPassword: string;
  readonly #databaseUrl: string | undefined;
  readonly technician: { username: string; password: string };
  /** Every process started, per component, for the summary. */
  readonly starts = { broker: 0, server: 0, kiosk: 0 };

  private constructor(o: {
    dir: string;
    brokerPort: number;
    httpPort: number;
    kiosks: KioskSlot[];
    logins: ClusterLogins;
    databaseUrl: string | undefined;
  }) {
    this.kiosks = o.kiosks;
    this.brokerUrl = `mqtt://127.0.0.1:${o.brokerPort}`;
    this.httpUrl = `http://127.0.0.1:${o.httpPort}`;
    this.#identities = join(o.dir, 'identities.json');
    this.#serverConfig = join(o.dir, 'server.json');
    this.ledgerPath = join(o.dir, 'server', 'ledger.sqlite');
    this.#serverPassword = o.logins.serverPassword;
    this.#databaseUrl = o.databaseUrl;
    this.technician = o.logins.technician;
  }

  /**
   * Writes every file the processes need: broker identities (scrypt hashes, via the same code as
   * `kioskpay broker add-identity`), the issuer key (so kiosks can pin its public key before the
   * server first starts), the server config and one config per kiosk. With `databaseUrl` the server
   * keeps its ledger in PostgreSQL there (its DATABASE_URL).
   */
  static async create(dir: string, kioskCount: number, random: Random, o: { databaseUrl?: string } = {}): Promise<ChaosCluster> {
    const [brokerPort, httpPort] = [await freePort(), await freePort()];
    const secret = () => randomBytes(18).toString('base64url');
    const logins: ClusterLogins = { serverPassword: secret(), technician: { username: 'technician', password: secret() } };
    const identities = join(dir, 'identities.json');
    await addIdentity(identities, { username: 'server', password: logins.serverPassword, role: 'server' });
    await addIdentity(identities, { username: 'technician', password: logins.technician.password, role: 'technician' });

    const serverData = join(dir, 'server');
    const key = loadOrCreateIssuerKey(join(serverData, 'issuer-key.json'), random);
    const issuerKeys = [...new Issuer(key.keyId, key.seed, nodeEd25519).publicKeys()].map(([keyId, k]) => ({
      keyId,
      publicKey: toBase64url(k),
    }));
    const kioskIds = Array.from({ length: kioskCount }, (_, i) => `chaos-${i + 1}`);
    const limit = { amount: 10_000_000, count: 255 };
    writeFileSync(
      join(dir, 'server.json'),
      JSON.stringify({
        dataDir: serverData,
        httpPort,
        mqttUrl: `mqtt://127.0.0.1:${brokerPort}`,
        mqttUsername: 'server',
        topupEnabled: true,
        logLevel: 'info',
        kiosks: kioskIds.map((id) => ({ id, merchant: MERCHANT })),
        limits: { perPayment: 5_000, daily: limit, monthly: limit },
        // Every shopper of the test calls from 127.0.0.1; online codes declined at a kiosk whose uplink
        // is cut stay unused for their 5 minutes, far more than the default 10 per wallet here.
        httpRatePerSec: 2_000,
        httpRateBurst: 2_000,
        onlineCodesPerWalletMax: 10_000,
      }),
    );

    const kiosks: KioskSlot[] = [];
    for (const [index, kioskId] of kioskIds.entries()) {
      const password = secret();
      await addIdentity(identities, { username: kioskId, password, role: 'kiosk', kioskId });
      const kioskDir = join(dir, 'kiosks', kioskId);
      mkdirSync(kioskDir, { recursive: true });
      const configPath = join(kioskDir, 'kiosk.json');
      const dataDir = join(kioskDir, 'data');
      writeFileSync(
        configPath,
        JSON.stringify({
          kioskId,
          dataDir,
          sim: true,
          allowVolatileDataDir: true, // the temp dir may be tmpfs (Trixie's /tmp)
          mqtt: { url: `mqtt://127.0.0.1:${brokerPort}`, username: kioskId, password },
          issuerKeys,
          display: { web: { host: '127.0.0.1', port: 0 } },
          // Short screens and answer waits, so a shopper is served in seconds even while the server is down.
          checkout: { resultShowMs: 2_000, declineShowMs: 1_500, payAnswerMs: 2_000, statusAnswerMs: 1_000, voidAnswerMs: 1_000 },
          timing: { heartbeatMs: 30_000, clockSyncMs: 300_000, forwardRetryMs: 1_000, requestTimeoutMs: 3_000 },
        }),
      );
      kiosks.push({ index, kioskId, configPath, dataDir, proc: undefined, url: undefined, uplinkUp: true, busy: false, restarting: false });
    }
    return new ChaosCluster({ dir, brokerPort, httpPort, kiosks, logins, databaseUrl: o.databaseUrl });
  }

  get brokerUp(): boolean {
    return this.broker?.alive === true;
  }

  get serverUp(): boolean {
    return this.server?.alive === true;
  }

  async startBroker(): Promise<void> {
    const port = new URL(this.brokerUrl).port;
    const p = ManagedProcess.start('broker', process.execPath, [
      BIN,
      'broker',
      '--port',
      port,
      '--identities',
      this.#identities,
      '--log-level',
      'info',
    ]);
    this.broker = p;
    this.starts.broker++;
    await p.waitForLine(/broker listening/, BROKER_READY_MS);
  }

  /** Starts the server; it needs the broker within 10 s (server/mqtt/kiosk-mqtt.ts) or exits. */
  async startServer(): Promise<void> {
    const p = ManagedProcess.start('server', process.execPath, [BIN, 'server', '--config', this.#serverConfig], {
      ...process.env,
      KIOSKPAY_MQTT_PASSWORD: this.#serverPassword,
      ...(this.#databaseUrl === undefined ? {} : { DATABASE_URL: this.#databaseUrl }),
    });
    this.server = p;
    this.starts.server++;
    await p.waitForLine(/payment server ready/, SERVER_READY_MS);
  }

  /** Starts a kiosk program and resolves once it printed its screen URL (online or not). */
  async startKiosk(slot: KioskSlot): Promise<void> {
    const p = ManagedProcess.start(slot.kioskId, process.execPath, [
      BIN,
      'kiosk',
      'run',
      '--config',
      slot.configPath,
      '--sim',
      '--log-level',
      'warn',
    ]);
    slot.proc = p;
    slot.url = undefined;
    slot.uplinkUp = true;
    this.starts.kiosk++;
    const m = await p.waitForLine(/screen: (http:\/\/\S+)/, KIOSK_READY_MS);
    if (slot.proc === p) slot.url = m[1]!;
  }

  /** SIGKILL; the slot has no screen until restarted. */
  async killKiosk(slot: KioskSlot): Promise<void> {
    slot.url = undefined;
    await slot.proc?.kill();
  }
}
