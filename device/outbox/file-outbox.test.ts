// SPDX-License-Identifier: Apache-2.0
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../../shared/random.ts';
import type { DurableWriteStep } from './durable-json-adapter.ts';
import { FileOutbox, type FileOutboxOptions } from './file-outbox.ts';
import { outboxContract, testEntry } from './outbox-contract.ts';
import { isOutboxError, type OutboxEntry } from './outbox-store.ts';

const dirs: string[] = [];
async function freshPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kp-outbox-'));
  dirs.push(dir);
  return join(dir, 'state', 'outbox.json');
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const txIds = (entries: readonly OutboxEntry[]) => entries.map((e) => e.txId);

outboxContract('FileOutbox', async (limits) => {
  const path = await freshPath();
  const store = await FileOutbox.open({ path, ...(limits ? { limits } : {}) });
  return {
    store,
    reopen: async () => {
      await store.close();
      return FileOutbox.open({ path, ...(limits ? { limits } : {}) });
    },
  };
});

describe('FileOutbox on disk', () => {
  // testdata/outbox-before-lines.json was written by FileOutbox before entries could hold sale lines
  // (the commit before they were added): entries tx-1..tx-3 of testEntry appended, tx-1 acknowledged.
  const BEFORE_LINES = new URL('./testdata/outbox-before-lines.json', import.meta.url);

  it('loads an outbox written before entries held sale lines, and writes entries without lines byte for byte as before', async () => {
    const old = await readFile(BEFORE_LINES, 'utf8');
    const path = await freshPath();
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, old);
    const store = await FileOutbox.open({ path });
    expect(store.recovery).toEqual({ source: 'main', problems: [] });
    expect(store.list()).toEqual([testEntry(2), testEntry(3)]);
    expect(store.list().some((e) => 'lines' in e)).toBe(false);
    expect(store.hasCounter('c0c0c0c0c0c0c0c0', 1)).toBe(true);
    await store.close();

    const fresh = await freshPath();
    const now = await FileOutbox.open({ path: fresh });
    for (const i of [1, 2, 3]) await now.append(testEntry(i));
    await now.acknowledge(['tx-1']);
    await now.close();
    expect(await readFile(fresh, 'utf8')).toBe(old);
  });

  it('keeps the previous version as the backup and leaves no temp file', async () => {
    const path = await freshPath();
    const store = await FileOutbox.open({ path });
    expect(store.recovery).toEqual({ source: 'none', problems: [] });
    await store.append(testEntry(1));
    await store.append(testEntry(2));
    const main = JSON.parse(await readFile(path, 'utf8'));
    const backup = JSON.parse(await readFile(`${path}.bak`, 'utf8'));
    expect(main.seq).toBe(2);
    expect(txIds(main.body.entries)).toEqual(['tx-1', 'tx-2']);
    expect(backup.seq).toBe(1);
    expect(txIds(backup.body.entries)).toEqual(['tx-1']);
    expect(main.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(existsSync(`${path}.tmp`)).toBe(false);
    await store.close();
    const again = await FileOutbox.open({ path });
    expect(again.recovery).toEqual({ source: 'main', problems: [] });
    await again.close();
  });

  it('falls back to the backup when the main file is torn at any offset (seeded)', async () => {
    for (let seed = 1; seed <= 25; seed++) {
      const rng = seededRandom(seed);
      const path = await freshPath();
      const store = await FileOutbox.open({ path });
      const n = 2 + rng.int(5);
      for (let i = 0; i < n; i++) await store.append(testEntry(i));
      if (rng.int(2) === 1) await store.acknowledge([`tx-${rng.int(n)}`]);
      const previous = JSON.parse(await readFile(`${path}.bak`, 'utf8')).body.entries;
      await store.close();
      const size = (await readFile(path)).length;
      const offset = rng.int(size);
      await truncate(path, offset);

      const again = await FileOutbox.open({ path });
      const where = `seed ${seed}, ${n} entries, torn at ${offset} of ${size}`;
      expect(again.recovery.source, where).toBe('backup');
      expect(again.recovery.problems.join(' '), where).toMatch(/main: not JSON/);
      expect(again.list(), where).toEqual(previous);
      expect(existsSync(`${path}.corrupt`), where).toBe(true);
      // The good backup survives the next write, and the chain is healthy again.
      await again.append(testEntry(100));
      await again.close();
      const third = await FileOutbox.open({ path });
      expect(third.recovery.source, where).toBe('main');
      expect(txIds(third.list()), where).toEqual([...txIds(previous), 'tx-100']);
      await third.close();
    }
  });

  it('falls back to the backup when the main file is valid JSON with a wrong checksum', async () => {
    const path = await freshPath();
    const store = await FileOutbox.open({ path });
    await store.append(testEntry(1));
    await store.append(testEntry(2, { amount: { value: 500, currency: 'JPY' } }));
    await store.close();
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('"value":500', '"value":5000'));
    const again = await FileOutbox.open({ path });
    expect(again.recovery).toEqual({ source: 'backup', problems: ['main: checksum mismatch'] });
    expect(txIds(again.list())).toEqual(['tx-1']);
    await again.close();
  });

  it('refuses to open, rather than start empty, when neither the main file nor the backup is valid', async () => {
    const path = await freshPath();
    const store = await FileOutbox.open({ path });
    await store.append(testEntry(1));
    await store.append(testEntry(2));
    await store.close();
    await truncate(path, 10);
    await writeFile(`${path}.bak`, '{"format":"kioskpay-outbox/1","seq":1,"body":{"entries":[],"settledCounters":[]},"checksum":"00"}');
    const err = await FileOutbox.open({ path }).catch((e: unknown) => e);
    expect(isOutboxError(err, 'STORE_CORRUPT')).toBe(true);
    expect(isOutboxError(err, 'STORE_CORRUPT') && err.detail.problems).toEqual([
      'main: not JSON (10 characters; torn?)',
      'backup: checksum mismatch',
    ]);
    // The path is free again for a fixed file.
    await unlink(path);
    await unlink(`${path}.bak`);
    const fresh = await FileOutbox.open({ path });
    await fresh.close();
  });

  it('refuses a file whose body breaks the entry rules even with a good checksum', async () => {
    const path = await freshPath();
    const store = await FileOutbox.open({ path });
    await store.append(testEntry(1));
    await store.close();
    await unlink(`${path}.bak`).catch(() => undefined);
    const { createHash } = await import('node:crypto');
    const body = { entries: [testEntry(1), testEntry(1)], settledCounters: [] };
    const sum = createHash('sha256')
      .update(JSON.stringify({ format: 'kioskpay-outbox/1', seq: 9, body }))
      .digest('hex');
    await writeFile(path, JSON.stringify({ format: 'kioskpay-outbox/1', seq: 9, body, checksum: sum }));
    await expect(FileOutbox.open({ path })).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
  });

  it('loads the backup when the main file is missing (crash between the two renames)', async () => {
    const path = await freshPath();
    const store = await FileOutbox.open({ path });
    await store.append(testEntry(1));
    await store.append(testEntry(2));
    await store.close();
    await unlink(path);
    const again = await FileOutbox.open({ path });
    expect(again.recovery).toEqual({ source: 'backup', problems: ['main: missing'] });
    expect(txIds(again.list())).toEqual(['tx-1']);
    await again.close();
  });

  it('ignores and removes a torn temp file left by an interrupted write', async () => {
    const path = await freshPath();
    const store = await FileOutbox.open({ path });
    await store.append(testEntry(1));
    await store.close();
    await writeFile(`${path}.tmp`, '{"format":"kioskpay-outbox/1","seq":2,"bo');
    const again = await FileOutbox.open({ path });
    expect(again.recovery.source).toBe('main');
    expect(txIds(again.list())).toEqual(['tx-1']);
    expect(existsSync(`${path}.tmp`)).toBe(false);
    await again.close();
  });

  it('allows one open store per file in a process', async () => {
    const path = await freshPath();
    const store = await FileOutbox.open({ path });
    await expect(FileOutbox.open({ path })).rejects.toThrow(/already open/);
    await store.close();
    await (await FileOutbox.open({ path })).close();
  });
});

