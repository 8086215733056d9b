// SPDX-License-Identifier: Apache-2.0
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STORE_QUEUE_DEFAULTS, StoreBusyError } from '../ports/store-busy.ts';
import { SqliteStore, STORED_PAYMENTS_SQL } from './sqlite-store.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kp-sqlite-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const account = (id: string, kind: 'issuance' | 'shopper' | 'merchant' = 'shopper') => ({
  id,
  kind,
  currency: 'JPY' as const,
  balance: 0,
  createdAt: 1,
});

describe('SqliteStore', () => {
  it('refuses a unit past its queue bound with a typed busy error, and runs the queued ones', async () => {
    const s = new SqliteStore({ path: ':memory:', queuedUnitsMax: 2 });
    await s.unit((tx) => tx.createAccount(account('a')));
    const ran: number[] = [];
    const unit = (n: number) =>
      s.unit(async (tx) => {
        ran.push(n);
        return (await tx.getAccount('a'))?.id;
      });
    // Ten in one tick: at most two wait (plus one a group may already have taken); the rest are refused.
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => unit(i)));
    const taken = results.filter((r) => r.status === 'fulfilled').length;
    expect(taken).toBeGreaterThanOrEqual(2);
    expect(taken).toBeLessThanOrEqual(3);
    // Taken in order, refused after; every refusal is the typed busy error with its wait.
    expect(results.map((r) => r.status)).toEqual(results.map((_, i) => (i < taken ? 'fulfilled' : 'rejected')));
    for (const r of results.slice(taken)) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StoreBusyError);
      expect((r as PromiseRejectedResult).reason).toMatchObject({
        code: 'RATE_LIMITED',
        details: { retryAfterMs: STORE_QUEUE_DEFAULTS.busyRetryAfterMs },
      });
    }
    expect(ran).toEqual(Array.from({ length: taken }, (_, i) => i));
    // Once the queue drained, units are taken again.
    expect(await unit(99)).toBe('a');
    await s.close();
  });

  it('keeps committed units across a reopen, in WAL mode', async () => {
    const path = join(dir, 'l.sqlite');
    const s1 = new SqliteStore({ path });
    await s1.unit(async (tx) => {
      await tx.createAccount(account('a'));
      await tx.createAccount(account('b'));
    });
    await s1.unit((tx) =>
      tx.transfer({ paymentId: null, debitAccount: 'a', creditAccount: 'b', amount: 5, currency: 'JPY', kind: 'topup', at: 1 }),
    );
    await s1.close();
    const s2 = new SqliteStore({ path });
    expect(await s2.unit(async (tx) => [(await tx.getAccount('a'))?.balance, (await tx.getAccount('b'))?.balance])).toEqual([-5, 5]);
    await s2.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('rolls back a failing unit alone, even when committed in the same group', async () => {
    const s = new SqliteStore({ path: ':memory:' });
    await s.unit(async (tx) => {
      await tx.createAccount(account('a'));
      await tx.createAccount(account('b'));
    });
    const move = (amount: number) =>
      s.unit((tx) =>
        tx.transfer({ paymentId: null, debitAccount: 'a', creditAccount: 'b', amount, currency: 'JPY', kind: 'topup', at: 1 }),
      );
    const failing = s.unit(async (tx) => {
      await tx.transfer({ paymentId: null, debitAccount: 'a', creditAccount: 'b', amount: 100, currency: 'JPY', kind: 'topup', at: 1 });
      throw new Error('boom');
    });
    const results = await Promise.allSettled([move(1), failing, move(2), move(-1)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    expect(await s.unit(async (tx) => (await tx.getAccount('b'))?.balance)).toBe(3);
    expect(await s.unit((tx) => tx.balanceTotals())).toEqual(new Map([['JPY', 0]]));
    await s.close();
  });

  it('refuses a transfer to a missing account or in another currency', async () => {
    const s = new SqliteStore({ path: ':memory:' });
    await s.unit((tx) => tx.createAccount(account('a')));
    await expect(
      s.unit((tx) =>
        tx.transfer({ paymentId: null, debitAccount: 'a', creditAccount: 'zz', amount: 1, currency: 'JPY', kind: 'topup', at: 1 }),
      ),
    ).rejects.toThrow(/no JPY account zz/);
    await expect(
      s.unit((tx) =>
        tx.transfer({ paymentId: null, debitAccount: 'a', creditAccount: 'a', amount: 1, currency: 'USD', kind: 'topup', at: 1 }),
      ),
    ).rejects.toThrow(/no USD account/);
    await s.close();
  });

  it.each([
    ['1', `DROP TABLE payment_lines; DROP TABLE ops_actions; DROP INDEX payments_at; DROP TABLE help_handled`],
    ['2', `DROP TABLE help_handled`],
    ['3', `DROP INDEX online_codes_wallet; CREATE INDEX online_codes_active ON online_codes(wallet_id, expires_at) WHERE used_by IS NULL`],
    ['4', `DROP INDEX payments_offline_created`],
  ])('upgrades a version-%s database in place to version 5, keeping its rows, and refuses an unknown version', async (version, lacks) => {
    const path = join(dir, 'ledger.sqlite');
    const s1 = new SqliteStore({ path });
    await s1.unit((tx) => tx.createAccount(account('a')));
    await s1.close();
    // What an older database lacks.
    const raw = new Database(path);
    raw.exec(`${lacks}; UPDATE meta SET value = '${version}' WHERE key = 'schema_version'`);
    raw.close();
    const s2 = new SqliteStore({ path });
    expect(await s2.unit((tx) => tx.getMeta('schema_version'))).toBe('5');
    expect((await s2.unit((tx) => tx.getAccount('a')))?.id).toBe('a');
    expect(await s2.unit((tx) => tx.getOpsActionByKey('k'))).toBeUndefined();
    expect(await s2.unit((tx) => tx.listHelpHandled({ fromMs: 0, toMs: 1 }, 1))).toEqual([]);
    await s2.unit((tx) => tx.setMeta('schema_version', '99'));
    await s2.close();
    expect(() => new SqliteStore({ path })).toThrow(/schema version 99 is not 5/);
    const raw2 = new Database(path, { readonly: true });
    const indexes = raw2
      .prepare(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'online_codes' AND sql IS NOT NULL`)
      .pluck()
      .all();
    // The operators' list of stored payments walks the offline payments' index, not every payment.
    const plan = raw2
      .prepare(`EXPLAIN QUERY PLAN ${STORED_PAYMENTS_SQL}`)
      .all(0, 0, 10)
      .map((r) => (r as { detail: string }).detail);
    raw2.close();
    expect(indexes).toEqual(['online_codes_wallet']);
    expect(plan.join('; ')).toMatch(/USING INDEX payments_offline_created/);
  });

  it('writes no index page when a payment uses an online code, and still counts the unused codes of a wallet', async () => {
    const path = join(dir, 'ledger.sqlite');
    // No checkpoint: every page a commit writes stays in the WAL, to be read back below.
    const s = new SqliteStore({ path, checkpoints: { everyMs: 1e9, restartFrames: 1e9, forceRestartFrames: 2e9 } });
    const hash = (i: number) => `h${String(i).padStart(60, '0')}`;
    for (let batch = 0; batch < 10; batch++)
      await s.unit(async (tx) => {
        for (let i = batch * 100; i < batch * 100 + 100; i++)
          await tx.insertOnlineCode({ codeHash: hash(i), walletId: `w${i % 7}`, issuedAt: i, expiresAt: 10_000 + i, usedBy: null });
      });
    const walBefore = statSync(`${path}-wal`).size;
    await s.unit((tx) => tx.markOnlineCodeUsed(hash(500), 'pay_1'));
    const wal = readFileSync(`${path}-wal`);
    expect(await s.unit((tx) => tx.countActiveOnlineCodes('w3', 10_000))).toBe(142);
    expect(await s.unit((tx) => tx.countActiveOnlineCodes('w3', 10_990))).toBe(2);
    await s.close();
    // WAL frames: a 32-byte header, then each page behind a 24-byte frame header that starts with its page number.
    const frame = 24 + 2048;
    const pages = new Set<number>();
    for (let at = walBefore; at + frame <= wal.length; at += frame) pages.add(wal.readUInt32BE(at));
    const raw = new Database(path, { readonly: true });
    const owners = raw
      .prepare(`SELECT DISTINCT name FROM dbstat WHERE pageno IN (${[...pages].join(',')})`)
      .pluck()
      .all();
    raw.close();
    expect(owners).toEqual(['online_codes']);
  });

  it('claims an offline use only once', async () => {
    const s = new SqliteStore({ path: ':memory:' });
    expect(await s.unit((tx) => tx.claimOfflineUse('c', 'qr', 7, 'p1'))).toBe(true);
    expect(await s.unit((tx) => tx.claimOfflineUse('c', 'qr', 7, 'p2'))).toBe(false);
    expect(await s.unit((tx) => tx.claimOfflineUse('c', 'numeric', 7, 'p3'))).toBe(true);
    expect(await s.unit((tx) => tx.getOfflineUse('c', 'qr', 7))).toBe('p1');
    await s.close();
  });

  it('creates a new database with 2 KiB pages, and opens one made with 4 KiB pages as it is', async () => {
    const fresh = new SqliteStore({ path: join(dir, 'new.sqlite') });
    await fresh.unit((tx) => tx.createAccount(account('a')));
    await fresh.close();
    const old = new Database(join(dir, 'old.sqlite'));
    old.pragma('page_size = 4096');
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE earlier (x INTEGER)');
    old.close();
    const reopened = new SqliteStore({ path: join(dir, 'old.sqlite') });
    await reopened.unit((tx) => tx.createAccount(account('b')));
    expect(await reopened.unit(async (tx) => (await tx.getAccount('b'))?.id)).toBe('b');
    await reopened.close();
    const pageSize = (file: string) => {
      const db = new Database(join(dir, file), { readonly: true });
      const size = db.pragma('page_size', { simple: true });
      db.close();
      return size;
    };
    expect([pageSize('new.sqlite'), pageSize('old.sqlite')]).toEqual([2048, 4096]);
  });

  it('survives SIGKILL in the middle of a stream of transfers with every balance consistent', async () => {
    const path = join(dir, 'crash.sqlite');
    const script = `
      import { SqliteStore } from ${JSON.stringify(new URL('./sqlite-store.ts', import.meta.url).pathname)};
      const s = new SqliteStore({ path: ${JSON.stringify(path)} });
      await s.unit(async (tx) => { await tx.createAccount({ id: 'a', kind: 'issuance', currency: 'JPY', balance: 0, createdAt: 1 });
                                   await tx.createAccount({ id: 'b', kind: 'shopper', currency: 'JPY', balance: 0, createdAt: 1 }); });
      let n = 0;
      for (;;) {
        const batch = [];
        for (let i = 0; i < 20; i++) batch.push(s.unit((tx) => tx.transfer({ paymentId: 'p' + (++n), debitAccount: 'a', creditAccount: 'b', amount: 3, currency: 'JPY', kind: 'topup', at: n })));
        await Promise.all(batch);
        if (n === 200) process.stdout.write('ready\\n');
      }`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('child never got ready')), 20_000);
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const s = new SqliteStore({ path });
    const [a, b] = await s.unit(async (tx) => [(await tx.getAccount('a'))!.balance, (await tx.getAccount('b'))!.balance]);
    expect(a! + b!).toBe(0);
    expect(b! % 3).toBe(0);
    expect(b!).toBeGreaterThanOrEqual(600);
    await s.close();
    const db = new Database(path);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.prepare('SELECT COUNT(*) * 3 FROM transfers').pluck().get()).toBe(b);
    db.close();
  });
});
