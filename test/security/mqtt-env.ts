// SPDX-License-Identifier: Apache-2.0
// The real broker (broker/broker.ts, port 0) with the payment server connected to it, and logins for
// two kiosks, a technician and an operator. Rows connect real MQTT 3.1.1 clients. Waits are bounded
// (WAIT_MS) because the network is real; nothing is timed.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { startBroker, type RunningBroker } from '../../broker/broker.ts';
import { hashPassword } from '../../broker/identities.ts';
import { startServer, type RunningServer } from '../../server/app.ts';
import { parseServerConfig } from '../../server/config.ts';
import { issuanceAccountId, merchantAccountId, shopperAccountId } from '../../server/domain/ids.ts';
import { enrollWallet, issueOnlineCode, topUp } from '../../server/domain/wallets.ts';
import { money } from '../../shared/money.ts';
import { WAIT_MS } from '../../shared/testing/wait.ts';
import { topics } from '../../shared/topics.ts';
import { ledgerSnapshot, type LedgerSnapshot } from './ledger-snapshot.ts';
import type { AttackEnv } from './matrix.ts';

/** Cheap scrypt for test logins (the lower bound the broker accepts). */
const TEST_SCRYPT = { N: 1024, r: 8, p: 1, saltBytes: 16, keyBytes: 32 };

export type Login = 'k1' | 'k2' | 'technician' | 'operator';

export interface Seen {
  topic: string;
  payload: string;
}

export interface TestClient {
  readonly c: MqttClient;
  readonly seen: Seen[];
  /** Resolves with the first message (seen or to come) matching `pred`; rejects after WAIT_MS. */
  waitFor(pred: (m: Seen) => boolean, what: string): Promise<Seen>;
  /**
   * True once the broker closed the connection; false if it stayed open WAIT_MS. The one wait here
   * that ends in an answer, not a failure: only a broker that fails to close lets it run out.
   */
  closedByBroker(): Promise<boolean>;
}

export interface MqttEnv extends AttackEnv {
  readonly server: RunningServer;
  /** Logs in as `who`; with `password`, tries that password instead of the right one. */
  login(who: Login, password?: string): Promise<TestClient>;
  /** The password of `who`. */
  passwordOf(who: Login): string;
  /** An enrolled, topped-up wallet's fresh one-time code. */
  onlineCode(balance?: number): Promise<string>;
  /** A kiosk's request over its own topics; resolves with the parsed reply. */
  request(kiosk: TestClient, kioskId: string, msg: { id: string } & Record<string, unknown>): Promise<Record<string, unknown>>;
  snapshot(): Promise<LedgerSnapshot>;
}

/** Resolves with what `start` reports, or with `onTimeout`'s value (rejects if it is an Error) after WAIT_MS. */
function waitOn<T>(start: (done: (v: T) => void) => () => void, onTimeout: () => T | Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let stop = () => {};
    const timer = setTimeout(() => {
      stop();
      const v = onTimeout();
      if (v instanceof Error) reject(v);
      else resolve(v);
    }, WAIT_MS);
    stop = start((v) => {
      clearTimeout(timer);
      stop();
      resolve(v);
    });
  });
}

export async function startMqttEnv(): Promise<MqttEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'kp-sec-mqtt-'));
  const passwords = new Map<Login | 'server', string>(
    (['server', 'technician', 'operator', 'k1', 'k2'] as const).map((who) => [who, randomBytes(18).toString('base64url')]),
  );
  const pw = (who: Login | 'server') => passwords.get(who)!;
  const identities = [
    { username: 'server', passwordHash: await hashPassword(pw('server'), TEST_SCRYPT), role: 'server' as const },
    { username: 'technician', passwordHash: await hashPassword(pw('technician'), TEST_SCRYPT), role: 'technician' as const },
    { username: 'operator', passwordHash: await hashPassword(pw('operator'), TEST_SCRYPT), role: 'operator' as const },
    ...(await Promise.all(
      (['k1', 'k2'] as const).map(async (id) => ({
        username: id,
        passwordHash: await hashPassword(pw(id), TEST_SCRYPT),
        role: 'kiosk' as const,
        kioskId: id,
      })),
    )),
  ];
  const log = pino({ level: 'silent' });
  const broker: RunningBroker = await startBroker({ port: 0, host: '127.0.0.1', identities, logger: log });
  let server: RunningServer;
  try {
    server = await startServer(
      parseServerConfig({
        dataDir: dir,
        httpPort: 0,
        mqttUrl: broker.url,
        mqttUsername: 'server',
        mqttPassword: pw('server'),
        topupEnabled: true,
        logLevel: 'silent',
        kiosks: [
          { id: 'k1', merchant: 'shop' },
          { id: 'k2', merchant: 'shop' },
        ],
      }),
      { log },
    );
  } catch (e) {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const ctx = server.ctx;
  const accounts = new Set([issuanceAccountId(ctx.config.currency), merchantAccountId('shop')]);
  const clients: MqttClient[] = [];
  let seq = 0;

  const env: MqttEnv = {
    server,
    passwordOf: (who) => pw(who),
    async login(who, password = pw(who)) {
      const c = await mqtt.connectAsync(broker.url, {
        protocolVersion: 4,
        username: who,
        password,
        clientId: `kp-${who}-sec-${++seq}`,
        reconnectPeriod: 0,
        connectTimeout: WAIT_MS,
      });
      clients.push(c);
      let closed = false;
      c.on('close', () => {
        closed = true;
      });
      const seen: Seen[] = [];
      const waiters = new Set<() => void>();
      c.on('message', (topic, payload) => {
        seen.push({ topic, payload: payload.toString() });
        for (const w of [...waiters]) w();
      });
      return {
        c,
        seen,
        waitFor: (pred, what) =>
          waitOn<Seen>(
            (done) => {
              const check = () => {
                const hit = seen.find(pred);
                if (hit) done(hit);
              };
              waiters.add(check);
              queueMicrotask(check);
              return () => waiters.delete(check);
            },
            () => new Error(`${who}: no ${what} within ${WAIT_MS} ms`),
          ),
        closedByBroker: () =>
          waitOn<boolean>(
            (done) => {
              if (closed) queueMicrotask(() => done(true));
              const onClose = () => done(true);
              c.once('close', onClose);
              return () => c.off('close', onClose);
            },
            () => false,
          ),
      };
    },
    async onlineCode(balance = 10_000) {
      const w = await enrollWallet(ctx);
      accounts.add(shopperAccountId(w.walletId));
      await topUp(ctx, w.walletId, money(balance, ctx.config.currency));
      return (await issueOnlineCode(ctx, w.walletId)).code;
    },
    async request(kiosk, kioskId, msg) {
      await kiosk.c.subscribeAsync(topics.kioskReplies(kioskId), { qos: 1 });
      await kiosk.c.publishAsync(topics.kioskRequests(kioskId), JSON.stringify(msg), { qos: 1 });
      const reply = await kiosk.waitFor(
        (m) => m.topic === topics.kioskReplies(kioskId) && (JSON.parse(m.payload) as { re?: unknown }).re === msg.id,
        `reply to ${msg.id}`,
      );
      return JSON.parse(reply.payload) as Record<string, unknown>;
    },
    snapshot: () => ledgerSnapshot(ctx.store, accounts),
    async close() {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
      await server.close();
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return env;
}
