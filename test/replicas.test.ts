// SPDX-License-Identifier: Apache-2.0
// Issue 6, scale-out: two server replicas behind a real Mosquitto 2 share the kiosk requests through
// one MQTT shared subscription ($share/replicas/kp/v1/kiosk/+/req) and one PostgreSQL ledger (a
// fresh schema per test). Kiosks pay online and settle offline codes concurrently: every request is
// answered once, both replicas take a share, nothing is charged twice and the ledger sums to zero.
// Then one replica's MQTT connection is cut mid-load (its socket destroyed, no DISCONNECT): the
// kiosks' timeout -> status -> void flow ([PROTO-IDEM-4]) and a fresh attempt for a voided sale end
// with every sale charged exactly once. Needs /usr/sbin/mosquitto and PostgreSQL on 127.0.0.1:5432:
// skipped without them locally, a failure under CI.
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BENCH_SERVER_CONFIG,
  DATABASE_URL,
  MOSQUITTO,
  SHARE_GROUP,
  probePostgres,
  startMosquitto,
  type Mosquitto,
} from '../bench/replicas.ts';
import { payOnline, voidTx, type OnlineOutcome, type RequestUplink } from '../device/domain/online-payment.ts';
import { MqttUplink } from '../device/uplink/mqtt-uplink.ts';
import { isUplinkError } from '../device/uplink/uplink.ts';
import { PgStore } from '../server/adapters/pg-store.ts';
import { createContext, registerKiosks, startServer, type RunningServer } from '../server/app.ts';
import { parseServerConfig } from '../server/config.ts';
import { merchantAccountId, shopperAccountId } from '../server/domain/ids.ts';
import { enrollWallet, issueCredential, issueOnlineCode, topUp } from '../server/domain/wallets.ts';
import type { Store } from '../server/ports/store.ts';
import { fromBase64url } from '../shared/bytes.ts';
import { makeOfflineCode } from '../shared/codes/offline-code.ts';
import type { KioskOperations } from '../shared/kiosk-messages.ts';
import { nodeEd25519 } from '../shared/crypto/ed25519-node.ts';
import { money } from '../shared/money.ts';
import { topics } from '../shared/topics.ts';
import { eventually, within } from '../shared/testing/wait.ts';
import { freshSchema } from '../server/testing/pg-test-db.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const silent = pino({ level: 'silent' });
const secret = () => randomBytes(12).toString('base64url');

const missing = existsSync(MOSQUITTO) ? await probePostgres() : `${MOSQUITTO} is absent (apt-get install mosquitto)`;
if (missing !== undefined && process.env['CI']) {
  describe('server replicas behind Mosquitto', () => {
    it('has Mosquitto and PostgreSQL (required in CI)', () => {
      throw new Error(missing);
    });
  });
}

/** Counts store units per replica (which replica handled kiosk requests); `onUnit` runs as one starts. */
interface UnitCount {
  units: number;
  onUnit?: (() => void) | undefined;
}
function countingStore(store: Store, count: UnitCount): Store {
  return {
    unit(fn) {
      count.units++;
      count.onUnit?.();
      return store.unit(fn);
    },
    close: () => store.close(),
  };
}

/**
 * A TCP relay between one replica and Mosquitto: cut() destroys both sides of every connection
 * (an abrupt loss, as when the replica's process dies) and refuses reconnections until restore().
 */
