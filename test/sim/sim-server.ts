// SPDX-License-Identifier: Apache-2.0
// The payment server in the simulator: the REAL domain (createContext, handleKioskPayload, wallets,
// settlement, revocations) on SQLite in memory (or PostgreSQL, sim-ledger.ts) and the simulation's
// clock and seeded randomness.
// A restart rebuilds the context around the same store and data folder (the issuer key file is
// read back): committed data survives, requests that reach the server while it is down are lost.
// The dispatcher can be replaced, so a test can run the simulator against a deliberately broken one.
//
// With `replicas` above 1 the server is several processes on one ledger, as it scales out: each
// replica has its own context (caches, rate limits, issuer state read from the shared key file)
// and, on PostgreSQL, its own store and connections on the shared schema. The broker hands each
// request to one replica that is up, chosen by the seed, and now and then to two at once (a
// shared subscription redelivers an unacknowledged request when a member's session drops, while
// the first may still be committing it): the ledger alone must keep such a race to one charge. A
// restart stops one replica; the others go on serving.
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
import { simRandom, type SimRandom } from './sim-random.ts';

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
  /** The run's seed (picks how often PostgreSQL rolls postings into balances, and routes requests to replicas). */
  seed?: number;
  /** Server processes sharing the ledger (default 1). */
  replicas?: number;
}

/** Share of requests the broker hands to two replicas at once, when two are up. */
const RACE_RATE = 0.1;

interface Replica {
  readonly index: number;
  readonly ledger: SimLedger;
  ctx: ServerContext;
  up: boolean;
  revoked: boolean;
}

export class SimServer {
  readonly clock: ManualClock;
  readonly config: ServerConfig;
  readonly #dir: string;
  readonly #random: Random;
  readonly #dispatch: Dispatcher;
  readonly #replicas: Replica[] = [];
  /** The replicas' ledgers, each once (on SQLite they share one), the first one's first. */
  readonly #ledgers: SimLedger[] = [];
  /** Which replica takes a request; only drawn from with two or more up (one replica draws nothing). */
  readonly #route: SimRandom;
  restarts = 0;
  handled = 0;
  lostWhileDown = 0;
  /** Requests handed to two replicas at once. */
  races = 0;

  private constructor(o: SimServerOptions, dir: string, clock: ManualClock, config: ServerConfig) {
    this.#dir = dir;
    this.clock = clock;
    this.config = config;
    this.#random = o.random;
    this.#dispatch = o.dispatcher ?? handleKioskPayload;
    this.#route = simRandom(((o.seed ?? 0) ^ 0x5e7e) >>> 0);
  }

  static async start(o: SimServerOptions): Promise<SimServer> {
    const replicas = o.replicas ?? 1;
    if (!Number.isSafeInteger(replicas) || replicas < 1) throw new Error(`replicas must be a positive integer, got ${replicas}`);
    const first = await SimLedger.open(o.seed ?? 0, o.databaseUrl);
    // The issuer key file is fsync'd once per seed: on tmpfs that costs nothing.
    const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'kp-sim-'));
    const config = parseServerConfig({ dataDir: dir, topupEnabled: true, logLevel: 'silent', kiosks: o.kiosks, limits: o.limits });
    const s = new SimServer(o, dir, new ManualClock(o.startMs), config);
    try {
      for (let i = 0; i < replicas; i++) {
        const ledger = i === 0 ? first : await SimLedger.replicaOf(first, o.seed ?? 0);
        const r: Replica = { index: i, ledger, ctx: undefined as never, up: true, revoked: false };
        r.ctx = s.#context(r);
        s.#replicas.push(r);
        if (!s.#ledgers.includes(ledger)) s.#ledgers.push(ledger);
      }
      await registerKiosks(s.ctx);
    } catch (e) {
      if (s.#replicas.length === 0) await first.close();
      await s.close();
      throw e;
    }
    return s;
  }

  /** The first replica's context: the operator's and the wallets' way in (enrolment, top-ups, codes). */
  get ctx(): ServerContext {
    return this.#replicas[0]!.ctx;
  }

  /** The first replica's ledger; every replica's reads the same data. */
  get store(): SimLedger {
    return this.#replicas[0]!.ledger;
  }

  /** Some replica is up. */
  get up(): boolean {
    return this.#replicas.some((r) => r.up);
  }

  /** A request from a kiosk; undefined when no replica is up (the request is lost). */
  async handle(kioskId: string, payload: Uint8Array): Promise<KioskReply | undefined> {
    const up = this.#replicas.filter((r) => r.up);
    if (up.length === 0) {
      this.lostWhileDown++;
      return undefined;
    }
    this.handled++;
    if (up.length === 1) return this.#dispatch(up[0]!.ctx, kioskId, payload);
    const first = this.#route.pick(up);
    if (this.#route.chance(RACE_RATE)) {
      // The second copy's reply is lost with the session that was redelivered; its ledger work is not.
      const second = this.#route.pick(up.filter((r) => r !== first));
      this.races++;
      void this.#dispatch(second.ctx, kioskId, payload).catch(() => {});
    }
    return this.#dispatch(first.ctx, kioskId, payload);
  }

  /** One process stops (with one replica, the server); returns which, for restart(). */
  stop(): number {
    const up = this.#replicas.filter((r) => r.up);
    const r = this.#replicas.length === 1 || up.length === 0 ? this.#replicas[0]! : this.#route.pick(up);
    r.up = false;
    return r.index;
  }

  /** That process starts again: a new context around the same ledger and data folder. */
  restart(index: number): void {
    const r = this.#replicas[index]!;
    r.ctx = this.#context(r);
    r.up = true;
    this.restarts++;
  }

  /** Starts every replica that is down (healing). */
  restartAll(): void {
    for (const r of this.#replicas) if (!r.up) this.restart(r.index);
  }

  /** True once since the last call when a settlement on some replica revoked a credential (the list must go out). */
  takeRevoked(): boolean {
    const any = this.#replicas.some((r) => r.revoked);
    for (const r of this.#replicas) r.revoked = false;
    return any;
  }

  revocations() {
    return buildRevocations(this.ctx);
  }

  /** A unit is in flight on some replica's ledger. */
  get ledgerBusy(): boolean {
    return this.#ledgers.some((l) => l.busy);
  }

  /** Resolves once no replica's ledger has a unit in flight. */
  async ledgerIdle(): Promise<void> {
    for (const l of this.#ledgers) await l.idle();
  }

  /** The PostgreSQL stores' counters, summed over the replicas; none on SQLite. */
  ledgerCounters(): Record<string, number> {
    const sum: Record<string, number> = {};
    for (const l of this.#ledgers) for (const [k, n] of Object.entries(l.counters())) sum[k] = (sum[k] ?? 0) + n;
    return sum;
  }

  async close(): Promise<void> {
    try {
      // The first ledger drops the PostgreSQL schema: the others close before it.
      for (const l of [...this.#ledgers].reverse()) await l.close();
    } finally {
      rmSync(this.#dir, { recursive: true, force: true });
    }
  }

  #context(r: Replica): ServerContext {
    const base = createContext(this.config, { clock: this.clock, random: this.#random, log: pino({ level: 'silent' }), store: r.ledger });
    base.setOnRevocation(() => {
      r.revoked = true;
    });
    // Signature checks on the calling thread (node:crypto, the same algorithm as the server's
    // thread-pool variant), so no completion order depends on libuv and every seed replays exactly.
    return { ...base, offlineVerifier: new OfflineQrVerifier({ issuerKeys: base.issuer.publicKeys(), ed: nodeEd25519 }) };
  }
}
