// SPDX-License-Identifier: Apache-2.0
// The store answers a unit only after it has fsynced the WAL, once per group of units.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const events: string[] = [];
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    open: async (...args: Parameters<typeof real.open>) => {
      const handle = await real.open(...args);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        await sync();
        events.push(`fsync ${String(args[0]).endsWith('-wal') ? 'wal' : 'other'}`);
      };
      return handle;
    },
  };
});

const { SqliteStore } = await import('./sqlite-store.ts');
let dir: string;
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  events.length = 0;
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
});