async function relay(brokerPort: number): Promise<{ port: number; cut(): void; restore(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let refusing = false;
  const srv: Server = createServer({ noDelay: true }, (inbound) => {
    if (refusing) {
      inbound.destroy();
      return;
    }
    const outbound = createConnection({ host: '127.0.0.1', port: brokerPort, noDelay: true });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const cut = () => {
    refusing = true;
    for (const s of sockets) s.destroy();
  };
  return {
    port: (srv.address() as { port: number }).port,
    cut,
    restore() {
      refusing = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        srv.close(() => resolve());
      }),
  };
}

interface Replica {
  server: RunningServer;
  /** Closes the replica once (the test may close it before the cleanup does). */
  close: () => Promise<void>;
  count: UnitCount;
  relay: Awaited<ReturnType<typeof relay>>;
}

/** Mosquitto, an admin context on a fresh schema (wallets, ledger checks), two replicas and the kiosks' uplinks. */
async function world(kioskIds: string[], requestTimeoutMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'kp-replicas-'));
  const { schema, dispose: drop } = freshSchema({ url: DATABASE_URL, prefix: 'kp_rep' });
  const serverPassword = secret();
  const kiosks = kioskIds.map((id) => ({ username: id, password: secret(), role: 'kiosk' as const, kioskId: id }));
  const tech = { username: 'tech', password: secret(), role: 'technician' as const };
  const cleanups: (() => Promise<unknown>)[] = [async () => rmSync(dir, { recursive: true, force: true }), () => drop()];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  };
  try {
    const broker: Mosquitto = await startMosquitto(join(dir, 'mosquitto'), [
      { username: 'server', password: serverPassword, role: 'server' },
      tech,
      ...kiosks,
    ]);
    cleanups.push(() => broker.close());
    const config = (dataDir: string, port: number, clientId: string) =>
      parseServerConfig({
        ...BENCH_SERVER_CONFIG,
        dataDir,
        databaseUrl: DATABASE_URL,
        httpPort: 0,
        mqttUrl: `mqtt://127.0.0.1:${port}`,
        mqttUsername: 'server',
        mqttPassword: serverPassword,
        mqttClientId: clientId,
        mqttShareGroup: SHARE_GROUP,
        logLevel: 'silent',
        kiosks: kioskIds.map((id) => ({ id, merchant: 'shop' })),
      });
    const adminDir = join(dir, 'admin');
    const admin = createContext(config(adminDir, broker.staffPort, 'admin'), {
      store: new PgStore({ connectionString: DATABASE_URL, schema }),
      log: silent,
    });
    cleanups.push(() => admin.store.close());
    await registerKiosks(admin);

    // The replicas publish the issuer keys right after subscribing: once the technician has seen both
    // publications, both share-group subscriptions are in place.
    const spy = await mqtt.connectAsync(broker.staffUrl, {
      protocolVersion: 4,
      username: tech.username,
      password: tech.password,
      clientId: `kp-${tech.username}-spy-${secret()}`,
      reconnectPeriod: 0,
    });
    cleanups.push(() => spy.endAsync(true));
    let keyPublications = 0;
    spy.on('message', (topic) => {
      if (topic === topics.issuerKeys) keyPublications++;
    });
    await spy.subscribeAsync(topics.issuerKeys, { qos: 1 });

    const replicas: Replica[] = [];
    for (const name of ['a', 'b']) {
      const dataDir = join(dir, `replica-${name}`);
      mkdirSync(dataDir, { recursive: true });
      copyFileSync(join(adminDir, 'issuer-key.json'), join(dataDir, 'issuer-key.json'));
      const r = await relay(broker.staffPort);
      cleanups.push(() => r.close());
      const count: UnitCount = { units: 0 };
      const server = await startServer(config(dataDir, r.port, `replica-${name}`), {
        store: countingStore(new PgStore({ connectionString: DATABASE_URL, schema }), count),
        log: silent,
      });
      let closing: Promise<void> | undefined;
      const close = () => (closing ??= server.close());
      // A replica cut off from the broker cannot finish a clean MQTT close: let it reconnect first.
      cleanups.push(async () => {
        r.restore();
        await within(close(), { what: `replica ${name} to close`, timeoutMs: 5000 }).catch(() => {});
      });
      replicas.push({ server, close, count, relay: r });
    }
    await eventually(() => keyPublications >= replicas.length, { what: 'every replica to subscribe' }).catch((e: Error) => {
      throw new Error(`${e.message}; broker log:\n${broker.log()}`);
    });

    // Per kiosk: its uplink, whose log records every reply it receives (matched or dropped). On
    // Mosquitto a kiosk has one connection: its client id is its kiosk id.
    const replies = new Map<string, number>();
    const uplinks: MqttUplink[] = [];
    for (const k of kiosks) {
      const count = (re: string) => replies.set(`${k.kioskId}/${re}`, (replies.get(`${k.kioskId}/${re}`) ?? 0) + 1);
      const replyLog = pino(
        { level: 'debug' },
        new Writable({
          write(chunk, _e, done) {
            const line = JSON.parse(String(chunk)) as { msg?: string; id?: string; re?: string };
            if (line.msg === 'reply' && line.id) count(line.id);
            else if (line.msg?.startsWith('reply ') && line.re) count(line.re);
            done();
          },
        }),
      );
      const u = await MqttUplink.connect({
        url: broker.url,
        kioskId: k.kioskId,
        username: k.username,
        password: k.password,
        requestTimeoutMs,
        logger: replyLog,
      });
      uplinks.push(u);
      cleanups.push(() => u.close());
    }
    return { admin, replicas, uplinks, replies, broker, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

type World = Awaited<ReturnType<typeof world>>;
let current: World | undefined;
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
}, 30_000);

/** A wallet per kiosk with 1,000,000 JPY; returns its id and opening balance. */
async function wallets(w: World, n: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const e = await enrollWallet(w.admin);
      await topUp(w.admin, e.walletId, money(1_000_000));
      return e.walletId;
    }),
  );
}

