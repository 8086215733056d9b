// SPDX-License-Identifier: Apache-2.0
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ean13CheckDigit } from '../../shared/catalog/ean13.ts';
import {
  KIOSK_MESSAGE_BYTES_MAX,
  kioskRequest,
  parseJsonMessage,
  SALE_LINE_QTY_MAX,
  SALE_LINES_MAX,
  SETTLE_ITEMS_MAX,
  type ErrorReply,
  type SettleItemResult,
  type SettleRequest,
  type SettleResult,
} from '../../shared/kiosk-messages.ts';
import { ManualTimers } from '../timers.ts';
import type { MqttUplink } from '../uplink/mqtt-uplink.ts';
import type { SimUplink } from '../uplink/sim-uplink.ts';
import { UplinkOfflineError, UplinkTimeoutError } from '../uplink/uplink.ts';
import { FileOutbox } from './file-outbox.ts';
import { forwardOutbox, type ForwardProgress, type SettleUplink } from './forwarder.ts';
import { MemoryOutbox } from './memory-outbox.ts';
import { testEntry } from './outbox-contract.ts';
import type { OutboxStore } from './outbox-store.ts';

// Both uplink adapters fit the forwarder's port (checked by the compiler).
const _uplinksFit = (u: MqttUplink | SimUplink): SettleUplink => u;
void _uplinksFit;

/** An idempotent settlement server: the first request for a txId decides, every later one gets the same answer. */
class FakeServer {
  readonly decisions = new Map<string, SettleItemResult>();
  /** How many times each txId was settled (booked), which must never exceed one. */
  readonly bookings = new Map<string, number>();
  #payments = 0;
  constructor(readonly declines: ReadonlySet<string> = new Set()) {}

  settle(req: SettleRequest): SettleResult {
    const items = req.items.map((item) => {
      let d = this.decisions.get(item.txId);
      if (!d) {
        d = this.declines.has(item.txId)
          ? { txId: item.txId, status: 'declined', reason: 'CREDENTIAL_REVOKED' }
          : { txId: item.txId, status: 'settled', paymentId: `pay-${++this.#payments}` };
        this.decisions.set(item.txId, d);
        if (d.status === 'settled') this.bookings.set(item.txId, (this.bookings.get(item.txId) ?? 0) + 1);
      }
      return d;
    });
    return { v: 1, type: 'settle.result', re: req.id, items };
  }
}

type Step =
  | 'answer'
  /** The server settles the batch, but the reply is lost. */
  | 'lost-reply'
  | 'offline'
  | ((req: SettleRequest, server: FakeServer) => SettleResult | ErrorReply);

/** A fake uplink in front of a FakeServer; each request takes the next scripted step ('answer' when none). */
function fakeUplink(server: FakeServer, script: Step[] = []) {
  const sent: SettleRequest[] = [];
  const uplink: SettleUplink = {
    async request(req) {
      sent.push(structuredClone(req));
      const step = script.shift() ?? 'answer';
      if (step === 'offline') throw new UplinkOfflineError();
      if (step === 'lost-reply') {
        server.settle(req);
        throw new UplinkTimeoutError(req.id, 5_000);
      }
      return step === 'answer' ? server.settle(req) : step(req, server);
    },
  };
  return { uplink, sent };
}

async function filledStore(n: number, store: OutboxStore = new MemoryOutbox()): Promise<OutboxStore> {
  for (let i = 0; i < n; i++) await store.append(testEntry(i));
  return store;
}

let ids = 0;
const opts = { nextId: () => `req-${++ids}` };
const sentTxIds = (sent: SettleRequest[]) => sent.flatMap((r) => r.items.map((i) => i.txId));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `tx-${from + i}`);

