// SPDX-License-Identifier: Apache-2.0
// The contract every OutboxStore adapter passes (run from memory-outbox.test.ts and
// file-outbox.test.ts), in the style of MQTT.js abstractStoreTest.
import { describe, expect, it } from 'vitest';
import type { Currency } from '../../shared/money.ts';
import { isOutboxError, type OutboxEntry, type OutboxLimits, type OutboxStore } from './outbox-store.ts';

export interface OutboxUnderTest {
  store: OutboxStore;
  /** Closes `store` and opens what is durable, as a restart would. */
  reopen(): Promise<OutboxStore>;
}

export const CAPTURED_AT = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/** A valid entry number i: txId tx-i, credential c0..., counter i. */
export function testEntry(i: number, over: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    txId: `tx-${i}`,
    code: `KP1.offline-code-${i}`,
    amount: { value: 100 + i, currency: 'JPY' as Currency },
    capturedAt: CAPTURED_AT + i * 1000,
    credentialId: 'c0c0c0c0c0c0c0c0',
    counter: i,
    ...over,
  };
}

export function outboxContract(name: string, make: (limits?: Partial<OutboxLimits>) => Promise<OutboxUnderTest>): void {
  describe(`OutboxStore contract: ${name}`, () => {
    it('lists appended entries in append order', async () => {
      const { store } = await make();
      for (const i of [3, 1, 2]) await store.append(testEntry(i));
      expect(store.list().map((e) => e.txId)).toEqual(['tx-3', 'tx-1', 'tx-2']);
      expect(store.list()[0]).toEqual(testEntry(3));
      await store.close();
    });

    it('keeps its own copy of an entry, so the caller cannot change what is stored', async () => {
      const { store } = await make();
      const e = { ...testEntry(1), amount: { value: 500, currency: 'JPY' as Currency } };
      await store.append(e);
      (e.amount as { value: number }).value = 1;
      expect(store.list()[0]!.amount.value).toBe(500);
      expect(Object.isFrozen(store.list()[0])).toBe(true);
      await store.close();
    });

    it('keeps the sale lines of an entry (its own frozen copy) across a restart, and entries without lines as they are', async () => {
      const { store, reopen } = await make();
      const lines = [
        { gtin: '4901000000013', slot: 1, qty: 2, unitPrice: { value: 40, currency: 'JPY' as Currency } },
        { slot: 7, qty: 1, unitPrice: { value: 21, currency: 'JPY' as Currency } },
      ];
      await store.append(testEntry(1, { lines }));
      await store.append(testEntry(2));
      lines[0]!.qty = 9;
      expect(store.list()[0]!.lines).toEqual([
        { gtin: '4901000000013', slot: 1, qty: 2, unitPrice: { value: 40, currency: 'JPY' } },
        { slot: 7, qty: 1, unitPrice: { value: 21, currency: 'JPY' } },
      ]);
      expect(Object.isFrozen(store.list()[0]!.lines![0])).toBe(true);
      expect('lines' in store.list()[1]!).toBe(false);
      const before = store.list();
      const again = await reopen();
      expect(again.list()).toEqual(before);
      expect('lines' in again.list()[1]!).toBe(false);
      // Lines that break the protocol's rules are a programmer error, like any invalid field.
      await expect(again.append(testEntry(3, { lines: [{ qty: 1, unitPrice: { value: 103, currency: 'JPY' } }] }))).rejects.toThrow(
        /assertion failed/,
      );
      await expect(again.append(testEntry(3, { lines: [] }))).rejects.toThrow(/assertion failed/);
      await again.close();
    });

    it('counts stored amounts per currency and reports the oldest capture time', async () => {
      const { store } = await make();
      expect(store.stats()).toEqual({ count: 0, amountByCurrency: {}, oldestCapturedAt: null });
      await store.append(testEntry(2, { amount: { value: 300, currency: 'JPY' } }));
      await store.append(testEntry(1, { amount: { value: 250, currency: 'USD' } }));
      await store.append(testEntry(3, { amount: { value: 700, currency: 'JPY' } }));
      expect(store.stats()).toEqual({ count: 3, amountByCurrency: { JPY: 1000, USD: 250 }, oldestCapturedAt: testEntry(1).capturedAt });
      await store.close();
    });

    it('refuses a txId that is already stored, and stores nothing', async () => {
      const { store } = await make();
      await store.append(testEntry(1));
      const err = await store.append(testEntry(1, { counter: 99 })).catch((e: unknown) => e);
      expect(isOutboxError(err, 'DUPLICATE_TX')).toBe(true);
      expect(store.list()).toHaveLength(1);
      await store.close();
    });

    it('refuses a credential counter that is already stored', async () => {
      const { store } = await make();
      await store.append(testEntry(1));
      expect(store.hasCounter('c0c0c0c0c0c0c0c0', 1)).toBe(true);
      expect(store.hasCounter('c0c0c0c0c0c0c0c0', 2)).toBe(false);
      expect(store.hasCounter('d0d0d0d0d0d0d0d0', 1)).toBe(false);
      const err = await store.append(testEntry(2, { counter: 1 })).catch((e: unknown) => e);
      expect(isOutboxError(err, 'COUNTER_SEEN')).toBe(true);
      await store.append(testEntry(3, { counter: 1, credentialId: 'd0d0d0d0d0d0d0d0' }));
      expect(store.list()).toHaveLength(2);
      await store.close();
    });

    it('refuses an append beyond entriesMax with OUTBOX_FULL and accepts again after an acknowledge', async () => {
      const { store } = await make({ entriesMax: 3 });
      for (let i = 0; i < 3; i++) await store.append(testEntry(i));
      const err = await store.append(testEntry(3)).catch((e: unknown) => e);
      expect(isOutboxError(err, 'OUTBOX_FULL')).toBe(true);
      expect(isOutboxError(err, 'OUTBOX_FULL') && err.detail).toEqual({ count: 3, entriesMax: 3 });
      await store.acknowledge(['tx-0']);
      await store.append(testEntry(3));
      expect(store.list().map((e) => e.txId)).toEqual(['tx-1', 'tx-2', 'tx-3']);
      await store.close();
    });

    it('treats an invalid entry as a programmer error', async () => {
      const { store } = await make();
      await expect(store.append(testEntry(1, { amount: { value: 1.5, currency: 'JPY' } }))).rejects.toThrow(/assertion failed/);
      await expect(store.append(testEntry(1, { credentialId: 'XYZ' }))).rejects.toThrow(/assertion failed/);
      expect(store.list()).toHaveLength(0);
      // A refused entry does not fail the store.
      await store.append(testEntry(1));
      await store.close();
    });

    it('acknowledge removes exactly the named entries and ignores unknown or repeated txIds', async () => {
      const { store } = await make();
      for (let i = 0; i < 5; i++) await store.append(testEntry(i));
      await store.acknowledge(['tx-1', 'tx-3', 'tx-unknown']);
      await store.acknowledge(['tx-1']);
      await store.acknowledge([]);
      expect(store.list().map((e) => e.txId)).toEqual(['tx-0', 'tx-2', 'tx-4']);
      await store.close();
    });

    it('still refuses the counter of a settled entry, up to settledCountersMax of them', async () => {
      const { store } = await make({ settledCountersMax: 2 });
      for (let i = 0; i < 3; i++) await store.append(testEntry(i));
      await store.acknowledge(['tx-0', 'tx-1', 'tx-2']);
      expect(store.hasCounter('c0c0c0c0c0c0c0c0', 0)).toBe(false);
      expect(store.hasCounter('c0c0c0c0c0c0c0c0', 1)).toBe(true);
      expect(store.hasCounter('c0c0c0c0c0c0c0c0', 2)).toBe(true);
      await expect(store.append(testEntry(9, { counter: 2 }))).rejects.toMatchObject({ code: 'COUNTER_SEEN' });
      await store.close();
    });

    it('applies concurrent appends and acknowledges one at a time without losing any', async () => {
      const { store, reopen } = await make();
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.append(testEntry(i))));
      await Promise.all([
        store.acknowledge(['tx-0', 'tx-1']),
        ...Array.from({ length: 5 }, (_, i) => store.append(testEntry(20 + i))),
        store.acknowledge(['tx-21']),
      ]);
      const expected = [...Array.from({ length: 18 }, (_, i) => `tx-${i + 2}`), 'tx-20', 'tx-22', 'tx-23', 'tx-24'];
      expect(store.list().map((e) => e.txId)).toEqual(expected);
      const again = await reopen();
      expect(again.list().map((e) => e.txId)).toEqual(expected);
      await again.close();
    });

    it('after a restart holds exactly what was durable, settled counters included', async () => {
      const { store, reopen } = await make();
      for (let i = 0; i < 4; i++) await store.append(testEntry(i, { amount: { value: 10 * (i + 1), currency: i % 2 ? 'EUR' : 'JPY' } }));
      await store.acknowledge(['tx-2']);
      const before = { list: store.list(), stats: store.stats() };
      const again = await reopen();
      expect(again.list()).toEqual(before.list);
      expect(again.stats()).toEqual(before.stats);
      expect(again.hasCounter('c0c0c0c0c0c0c0c0', 2)).toBe(true);
      await again.close();
    });

    it('rejects every call after close with STORE_CLOSED, once pending writes are done', async () => {
      const { store } = await make();
      const pending = store.append(testEntry(1));
      await store.close();
      await pending;
      await expect(store.append(testEntry(2))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await expect(store.acknowledge(['tx-1'])).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      expect(store.list()).toHaveLength(1);
    });
  });
}