const balanceOf = (w: World, account: string) => w.admin.store.unit(async (tx) => (await tx.getAccount(account))!.balance);
const ledgerTotals = (w: World) => w.admin.store.unit(async (tx) => Object.fromEntries(await tx.balanceTotals()));

describe.skipIf(missing !== undefined)(`server replicas behind Mosquitto on PostgreSQL (skipped: ${missing ?? 'no'})`, () => {
  it('two replicas share online payments and offline settlement: each request answered once, no double charge', async () => {
    const kioskIds = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'];
    current = await world(kioskIds, 10_000);
    const w = current;
    const walletIds = await wallets(w, kioskIds.length);
    const phone = nodeEd25519.keyPairFromSeed(new Uint8Array(32).fill(9));
    const creds = await Promise.all(walletIds.map((id) => issueCredential(w.admin, id, phone.publicKey)));
    const unitsBefore = w.replicas.map((r) => r.count.units);
    const merchantBefore = await balanceOf(w, merchantAccountId('shop'));
    const ONLINE = 8;
    const BATCHES = 2;
    const ITEMS = 5;
    const sent: string[] = [];

    const spent = await Promise.all(
      w.uplinks.map(async (u, k) => {
        const kioskId = kioskIds[k]!;
        let total = 0;
        let counter = 0;
        for (let i = 0; i < ONLINE; i++) {
          const amount = 100 + k * 10 + i;
          const { code } = await issueOnlineCode(w.admin, walletIds[k]!);
          const id = `p${i}`;
          sent.push(`${kioskId}/${id}`);
          const r = await u.request<'pay'>({ v: 1, type: 'pay', id, txId: `on-${i}`, code, amount: money(amount) });
          expect(r).toMatchObject({ type: 'pay.result', status: 'approved', txId: `on-${i}` });
          total += amount;
          if (i % 4 === 3) {
            // Offline codes captured earlier, settled in a batch while other kiosks pay online.
            const b = i >> 2;
            const items = Array.from({ length: ITEMS }, (_, j) => ({
              txId: `off-${b}-${j}`,
              amount: money(50 + j),
              capturedAt: Date.now(),
              code: makeOfflineCode(
                {
                  credential: fromBase64url(creds[k]!.credential)!,
                  timestampMs: Date.now(),
                  counter: ++counter,
                  phoneSecretKey: phone.secretKey,
                },
                nodeEd25519,
              ),
            }));
            sent.push(`${kioskId}/s${b}`);
            const s = await u.request<'settle'>({ v: 1, type: 'settle', id: `s${b}`, items });
            expect(s.type).toBe('settle.result');
            expect(s.type === 'settle.result' && s.items.map((x) => x.status)).toEqual(items.map(() => 'settled'));
            total += items.reduce((sum, x) => sum + x.amount.value, 0);
          }
        }
        return total;
      }),
    );
    expect(sent).toHaveLength(kioskIds.length * (ONLINE + BATCHES));

    // Every request answered exactly once. The barrier behind which no duplicate can still be on its
    // way: the replicas close (each publishes what it started, then disconnects), then each kiosk
    // makes a round trip to the broker (a SUBACK), which Mosquitto queues behind every message it
    // already holds for that kiosk.
    const answered = () => [...w.replies.values()].reduce((a, b) => a + b, 0);
    await eventually(() => answered() >= sent.length, { what: `replies to all ${sent.length} requests` });
    for (const r of w.replicas) await r.close();
    await Promise.all(w.uplinks.map((u, k) => u.resubscribe(topics.kioskCommands(kioskIds[k]!))));
    expect(Object.fromEntries(w.replies)).toEqual(Object.fromEntries(sent.map((s) => [s, 1])));
    // Both replicas took a share of the kiosk requests.
    const handled = w.replicas.map((r, i) => r.count.units - unitsBefore[i]!);
    expect(
      handled.every((n) => n > 0),
      `units per replica ${handled.join('/')}`,
    ).toBe(true);
    // No double charge: each wallet paid exactly what its kiosk asked, once; the merchant got the sum.
    for (const [k, id] of walletIds.entries()) {
      expect(await balanceOf(w, shopperAccountId(id))).toBe(1_000_000 - spent[k]!);
      const rows = await w.admin.store.unit((tx) => tx.listPaymentsByWallet(id, 1000));
      expect(rows.filter((p) => p.status === 'approved' || p.status === 'settled')).toHaveLength(ONLINE + BATCHES * ITEMS);
      expect(new Set(rows.map((p) => p.txId)).size).toBe(rows.length);
    }
    expect((await balanceOf(w, merchantAccountId('shop'))) - merchantBefore).toBe(spent.reduce((a, b) => a + b, 0));
    expect(Object.values(await ledgerTotals(w))).toEqual([0]);
  }, 60_000);

  it('a replica cut off mid-load loses nothing: status/void and a fresh attempt charge every sale exactly once', async () => {
    const kioskIds = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'];
    // Short request timeout: a request that went to the lost replica is followed up quickly.
    current = await world(kioskIds, 1500);
    const w = current;
    const walletIds = await wallets(w, kioskIds.length);
    const SALES = 10;
    const [survivor, victim] = w.replicas as [Replica, Replica];
    let completed = 0;
    let cutAtUnits: number | undefined;
    const outcomes: Record<string, number> = {};
    const count = (o: OnlineOutcome) => {
      outcomes[o.outcome] = (outcomes[o.outcome] ?? 0) + 1;
    };

    const sent: Record<string, number> = {};
    let timeouts = 0;
    const results = await Promise.all(
      w.uplinks.map(async (uplink, k) => {
        const kioskId = kioskIds[k]!;
        // The kiosk's uplink, counting what the flow sends and how often it waits in vain.
        const u: RequestUplink = {
          request<K extends keyof KioskOperations>(req: KioskOperations[K]['request']) {
            sent[req.type] = (sent[req.type] ?? 0) + 1;
            return uplink.request<K>(req as KioskOperations[K]['request'] & { type: K }).catch((e: unknown) => {
              if (isUplinkError(e, 'timeout')) timeouts++;
              throw e;
            });
          },
        };
        let seq = 0;
        const nextId = () => `${kioskId}-${++seq}`;
        const txs: { txId: string; outcome: OnlineOutcome['outcome'] }[] = [];
        let total = 0;
        for (let sale = 0; sale < SALES; sale++) {
          const amount = 200 + k * 10 + sale;
          // A sale is retried with a new code and txId only after its previous txId is known voided or declined.
          for (let attempt = 0; ; attempt++) {
            expect(attempt, `sale ${kioskId}/${sale} never approved`).toBeLessThan(4);
            const { code } = await issueOnlineCode(w.admin, walletIds[k]!);
            const txId = `sale-${sale}-${attempt}`;
            let o = await payOnline(u, { txId, code, amount: money(amount) }, { nextId, followUpAttempts: 3 });
            count(o);
            while (o.outcome === 'indeterminate' || o.outcome === 'not-sent') {
              o = o.outcome === 'not-sent' ? { outcome: 'indeterminate' } : await voidTx(u, txId, nextId);
              if (o.outcome === 'indeterminate') await sleep(200);
            }
            txs.push({ txId, outcome: o.outcome });
            if (o.outcome === 'approved') {
              total += amount;
              break;
            }
            expect(o.outcome === 'error' ? o.code : o.outcome).toMatch(/^(voided|declined)$/);
          }
          // Once a third of the sales are done, cut the victim's connection the moment it starts on a
          // request: that request (and any queued for it) is handled but never answered.
          if (++completed === Math.floor((kioskIds.length * SALES) / 3)) {
            victim.count.onUnit = () => {
              victim.count.onUnit = undefined;
              cutAtUnits = survivor.count.units;
              victim.relay.cut();
            };
          }
        }
        return { txs, total };
      }),
    );
    expect(cutAtUnits, 'the victim was never cut').toBeDefined();
    // The cut cost at least one answer: the kiosks timed out and followed up with status.
    expect(timeouts, JSON.stringify(sent)).toBeGreaterThan(0);
    expect(sent['status'], JSON.stringify(sent)).toBeGreaterThan(0);
    // The survivor carried the load after the cut.
    expect(survivor.count.units).toBeGreaterThan(cutAtUnits!);

    // Each sale charged exactly once: the ledger agrees with every txId's outcome the kiosk learned.
    for (const [k, id] of walletIds.entries()) {
      const kioskId = kioskIds[k]!;
      const { txs, total } = results[k]!;
      expect(txs.filter((t) => t.outcome === 'approved')).toHaveLength(SALES);
      for (const t of txs) {
        const row = await w.admin.store.unit((tx) => tx.getPaymentByTx(kioskId, t.txId));
        if (t.outcome === 'approved') expect(row?.status, `${kioskId}/${t.txId}`).toBe('approved');
        else expect(row?.status ?? 'never seen', `${kioskId}/${t.txId}`).not.toBe('approved');
      }
      expect(await balanceOf(w, shopperAccountId(id))).toBe(1_000_000 - total);
    }
    expect(Object.values(await ledgerTotals(w)), `first outcomes ${JSON.stringify(outcomes)}, requests ${JSON.stringify(sent)}`).toEqual([
      0,
    ]);
  }, 60_000);
});
