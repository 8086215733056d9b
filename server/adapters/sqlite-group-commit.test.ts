// SPDX-License-Identifier: Apache-2.0
// WAL checkpoints run on the worker, not in a COMMIT of the store's connection, and the WAL starts
// over once it has grown past its bound, so it stays bounded under a steady stream of commits.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoreTx } from '../ports/store.ts';
import { eventually } from '../../shared/testing/wait.ts';
import { GroupCommit, StoreStoppedError, type Checkpointer } from './sqlite-group-commit.ts';
import { SqliteCheckpointer } from './sqlite-checkpointer.ts';
import { SqliteStore } from './sqlite-store.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kp-ckpt-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A database in WAL mode with one table, and its insert (units that write through the connection itself). */
function walTable(name: string) {
  const path = join(dir, name);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)');
  return { path, db, insert: db.prepare('INSERT INTO t (k, v) VALUES (?, ?)') };
}

/** A value of about three pages, so each unit writes a few frames. */
const value = (i: number) => `${i}:`.padEnd(6000, 'x');

describe('SqliteStore WAL checkpoints', () => {
  it('starts the WAL over again and again under back-to-back commits, and every committed unit is readable after a reopen', async () => {
    const path = join(dir, 'w.sqlite');
    const checkpoints = { everyMs: 0, restartFrames: 40, forceRestartFrames: 120 };
    const s = new SqliteStore({ path, checkpoints });
    // Each unit awaited before the next: no quiet moment, so only the forced restart can start the
    // WAL over. How many frames pass before it does depends on how fast the worker's checkpoints
    // report (one checkpoint's lag, longer on a loaded machine), so the test counts restarts rather
    // than bytes: the WAL that restarts again and again is the bounded one. The cap only fails a
    // mechanism that never restarts (about 40 units a restart when it works).
    const restarts = () => s.checkpointStats().restarts;
    let units = 0;
    while (restarts() < 3 && units < 3_000) {
      await s.unit((tx) => tx.setMeta(`k${units}`, value(units)));
      units++;
    }
    expect(restarts(), `forced WAL restarts within ${units} back-to-back units`).toBeGreaterThanOrEqual(3);
    // SQLite counts each start-over in the WAL header (bytes 12-15, the checkpoint sequence).
    const header = readFileSync(`${path}-wal`).subarray(0, 32);
    expect(header.readUInt32BE(12), "the WAL header's checkpoint sequence").toBeGreaterThanOrEqual(2);
    await s.close();
    const db = new Database(path, { readonly: true });
    const rows = db.prepare(`SELECT COUNT(*) FROM meta WHERE key LIKE 'k%'`).pluck().get();
    expect(rows).toBe(units);
    expect(
      db
        .prepare(`SELECT value FROM meta WHERE key = ?`)
        .pluck()
        .get(`k${units - 1}`),
    ).toBe(value(units - 1));
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('lets a process that awaits close() of a file store run to its end and exit: the checkpoint worker neither keeps it alive nor lets it stop early', async () => {
    const path = join(dir, 'c.sqlite');
    const script = `
      import { SqliteStore } from ${JSON.stringify(new URL('./sqlite-store.ts', import.meta.url).pathname)};
      const s = new SqliteStore({ path: ${JSON.stringify(path)} });
      for (let i = 0; i < 20; i++) await s.unit((tx) => tx.setMeta('k' + i, 'v'));
      await s.close();
      process.stdout.write('closed');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the child did not exit within 20 s')), 20_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    // Exit code 13 would mean the event loop ran empty while close() was still waiting.
    expect({ code, out }).toEqual({ code: 0, out: 'closed' });
  });

  it('starts the WAL over at a quiet moment once past its bound', async () => {
    const { path, db, insert } = walTable('q.sqlite');
    // The units here write through the connection itself; the store's statements are not needed.
    const commits = new GroupCommit({
      db,
      tx: {} as StoreTx,
      path,
      checkpoints: { everyMs: 0, restartFrames: 20, forceRestartFrames: 1_000_000 },
    });
    const burst = (from: number) =>
      Promise.all(Array.from({ length: 20 }, (_, i) => commits.unit(async () => void insert.run(from + i, value(i)))));
    await burst(0);
    // Nothing is queued now: the next background checkpoint sees the WAL past its bound and restarts it.
    await eventually(() => commits.checkpoints.restarts > 0, { what: 'a restarting checkpoint after going quiet' });
    expect(commits.checkpoints.restarts).toBe(1);
    const walBytes = statSync(`${path}-wal`).size;
    // The next burst writes the WAL from its start again: the file does not grow.
    await burst(100);
    expect(statSync(`${path}-wal`).size).toBeLessThanOrEqual(walBytes);
    await commits.close();
    expect(db.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBe(40);
    db.close();
  });

  it('restarts the WAL in two passes: units go on committing while the first copies the WAL, and the WAL starts over after the second', async () => {
    const { path, db, insert } = walTable('t.sqlite');
    // The second checkpoint (the first is the background one after the first burst) is held after
    // it has copied, as a slow disk would hold it: a restart in one pass holds every unit with it.
    const real = new SqliteCheckpointer(path);
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    let calls = 0;
    let copied!: () => void;
    const firstPassCopied = new Promise<void>((r) => {
      copied = r;
    });
    const held: Checkpointer = {
      checkpoint: async () => {
        const n = ++calls;
        const r = await real.checkpoint();
        if (n === 2) {
          copied();
          await released;
        }
        return r;
      },
      close: () => real.close(),
    };
    // One background checkpoint only (the next would be a minute later), so the restart's passes are
    // all that copy; past 20 frames the restart starts at the next unit, quiet moment or not.
    const commits = new GroupCommit({
      db,
      tx: {} as StoreTx,
      path,
      checkpoints: { everyMs: 60_000, restartFrames: 20, forceRestartFrames: 20 },
      checkpointer: held,
    });
    const burst = (from: number) =>
      Promise.all(Array.from({ length: 20 }, (_, i) => commits.unit(async () => void insert.run(from + i, value(i)))));
    try {
      await burst(0);
      await eventually(() => commits.checkpoints.run >= 1, { what: 'the background checkpoint after the first burst' });
      // One more unit starts the restart; the second burst is sent once its first pass has copied.
      const starter = commits.unit(async () => void insert.run(99, 'x'));
      await firstPassCopied;
      const whileCopying = await Promise.race([
        Promise.all([starter, burst(100)]).then(() => 'committed'),
        new Promise<string>((r) => setTimeout(() => r('held'), 5_000).unref()),
      ]);
      expect(calls, 'checkpoints started: the background one, and the restart').toBe(2);
      expect(whileCopying, 'units sent while the WAL is being copied for a restart').toBe('committed');
      expect(commits.checkpoints.restarts).toBe(0);
    } finally {
      release();
    }
    await eventually(() => commits.checkpoints.restarts > 0, { what: "the restart's second pass" });
    expect(commits.checkpoints.restarts).toBe(1);
    const walBytes = statSync(`${path}-wal`).size;
    await burst(200);
    expect(statSync(`${path}-wal`).size, 'the WAL after a restart is written from its start').toBeLessThanOrEqual(walBytes);
    await commits.close();
    expect(db.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBe(61);
    db.close();
  });

  it('stops at a failed WAL sync: that commit gets no answer, units run meanwhile are rolled back and refused, later ones are refused without running, and the owner is told once', async () => {
    const { path, db, insert } = walTable('f.sqlite');
    let syncs = 0;
    let fail!: () => void;
    const failing = new Promise<void>((r) => {
      fail = r;
    });
    const fatal: StoreStoppedError[] = [];
    const commits = new GroupCommit({
      db,
      tx: {} as StoreTx,
      path,
      // The second sync hangs until the test lets it fail, as a disk that reports EIO late would.
      datasync: async (wal) => {
        if (++syncs !== 2) return wal.datasync();
        await failing;
        throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      },
      onFatal: (e) => fatal.push(e),
    });
    await commits.unit(async () => void insert.run(1, 'durable'));
    let answered = false;
    void commits
      .unit(async () => void insert.run(2, 'fate unknown'))
      .then(
        () => (answered = true),
        () => (answered = true),
      );
    await eventually(() => syncs === 2, { what: 'the second commit syncing' });
    // Run while the failing sync is in flight, into the transaction that stays open meanwhile.
    const meanwhile = commits.unit(async () => void insert.run(3, 'run meanwhile'));
    await eventually(() => db.inTransaction, { what: 'the unit run while the sync is in flight' });
    fail();
    await expect(meanwhile).rejects.toBeInstanceOf(StoreStoppedError);
    let ran = false;
    await expect(
      commits.unit(async () => {
        ran = true;
      }),
    ).rejects.toThrow(/WAL sync failed .*EIO/);
    expect(ran, 'a unit after the failure runs').toBe(false);
    expect(answered, 'the commit whose sync failed was answered').toBe(false);
    expect(fatal).toHaveLength(1);
    await commits.close();
    expect(db.prepare('SELECT k FROM t ORDER BY k').pluck().all(), 'rows: the unit run meanwhile was rolled back').toEqual([1, 2]);
    db.close();
  });
});
