// SPDX-License-Identifier: Apache-2.0
// The store answers a unit only after it has fsynced the WAL, once per group of units; units that
// arrive while an fsync is in flight run at once, and are answered after the next fsync.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const events: string[] = [];
/** While set, every fsync waits for it (the test plays a slow disk). */
let disk: Promise<void> | undefined;
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    open: async (...args: Parameters<typeof real.open>) => {
      const handle = await real.open(...args);
      // fsync or fdatasync: either makes the written data durable.
      for (const method of ['sync', 'datasync'] as const) {
        const sync = handle[method].bind(handle);
        handle[method] = async () => {
          if (disk) {
            events.push('fsync started');
            await disk;
          }
          await sync();
          events.push(`fsync ${String(args[0]).endsWith('-wal') ? 'wal' : 'other'}`);
        };
      }
      return handle;
    },
  };
});

/** Lets the event loop turn until `done()`, at most `turns` times. */
async function until(done: () => boolean, what: string, turns = 1000): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await new Promise((r) => setImmediate(r));
  if (!done()) throw new Error(`never happened: ${what}`);
}

const { SqliteStore } = await import('./sqlite-store.ts');
let dir: string;
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  events.length = 0;
  disk = undefined;
});

describe('SqliteStore durability', () => {
  it('fsyncs the WAL before resolving, once for a whole group', async () => {
    dir = mkdtempSync(join(tmpdir(), 'kp-dur-'));
    const s = new SqliteStore({ path: join(dir, 'd.sqlite') });
    await s.unit((tx) => tx.setMeta('a', '1'));
    events.length = 0;
    const units = [1, 2, 3].map((i) =>
      s
        .unit((tx) => tx.setMeta(`k${i}`, String(i)))
        .then(() => {
          events.push(`resolved ${i}`);
        }),
    );
    await Promise.all(units);
    expect(events[0]).toBe('fsync wal');
    expect(events.filter((e) => e.startsWith('fsync')).length).toBeLessThanOrEqual(2);
    expect(events.slice(-3)).toEqual(['resolved 1', 'resolved 2', 'resolved 3']);
    await s.close();
  });

  it('runs a unit while the previous commit is being fsynced, and answers it only after an fsync of its own commit', async () => {
    dir = mkdtempSync(join(tmpdir(), 'kp-dur-'));
    const s = new SqliteStore({ path: join(dir, 'd.sqlite') });
    await s.unit((tx) => tx.setMeta('a', '1'));
    events.length = 0;
    let release!: () => void;
    disk = new Promise<void>((r) => {
      release = r;
    });
    const first = s.unit((tx) => tx.setMeta('first', '1')).then(() => events.push('answered first'));
    await until(() => events.includes('fsync started'), 'the first commit reached its fsync');
    let ran = false;
    const second = s
      .unit(async (tx) => {
        ran = true;
        await tx.setMeta('second', (await tx.getMeta('first')) ?? 'missing');
      })
      .then(() => events.push('answered second'));
    await until(() => ran, 'the second unit ran while the first fsync was held');
    expect(events).toEqual(['fsync started']);
    disk = undefined;
    release();
    await Promise.all([first, second]);
    expect(events).toEqual(['fsync started', 'fsync wal', 'answered first', 'fsync wal', 'answered second']);
    expect(await s.unit((tx) => tx.getMeta('second'))).toBe('1');
    await s.close();
  });
});
