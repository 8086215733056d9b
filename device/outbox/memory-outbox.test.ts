// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { MemoryOutbox } from './memory-outbox.ts';
import { outboxContract, testEntry } from './outbox-contract.ts';

outboxContract('MemoryOutbox', async (limits) => {
  const store = new MemoryOutbox(limits);
  return {
    store,
    reopen: async () => {
      await store.close();
      return store.reopen();
    },
  };
});

describe('MemoryOutbox test controls', () => {
  it('a failed write rejects the append, stores nothing and fails the store until reopened', async () => {
    const store = new MemoryOutbox();
    await store.append(testEntry(1));
    store.failNextWrite();
    await expect(store.append(testEntry(2))).rejects.toMatchObject({ code: 'STORE_FAILED' });
    expect(store.failed).toBe(true);
    expect(store.list().map((e) => e.txId)).toEqual(['tx-1']);
    await expect(store.acknowledge(['tx-1'])).rejects.toMatchObject({ code: 'STORE_FAILED' });
    const again = store.reopen();
    expect(again.list().map((e) => e.txId)).toEqual(['tx-1']);
    await again.append(testEntry(2));
    expect(again.writes).toBe(1);
  });
});
