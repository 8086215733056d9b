// SPDX-License-Identifier: Apache-2.0
// A server world for tests: in-memory SQLite, a manual clock, seeded randomness, and helpers that play
// the phone (keys, credentials, codes) and the kiosk (raw MQTT payloads through the real dispatcher).
// With KP_WORLD_DATABASE_URL set, the ledger is PostgreSQL instead, in a fresh schema dropped at close,
// so the domain tests run against both adapters (docs/scaling.md).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { fromBase64url } from '../../shared/bytes.ts';
import { ManualClock } from '../../shared/clock.ts';
import { naclEd25519 } from '../../shared/crypto/ed25519-nacl.ts';
import { makeOfflineCode, type OfflineCodeVersion } from '../../shared/codes/offline-code.ts';
import { makeNumericOfflineCode } from '../../shared/codes/numeric-offline.ts';
import type { KioskReply, PayResult, SettleItem, SettleResult } from '../../shared/kiosk-messages.ts';
import { money, type Currency } from '../../shared/money.ts';
import { seededRandom } from '../../shared/random.ts';
import type { CredentialResponse } from '../../shared/wallet-messages.ts';
import { parseServerConfig } from '../config.ts';
import { createContext, registerKiosks } from '../app.ts';
import { freshSchema } from './pg-test-db.ts';
import { SqliteStore } from '../adapters/sqlite-store.ts';
import type { Store } from '../ports/store.ts';
import { issuanceAccountId } from '../domain/ids.ts';
import { handleKioskPayload } from '../domain/kiosk-api.ts';
import { enrollWallet, issueCredential, issueOnlineCode, topUp } from '../domain/wallets.ts';

export const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

/** The world's ledger, and how to remove it once closed. */
function worldStore(seed: number, queuedUnitsMax: number): { store: Store; drop: () => Promise<void> } {
  const url = process.env['KP_WORLD_DATABASE_URL'];
  if (!url) return { store: new SqliteStore({ path: ':memory:', queuedUnitsMax }), drop: async () => {} };
  const db = freshSchema({ url, prefix: 'kp_world' });
  return { store: db.open({ random: seededRandom(seed), queuedUnitsMax }), drop: () => db.dispose() };
}

/** One stored offline payment as a kiosk forwards it in a settle batch, in JPY. */
export const settleItem = (txId: string, code: string, value: number, capturedAt: number): SettleItem => ({
  txId,
  code,
  amount: { value, currency: 'JPY' },
  capturedAt,
});

export interface TestPhone {
  walletId: string;
  token: string;
  seed: Uint8Array;
  credential?: CredentialResponse;
  counter: number;
}

export async function makeWorld(overrides: Record<string, unknown> = {}, seed = 1) {
  const dir = mkdtempSync(join(tmpdir(), 'kp-world-'));
  const clock = new ManualClock(T0);
  const random = seededRandom(seed);
  const config = parseServerConfig({
    dataDir: dir,
    topupEnabled: true,
    logLevel: 'silent',
    timeZone: 'Asia/Tokyo',
    kiosks: [
      { id: 'k1', merchant: 'shop' },
      { id: 'k2', merchant: 'shop' },
      { id: 'k3', merchant: 'other' },
    ],
    ...overrides,
  });
  let revocations = 0;
  const ledger = worldStore(seed, config.storeQueuedUnitsMax);
  const ctx = createContext(config, { clock, random, log: pino({ level: 'silent' }), store: ledger.store });
  ctx.setOnRevocation(() => {
    revocations++;
  });
  await registerKiosks(ctx);
  let seq = 0;
  const send = async (kioskId: string, msg: unknown): Promise<KioskReply> =>
    handleKioskPayload(ctx, kioskId, new TextEncoder().encode(typeof msg === 'string' ? msg : JSON.stringify(msg)));

  const world = {
    ctx,
    clock,
    config,
    random,
    get revocations() {
      return revocations;
    },
    async phone(balance = 20_000, currency: Currency = 'JPY'): Promise<TestPhone> {
      const w = await enrollWallet(ctx, currency);
      if (balance > 0) await topUp(ctx, w.walletId, money(balance, currency));
      return { walletId: w.walletId, token: w.token, seed: random.bytes(32), counter: 0 };
    },
    async credential(p: TestPhone): Promise<CredentialResponse> {
      const keys = naclEd25519.keyPairFromSeed(p.seed);
      p.credential = await issueCredential(ctx, p.walletId, keys.publicKey);
      return p.credential;
    },
    /** An enrolled phone with this balance that already holds an offline credential. */
    async phoneWithCredential(balance = 20_000): Promise<TestPhone> {
      const p = await world.phone(balance);
      await world.credential(p);
      return p;
    },
    /** Credits `accountId` from the issuance account straight in the store: a test's setup only, no domain rule applies. */
    async credit(accountId: string, value: number, currency: Currency = 'JPY'): Promise<void> {
      await ctx.store.unit(async (tx) => {
        const issuance = issuanceAccountId(currency);
        if (!(await tx.getAccount(issuance)))
          await tx.createAccount({ id: issuance, kind: 'issuance', currency, balance: 0, createdAt: 0 });
        await tx.transfer({
          paymentId: null,
          debitAccount: issuance,
          creditAccount: accountId,
          amount: value,
          currency,
          kind: 'topup',
          at: 0,
        });
      });
    },
    async onlineCode(p: TestPhone): Promise<string> {
      return (await issueOnlineCode(ctx, p.walletId)).code;
    },
    /** An offline QR code of `opts.version` (default: version 3, what wallets make). */
    offlineCode(
      p: TestPhone,
      opts: { timestampMs?: number; counter?: number; amountCap?: number; version?: OfflineCodeVersion } = {},
    ): string {
      if (!p.credential) throw new Error('phone has no credential');
      const counter = opts.counter ?? ++p.counter;
      return makeOfflineCode(
        {
          credential: fromBase64url(p.credential.credential)!,
          timestampMs: opts.timestampMs ?? clock.nowMs(),
          counter,
          phoneSecretKey: naclEd25519.keyPairFromSeed(p.seed).secretKey,
          amountCap: opts.amountCap,
          version: opts.version,
        },
        naclEd25519,
      );
    },
    numericCode(p: TestPhone, timeMs = clock.nowMs()): string {
      if (!p.credential) throw new Error('phone has no credential');
      const n = p.credential.numeric;
      return makeNumericOfflineCode({ handle: n.handle, secret: fromBase64url(n.secret)!, timeMs, stepMs: n.stepMs });
    },
    send,
    async pay(kioskId: string, code: string, value: number, txId = `tx-${++seq}`, currency: Currency = 'JPY'): Promise<PayResult> {
      const r = await send(kioskId, { v: 1, type: 'pay', id: `c-${++seq}`, txId, code, amount: { value, currency } });
      if (r.type !== 'pay.result') throw new Error(`expected pay.result, got ${JSON.stringify(r)}`);
      return r;
    },
    async settle(kioskId: string, items: SettleItem[]): Promise<SettleResult> {
      const r = await send(kioskId, { v: 1, type: 'settle', id: `c-${++seq}`, items });
      if (r.type !== 'settle.result') throw new Error(`expected settle.result, got ${JSON.stringify(r)}`);
      return r;
    },
    async balance(accountId: string): Promise<number> {
      return ctx.store.unit(async (tx) => (await tx.getAccount(accountId))?.balance ?? NaN);
    },
    async totals() {
      return ctx.store.unit((tx) => tx.balanceTotals());
    },
    async close() {
      await ctx.store.close();
      await ledger.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

export type World = Awaited<ReturnType<typeof makeWorld>>;