describe('FileOutbox after a crash at each write step', () => {
  const steps: DurableWriteStep[] = ['temp-written', 'temp-synced', 'backup-renamed', 'main-renamed', 'dir-synced'];
  /** After these steps the new version is the main file, so it survives the crash. */
  const committed = new Set<DurableWriteStep>(['main-renamed', 'dir-synced']);

  async function crashingStore(path: string) {
    let crashAt: DurableWriteStep | undefined;
    const onWriteStep: FileOutboxOptions['onWriteStep'] = (step) => {
      if (step === crashAt) throw new Error(`simulated crash after ${step}`);
    };
    const store = await FileOutbox.open({ path, onWriteStep });
    return {
      store,
      arm: (step: DurableWriteStep) => {
        crashAt = step;
      },
    };
  }

  for (const step of steps) {
    it(`append: crash after ${step} keeps every resolved append, and the interrupted one only if committed`, async () => {
      const path = await freshPath();
      const { store, arm } = await crashingStore(path);
      await store.append(testEntry(1));
      await store.append(testEntry(2));
      arm(step);
      await expect(store.append(testEntry(3))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(store.failed).toBe(true);
      await expect(store.append(testEntry(4))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await store.close();

      const again = await FileOutbox.open({ path });
      expect(txIds(again.list())).toEqual(committed.has(step) ? ['tx-1', 'tx-2', 'tx-3'] : ['tx-1', 'tx-2']);
      expect(existsSync(`${path}.tmp`)).toBe(false);
      await again.append(testEntry(5));
      await again.close();
      const third = await FileOutbox.open({ path });
      expect(third.recovery.source).toBe('main');
      expect(txIds(third.list()).at(-1)).toBe('tx-5');
      await third.close();
    });

    it(`acknowledge: crash after ${step} loses no unacknowledged entry`, async () => {
      const path = await freshPath();
      const { store, arm } = await crashingStore(path);
      for (let i = 1; i <= 3; i++) await store.append(testEntry(i));
      arm(step);
      await expect(store.acknowledge(['tx-2'])).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await store.close();
      const again = await FileOutbox.open({ path });
      // Either still stored (the forwarder resends; the server is idempotent) or durably gone.
      expect(txIds(again.list())).toEqual(committed.has(step) ? ['tx-1', 'tx-3'] : ['tx-1', 'tx-2', 'tx-3']);
      await again.close();
    });
  }
});
