// SPDX-License-Identifier: Apache-2.0
// The lowdb adapter on its own; the outbox's suites (file-outbox*.test.ts) cover crashes and torn files.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { initialKioskState, KioskStateStore } from '../kiosk/kiosk-state.ts';
import { DurableJsonAdapter, openDurableLow } from './durable-json-adapter.ts';

const dirs: string[] = [];
async function freshPath(name = 'doc.json'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kp-durable-'));
  dirs.push(dir);
  return join(dir, name);
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const docSchema = z.strictObject({ items: z.array(z.int()) });
type Doc = z.infer<typeof docSchema>;
const opts = { format: 'test-doc/1', bytesMax: 64 * 1024 };
const open = (path: string) => openDurableLow<Doc>(path, { items: [] }, (b) => docSchema.parse(b), opts);

describe('DurableJsonAdapter under lowdb', () => {
  it('starts from the default data, then reads back what Low wrote, in the checksummed envelope', async () => {
    const path = await freshPath();
    const { db, adapter } = await open(path);
    expect(adapter.recovery).toEqual({ source: 'none', problems: [] });
    await db.update((d) => {
      d.items.push(1);
    });
    await db.update((d) => {
      d.items.push(2);
    });
    const doc = JSON.parse(await readFile(path, 'utf8'));
    expect(doc.seq).toBe(2);
    const sum = createHash('sha256')
      .update(JSON.stringify({ format: doc.format, seq: doc.seq, body: doc.body }))
      .digest('hex');
    expect(doc.checksum).toBe(sum);
    await adapter.close();
    const again = await open(path);
    expect(again.db.data).toEqual({ items: [1, 2] });
    expect(again.adapter.recovery.source).toBe('main');
    await again.adapter.close();
  });

  it('runs concurrent writes one at a time, each a snapshot of the data when called', async () => {
    const path = await freshPath();
    const { db, adapter } = await open(path);
    const writes: Promise<void>[] = [];
    for (let i = 1; i <= 5; i++) {
      db.data.items.push(i);
      writes.push(db.write());
    }
    db.data.items.push(99); // never written: no write was called after it
    await Promise.all(writes);
    const main = JSON.parse(await readFile(path, 'utf8'));
    const backup = JSON.parse(await readFile(`${path}.bak`, 'utf8'));
    expect([main.seq, main.body.items]).toEqual([5, [1, 2, 3, 4, 5]]);
    expect([backup.seq, backup.body.items]).toEqual([4, [1, 2, 3, 4]]);
    expect(existsSync(`${path}.tmp`)).toBe(false);
    await adapter.close();
  });

  it('falls back to the backup when the main file is torn, and refuses when both are bad', async () => {
    const path = await freshPath();
    const { db, adapter } = await open(path);
    await db.update((d) => {
      d.items.push(1);
    });
    await db.update((d) => {
      d.items.push(2);
    });
    await adapter.close();
    await truncate(path, 20);
    const again = await open(path);
    expect(again.db.data).toEqual({ items: [1] });
    expect(again.adapter.recovery).toEqual({ source: 'backup', problems: ['main: not JSON (20 characters; torn?)'] });
    await again.adapter.close();
    await truncate(`${path}.bak`, 5);
    await expect(open(path)).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    // The failed open freed the path.
    expect(() => new DurableJsonAdapter(path, (b) => b, opts)).not.toThrow();
  });

  it('allows one adapter (one Low) per file per process, and refuses a write before the read', async () => {
    const path = await freshPath();
    const first = new DurableJsonAdapter<Doc>(path, (b) => docSchema.parse(b), opts);
    expect(() => new DurableJsonAdapter(path, (b) => b, opts)).toThrow(/already open/);
    await expect(first.write({ items: [1] })).rejects.toThrow(/write before read/);
    await first.close();
    await expect(first.read()).rejects.toThrow(/closed/);
    const { adapter } = await open(path);
    await adapter.close();
  });
});

describe('KioskStateStore on lowdb', () => {
  it('keeps the state across a reopen and holds its file until closed', async () => {
    const path = await freshPath('kiosk-state.json');
    const { store, loaded } = await KioskStateStore.open(path, initialKioskState());
    expect(loaded.source).toBe('none');
    await Promise.all([store.update((s) => ({ ...s, voidLater: ['t1'] })), store.update((s) => ({ ...s, lastUplinkAtMs: 5 }))]);
    await expect(KioskStateStore.open(path, initialKioskState())).rejects.toThrow(/already open/);
    await store.close();
    const again = await KioskStateStore.open(path, initialKioskState());
    expect(again.loaded.source).toBe('main');
    expect(again.store.state.voidLater).toEqual(['t1']);
    expect(again.store.state.lastUplinkAtMs).toBe(5);
    await again.store.close();
  });
});