describe('forwardOutbox', () => {
  it('sends everything in order in batches of at most 100 and empties the outbox', async () => {
    const store = await filledStore(250);
    const server = new FakeServer();
    const { uplink, sent } = fakeUplink(server);
    const progress: ForwardProgress[] = [];
    const report = await forwardOutbox(store, uplink, { ...opts, onProgress: (p) => progress.push(p) });
    expect(sent.map((r) => r.items.length)).toEqual([100, 100, 50]);
    expect(sentTxIds(sent)).toEqual(range(0, 250));
    expect(sent[0]!.items[0]).toEqual({
      txId: 'tx-0',
      code: testEntry(0).code,
      amount: testEntry(0).amount,
      capturedAt: testEntry(0).capturedAt,
    });
    expect(report).toMatchObject({ end: 'drained', batches: 3, remaining: 0, unanswered: [], declined: [], ignoredResults: [] });
    expect(report.settled).toHaveLength(250);
    expect(store.list()).toEqual([]);
    expect(progress.map((p) => p.remaining)).toEqual([150, 50, 0]);
    expect([...server.bookings.values()].every((n) => n === 1)).toBe(true);
  });

  it('sends the sale lines each entry stored, and no lines for an entry stored without them', async () => {
    const store = new MemoryOutbox();
    const lines = [
      { gtin: '4901000000013', qty: 2, unitPrice: { value: 40, currency: 'JPY' as const } },
      { gtin: '4901000000020', slot: 2, qty: 1, unitPrice: { value: 21, currency: 'JPY' as const } },
    ];
    await store.append(testEntry(1, { lines }));
    await store.append(testEntry(2));
    const { uplink, sent } = fakeUplink(new FakeServer());
    expect(await forwardOutbox(store, uplink, opts)).toMatchObject({ end: 'drained', remaining: 0 });
    const e1 = testEntry(1),
      e2 = testEntry(2);
    expect(sent[0]!.items).toEqual([
      { txId: e1.txId, code: e1.code, amount: e1.amount, capturedAt: e1.capturedAt, lines },
      { txId: e2.txId, code: e2.code, amount: e2.amount, capturedAt: e2.capturedAt },
    ]);
    expect('lines' in sent[0]!.items[1]!).toBe(false);
  });

  it('forwards an outbox written before entries held sale lines, without lines', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kp-fwd-'));
    try {
      const path = join(dir, 'outbox.json');
      await copyFile(new URL('./testdata/outbox-before-lines.json', import.meta.url), path);
      const store = await FileOutbox.open({ path });
      const { uplink, sent } = fakeUplink(new FakeServer());
      expect(await forwardOutbox(store, uplink, opts)).toMatchObject({
        end: 'drained',
        remaining: 0,
        settled: [{ txId: 'tx-2' }, { txId: 'tx-3' }],
      });
      expect(sent[0]!.items).toEqual(
        [2, 3].map((i) => ({ txId: `tx-${i}`, code: testEntry(i).code, amount: testEntry(i).amount, capturedAt: testEntry(i).capturedAt })),
      );
      for (const r of sent) expect(parseJsonMessage(kioskRequest, JSON.stringify(r)).ok).toBe(true);
      await store.close();
      const reopened = await FileOutbox.open({ path });
      expect(reopened.list()).toEqual([]);
      await reopened.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps each batch of long baskets within the message size limit, in order, and sends the rest in later batches', async () => {
    const store = new MemoryOutbox();
    // 100 entries of 100 lines each (the most a sale lists): about 10 KB an entry, 1 MB in all.
    const gtins = Array.from({ length: SALE_LINES_MAX }, (_, i) => {
      const body = `490100000${String(i).padStart(3, '0')}`;
      return body + ean13CheckDigit(body);
    });
    const lines = gtins.map((gtin, i) => ({
      gtin,
      slot: i + 1,
      qty: SALE_LINE_QTY_MAX,
      unitPrice: { value: 1_000_000, currency: 'JPY' as const },
    }));
    for (let i = 0; i < SETTLE_ITEMS_MAX; i++)
      await store.append(testEntry(i, { amount: { value: SALE_LINES_MAX * SALE_LINE_QTY_MAX * 1_000_000, currency: 'JPY' }, lines }));
    const everything = JSON.stringify({ v: 1, type: 'settle', id: 'req-x', items: store.list() });
    expect(Buffer.byteLength(everything)).toBeGreaterThan(3 * KIOSK_MESSAGE_BYTES_MAX);
    const { uplink, sent } = fakeUplink(new FakeServer());
    expect(await forwardOutbox(store, uplink, opts)).toMatchObject({ end: 'drained', remaining: 0 });
    expect(sent.length).toBeGreaterThan(3);
    for (const r of sent) {
      const json = JSON.stringify(r);
      expect(Buffer.byteLength(json)).toBeLessThanOrEqual(KIOSK_MESSAGE_BYTES_MAX);
      expect(parseJsonMessage(kioskRequest, json).ok).toBe(true);
      expect(r.items.every((item) => item.lines?.length === SALE_LINES_MAX)).toBe(true);
    }
    // Each batch is as full as the limit allows: one more item would not have fitted.
    for (const r of sent.slice(0, -1))
      expect(Buffer.byteLength(JSON.stringify({ ...r, items: [...r.items, r.items[0]] }))).toBeGreaterThan(KIOSK_MESSAGE_BYTES_MAX);
    expect(sentTxIds(sent)).toEqual(range(0, SETTLE_ITEMS_MAX));
  });

  it('uses fresh request ids and only the stored txIds', async () => {
    const store = await filledStore(30);
    const { uplink, sent } = fakeUplink(new FakeServer());
    await forwardOutbox(store, uplink, { ...opts, batchItemsMax: 7 });
    expect(sent.map((r) => r.items.length)).toEqual([7, 7, 7, 7, 2]);
    expect(new Set(sent.map((r) => r.id)).size).toBe(5);
    expect(sentTxIds(sent)).toEqual(range(0, 30));
    await expect(forwardOutbox(store, uplink, { ...opts, batchItemsMax: 101 })).rejects.toThrow(/batchItemsMax/);
  });

  it('never sends a held entry, also one that is stored while the run goes on', async () => {
    const store = await filledStore(3);
    const held = new Set(['tx-1', 'tx-3']);
    const server = new FakeServer();
    const { uplink, sent } = fakeUplink(server, [
      (req, s) => {
        void store.append(testEntry(3)); // lands before the batch's acknowledge, so before the next batch
        return s.settle(req);
      },
    ]);
    const report = await forwardOutbox(store, uplink, { ...opts, batchItemsMax: 1, held: (txId) => held.has(txId) });
    expect(sentTxIds(sent)).toEqual(['tx-0', 'tx-2']);
    expect(report).toMatchObject({ end: 'drained', remaining: 2 });
    expect(store.list().map((e) => e.txId)).toEqual(['tx-1', 'tx-3']);
  });

  it('does nothing on an empty outbox', async () => {
    const { uplink, sent } = fakeUplink(new FakeServer());
    expect(await forwardOutbox(new MemoryOutbox(), uplink, opts)).toMatchObject({ end: 'drained', batches: 0 });
    expect(sent).toEqual([]);
  });

  it('acknowledges only the items a partial result names, and resends the rest in the next run', async () => {
    const store = await filledStore(8);
    const server = new FakeServer();
    const answerOddOnly = (req: SettleRequest, s: FakeServer): SettleResult => {
      const r = s.settle({ ...req, items: req.items.filter((_, i) => i % 2 === 1) });
      return r;
    };
    const { uplink, sent } = fakeUplink(server, [answerOddOnly]);
    const first = await forwardOutbox(store, uplink, { ...opts, batchItemsMax: 4 });
    expect(first.end).toBe('unanswered');
    expect(first.unanswered).toEqual(['tx-0', 'tx-2']);
    expect(store.list().map((e) => e.txId)).toEqual(['tx-0', 'tx-2']);
    // Each entry at most once per run: the second batch is tx-4..tx-7, not the unanswered ones again.
    expect(sentTxIds(sent)).toEqual(range(0, 8));

    const second = await forwardOutbox(store, uplink, opts);
    expect(second).toMatchObject({ end: 'drained', remaining: 0 });
    expect(sentTxIds(sent.slice(2))).toEqual(['tx-0', 'tx-2']);
    expect(server.bookings.size).toBe(8);
  });

  it('stops at a timeout mid-way, keeps what was not answered, and a retry settles each txId once', async () => {
    const store = await filledStore(25);
    const server = new FakeServer();
    const { uplink, sent } = fakeUplink(server, ['answer', 'lost-reply']);
    const first = await forwardOutbox(store, uplink, { ...opts, batchItemsMax: 10 });
    expect(first).toMatchObject({ end: 'timeout', batches: 1, remaining: 15 });
    expect(store.list().map((e) => e.txId)).toEqual(range(10, 25));

    const second = await forwardOutbox(store, uplink, { ...opts, batchItemsMax: 10 });
    expect(second).toMatchObject({ end: 'drained', batches: 2 });
    // The same txIds went again; the server answered them from its record.
    expect(sentTxIds(sent)).toEqual([...range(0, 20), ...range(10, 25)]);
    expect(server.bookings.size).toBe(25);
    expect([...server.bookings.values()].every((n) => n === 1)).toBe(true);
  });

  it('stops without acknowledging anything when the uplink is offline', async () => {
    const store = await filledStore(3);
    const { uplink } = fakeUplink(new FakeServer(), ['offline']);
    expect(await forwardOutbox(store, uplink, opts)).toMatchObject({ end: 'offline', batches: 0, remaining: 3 });
  });

  it('stops at an error reply and reports it, acknowledging nothing from that batch', async () => {
    const store = await filledStore(5);
    const error = (req: SettleRequest): ErrorReply => ({
      v: 1,
      type: 'error',
      re: req.id,
      code: 'INTERNAL',
      message: 'database unavailable',
    });
    const { uplink, sent } = fakeUplink(new FakeServer(), ['answer', error]);
    const report = await forwardOutbox(store, uplink, { ...opts, batchItemsMax: 2 });
    expect(report).toMatchObject({
      end: 'server-error',
      error: { code: 'INTERNAL', message: 'database unavailable' },
      batches: 2,
      remaining: 3,
    });
    expect(store.list().map((e) => e.txId)).toEqual(['tx-2', 'tx-3', 'tx-4']);
    expect(sent).toHaveLength(2);
  });

  it('backs off after RATE_LIMITED and resends the same batch, which then settles once', async () => {
    const store = await filledStore(3);
    const server = new FakeServer();
    const limited = (req: SettleRequest): ErrorReply => ({
      v: 1,
      type: 'error',
      re: req.id,
      code: 'RATE_LIMITED',
      message: 'slow down',
      retryAfterMs: 100,
    });
    const { uplink, sent } = fakeUplink(server, [limited, limited, 'answer']);
    const timers = new ManualTimers();
    const run = forwardOutbox(store, uplink, { ...opts, timers, random: () => 0.5 });
    const flush = async () => {
      for (let i = 0; i < 10; i++) await Promise.resolve();
    };
    await flush();
    expect(sent).toHaveLength(1);
    timers.advance(124); // first wait: 100 + 0.5 * 50
    await flush();
    expect(sent).toHaveLength(1);
    timers.advance(1);
    await flush();
    expect(sent).toHaveLength(2);
    timers.advance(149); // second wait is longer: 100 + 0.5 * 100
    await flush();
    expect(sent).toHaveLength(2);
    timers.advance(1);
    const report = await run;
    expect(report).toMatchObject({ end: 'drained', batches: 1, remaining: 0 });
    expect(report.error).toBeUndefined();
    expect(sent.map((r) => r.items.map((i) => i.txId))).toEqual([range(0, 3), range(0, 3), range(0, 3)]);
    expect([...server.bookings.values()]).toEqual([1, 1, 1]);
  });

  it('ends rate-limited after its resends, with every entry still stored', async () => {
    const store = await filledStore(2);
    const limited = (req: SettleRequest): ErrorReply => ({
      v: 1,
      type: 'error',
      re: req.id,
      code: 'RATE_LIMITED',
      message: 'slow down',
      retryAfterMs: 10,
    });
    const { uplink, sent } = fakeUplink(
      new FakeServer(),
      Array.from({ length: 10 }, () => limited),
    );
    const timers = new ManualTimers();
    const run = forwardOutbox(store, uplink, { ...opts, timers, random: () => 0, rateLimitedResendsMax: 2 });
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 10; j++) await Promise.resolve();
      timers.advance(10);
    }
    expect(await run).toMatchObject({ end: 'rate-limited', batches: 0, remaining: 2, error: { code: 'RATE_LIMITED' } });
    expect(sent).toHaveLength(3);
  });

  it('reports declined items for the operator and removes them, since a decline is final', async () => {
    const store = await filledStore(4);
    const { uplink } = fakeUplink(new FakeServer(new Set(['tx-1', 'tx-3'])));
    const report = await forwardOutbox(store, uplink, opts);
    expect(report.end).toBe('drained');
    expect(report.settled.map((s) => s.txId)).toEqual(['tx-0', 'tx-2']);
    expect(report.declined).toEqual(
      [1, 3].map((i) => ({
        txId: `tx-${i}`,
        amount: testEntry(i).amount,
        capturedAt: testEntry(i).capturedAt,
        credentialId: testEntry(i).credentialId,
        counter: i,
        reason: 'CREDENTIAL_REVOKED',
      })),
    );
    expect(JSON.stringify(report)).not.toContain('offline-code');
  });

  it('handles duplicate delivery: repeated result items count once and foreign txIds are ignored', async () => {
    const store = await filledStore(3);
    await store.append(testEntry(50));
    const server = new FakeServer(new Set(['tx-1']));
    const duplicated = (req: SettleRequest, s: FakeServer): SettleResult => {
      s.settle(req); // the request reached the server twice (MQTT resend after a reconnect)
      const r = s.settle(req);
      const first = { ...req, items: req.items.slice(0, 3) };
      return {
        ...r,
        items: [...r.items, ...s.settle(first).items, { txId: 'tx-50', status: 'declined' }, { txId: 'tx-999', status: 'settled' }],
      };
    };
    const { uplink } = fakeUplink(server, [duplicated]);
    const report = await forwardOutbox(store, uplink, { ...opts, batchItemsMax: 3 });
    expect(report.settled.map((s) => s.txId)).toEqual(['tx-0', 'tx-2', 'tx-50']);
    expect(report.declined.map((d) => d.txId)).toEqual(['tx-1']);
    // tx-50 was not in the first batch: its item there is ignored; it settles in its own batch.
    expect(report.ignoredResults).toEqual(['tx-50', 'tx-999']);
    expect(report.end).toBe('drained');
    expect([...server.bookings.values()].every((n) => n === 1)).toBe(true);
  });

  it('after a crash between the server answer and the local acknowledge, resends and settles once', async () => {
    const store = (await filledStore(5)) as MemoryOutbox;
    const server = new FakeServer(new Set(['tx-4']));
    const { uplink, sent } = fakeUplink(server);
    store.failNextWrite(new Error('power cut'));
    await expect(forwardOutbox(store, uplink, opts)).rejects.toMatchObject({ code: 'STORE_FAILED' });
    expect(server.decisions.size).toBe(5);

    const restarted = store.reopen();
    expect(restarted.list()).toHaveLength(5);
    const report = await forwardOutbox(restarted, uplink, opts);
    expect(report.end).toBe('drained');
    expect(report.settled.map((s) => s.paymentId)).toEqual(['pay-1', 'pay-2', 'pay-3', 'pay-4']);
    expect(report.declined.map((d) => d.txId)).toEqual(['tx-4']);
    expect(sentTxIds(sent)).toEqual([...range(0, 5), ...range(0, 5)]);
    expect([...server.bookings.values()]).toEqual([1, 1, 1, 1]);
  });

  it('with the file outbox: a crash during the acknowledge write loses nothing and settles once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kp-forward-'));
    try {
      const path = join(dir, 'outbox.json');
      let crash = false;
      const store = await FileOutbox.open({
        path,
        onWriteStep: (s) => {
          if (crash && s === 'temp-synced') throw new Error('power cut');
        },
      });
      await filledStore(12, store);
      const server = new FakeServer();
      const { uplink } = fakeUplink(server);
      crash = true;
      await expect(forwardOutbox(store, uplink, { ...opts, batchItemsMax: 5 })).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await store.close();
      const restarted = await FileOutbox.open({ path });
      expect(restarted.list()).toHaveLength(12);
      expect(await forwardOutbox(restarted, uplink, { ...opts, batchItemsMax: 5 })).toMatchObject({ end: 'drained', batches: 3 });
      expect(server.bookings.size).toBe(12);
      expect([...server.bookings.values()].every((n) => n === 1)).toBe(true);
      await restarted.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops after batchesMax batches', async () => {
    const store = await filledStore(10);
    const { uplink } = fakeUplink(new FakeServer());
    expect(await forwardOutbox(store, uplink, { ...opts, batchItemsMax: 2, batchesMax: 3 })).toMatchObject({
      end: 'batch-limit',
      batches: 3,
      remaining: 4,
    });
  });

  it('rethrows an error that is not an uplink failure', async () => {
    const store = await filledStore(1);
    const uplink: SettleUplink = { request: () => Promise.reject(new TypeError('bug')) };
    await expect(forwardOutbox(store, uplink, opts)).rejects.toThrow(TypeError);
    expect(store.list()).toHaveLength(1);
  });
});
