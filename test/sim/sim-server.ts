// SPDX-License-Identifier: Apache-2.0
// The payment server in the simulator: the REAL domain (createContext, handleKioskPayload, wallets,
// settlement, revocations) on SQLite in memory (or PostgreSQL, sim-ledger.ts) and the simulation's
// clock and seeded randomness.
// A restart rebuilds the context around the same store and data folder (the issuer key file is
// read back): committed data survives, requests that reach the server while it is down are lost.
// The dispatcher can be replaced, so a test can run the simulator against a deliberately broken one.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ManualClock } from '../../shared/clock.ts';
import { nodeEd25519 } from '../../shared/crypto/ed25519-node.ts';
import { OfflineQrVerifier } from '../../shared/codes/offline-qr-verifier.ts';
import type { KioskReply } from '../../shared/kiosk-messages.ts';
import type { Random } from '../../shared/random.ts';
import { createContext, registerKiosks } from '../../server/app.ts';
import { parseServerConfig, type ServerConfig } from '../../server/config.ts';
import type { ServerContext } from '../../server/domain/context.ts';
import { handleKioskPayload } from '../../server/domain/kiosk-api.ts';
import { buildRevocations } from '../../server/domain/revocations.ts';
import { SimLedger } from './sim-ledger.ts';

/** The server's kiosk dispatcher; handleKioskPayload unless a test breaks it on purpose. */
export type Dispatcher = (ctx: ServerContext, kioskId: string, payload: Uint8Array) => Promise<KioskReply>;

export interface SimServerOptions {
  startMs: number;
  random: Random;
  kiosks: ReadonlyArray<{ id: string; merchant: string }>;
  /** Offline limits signed into credentials (JPY minor units, counts). */
  limits: { perPayment: number; daily: { amount: number; count: number }; monthly: { amount: number; count: number } };
  dispatcher?: Dispatcher;
  /** The ledger on PostgreSQL at this URL, in a fresh schema; SQLite in memory when unset. */
  databaseUrl?: string;
  /** The run's seed (picks how often PostgreSQL rolls postings into balances). */
  seed?: number;
}

export class SimServer {
  readonly clock: ManualClock;
  readonly config: ServerConfig;
  readonly store: SimLedger;
  readonly #dir: string;
  readonly #random: Random;
  readonly #dispatch: Dispatcher;
  #ctx: ServerContext;
  #up = true;
  #revoked = false;
  restarts = 0;
  handled = 0;
  lostWhileDown = 0;

  private constructor(o: SimServerOptions, dir: string, clock: ManualClock, config: ServerConfig, store: SimLedger) {
    this.#dir = dir;
    this.clock = clock;
    this.config = config;
    this.store = store;
    this.#random = o.random;
    this.#dispatch = o.dispatcher ?? handleKioskPayload;
    this.#ctx = this.#context();
  }

  static async start(o: SimServerOptions): Promise<SimServer> {
    const ledger = await SimLedger.open(o.seed ?? 0, o.databaseUrl);
    // The issuer key file is fsync'd once per seed: on tmpfs that costs nothing.
    const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'kp-sim-'));
    const config = parseServerConfig({ dataDir: dir, topupEnabled: true, logLevel: 'silent', kiosks: o.kiosks, limits: o.limits });
    const s = new SimServer(o, dir, new ManualClock(o.startMs), config, ledger);
    try {
      await registerKiosks(s.#ctx);
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  get ctx(): ServerContext {
    return this.#ctx;
  }

  get up(): boolean {
    return this.#up;
  }

  /** A request from a kiosk; undefined when the server is down (the request is lost). */
  async handle(kioskId: string, payload: Uint8Array): Promise<KioskReply | undefined> {
    if (!this.#up) {
      this.lostWhileDown++;
      return undefined;
    }
    this.handled++;
    return this.#dispatch(this.#ctx, kioskId, payload);
  }

  /** The process stops; nothing is answered until start(). */
  stop(): void {
    this.#up = false;
  }

  /** The process starts again: a new context around the same store and data folder. */
  restart(): void {
    this.#ctx = this.#context();
    this.#up = true;
    this.restarts++;
  }

  /** True once since the last call when a settlement revoked a credential (the list must go out). */
  takeRevoked(): boolean {
    const r = this.#revoked;
    this.#revoked = false;
    return r;
  }

  revocations() {
    return buildRevocations(this.#ctx);
  }

  async close(): Promise<void> {
    try {
      await this.store.close();
    } finally {
      rmSync(this.#dir, { recursive: true, force: true });
    }
  }

  #context(): ServerContext {
    const base = createContext(this.config, { clock: this.clock, random: this.#random, log: pino({ level: 'silent' }), store: this.store });
    base.setOnRevocation(() => {
      this.#revoked = true;
    });
    // Signature checks on the calling thread (node:crypto, the same algorithm as the server's
    // thread-pool variant), so no completion order depends on libuv and every seed replays exactly.
    return { ...base, offlineVerifier: new OfflineQrVerifier({ issuerKeys: base.issuer.publicKeys(), ed: nodeEd25519 }) };
  }
}
