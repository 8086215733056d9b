// SPDX-License-Identifier: Apache-2.0
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testWalletState } from '../testing/fixtures.ts';
import { WalletStateFile, defaultStatePlace, legacyStatePath, lockStateFile, resolveStatePath } from './state-file.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kp-wallet-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('WalletStateFile', () => {
  it('round-trips the state through a 0600 file in a 0700 directory and leaves no temp files', async () => {
    const path = join(dir, 'nested', 'wallet.json');
    const file = new WalletStateFile(path);
    expect(await file.load()).toBeUndefined();
    const s = testWalletState();
    await file.save(s);
    await file.save({ ...s, nextCounter: 7 });
    expect(await file.load()).toEqual({ ...s, nextCounter: 7 });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'nested'))).mode & 0o777).toBe(0o700);
    expect(await readdir(join(dir, 'nested'))).toEqual(['wallet.json']);
  });

  it('refuses a file that is not JSON or not a wallet state, and never overwrites it by loading', async () => {
    const path = join(dir, 'wallet.json');
    await writeFile(path, '{"version":1');
    await expect(new WalletStateFile(path).load()).rejects.toMatchObject({ code: 'STATE_CORRUPT' });
    await writeFile(path, JSON.stringify({ version: 1, serverUrl: 'http://x', nextCounter: 0, pending: [] }));
    await expect(new WalletStateFile(path).load()).rejects.toMatchObject({
      code: 'STATE_CORRUPT',
      detail: { issue: expect.stringContaining('nextCounter') },
    });
  });

  it('refuses to write a state that would not load again', async () => {
    const file = new WalletStateFile(join(dir, 'wallet.json'));
    await expect(file.save({ ...testWalletState(), nextCounter: -1 })).rejects.toThrow();
    expect(await file.load()).toBeUndefined();
  });

  it("defaults to the platform's data directory: XDG_DATA_HOME on Linux, Application Support on macOS, LOCALAPPDATA on Windows", () => {
    const at = (platform: NodeJS.Platform, env: Record<string, string | undefined>, home = '/home/ann') =>
      defaultStatePlace({ home, env, platform }).path;
    expect(at('linux', {})).toBe('/home/ann/.local/share/kioskpay/wallet.json');
    expect(at('linux', { XDG_DATA_HOME: '/data/ann' })).toBe('/data/ann/kioskpay/wallet.json');
    expect(at('linux', { XDG_DATA_HOME: 'relative/dir' })).toBe('/home/ann/.local/share/kioskpay/wallet.json'); // the spec says: ignore it
    expect(at('linux', { XDG_DATA_HOME: '' })).toBe('/home/ann/.local/share/kioskpay/wallet.json');
    expect(at('freebsd', { XDG_DATA_HOME: '/x' })).toBe('/x/kioskpay/wallet.json');
    expect(at('darwin', { XDG_DATA_HOME: '/x' }, '/Users/ann')).toBe('/Users/ann/Library/Application Support/kioskpay/wallet.json');
    expect(at('win32', { LOCALAPPDATA: 'C:/Users/ann/AppData/Local' }, 'C:/Users/ann')).toMatch(
      /^C:\/Users\/ann\/AppData\/Local[\\/]kioskpay[\\/]wallet\.json$/,
    );
    expect(defaultStatePlace({ home: '/home/ann', env: {}, platform: 'linux' }).rule).toContain('$XDG_DATA_HOME/kioskpay/wallet.json');
  });

  it('keeps using the old ~/.kioskpay/wallet.json when only it exists, so an upgrade loses no keys; --state wins', () => {
    const o = { home: '/home/ann', env: {}, platform: 'linux' as const };
    const legacy = legacyStatePath('/home/ann');
    const fresh = '/home/ann/.local/share/kioskpay/wallet.json';
    expect(legacy).toBe('/home/ann/.kioskpay/wallet.json');
    expect(resolveStatePath({ ...o, flag: undefined, exists: () => false })).toEqual({
      path: fresh,
      source: 'default',
      defaultPath: fresh,
    });
    expect(resolveStatePath({ ...o, flag: undefined, exists: (p) => p === legacy })).toEqual({
      path: legacy,
      source: 'legacy',
      defaultPath: fresh,
    });
    expect(resolveStatePath({ ...o, flag: undefined, exists: () => true })).toEqual({ path: fresh, source: 'default', defaultPath: fresh });
    expect(resolveStatePath({ ...o, flag: '/tmp/w.json', exists: () => true })).toEqual({
      path: '/tmp/w.json',
      source: 'flag',
      defaultPath: fresh,
    });
  });
});

describe('lockStateFile', () => {
  it('lets one holder in at a time and fails with STATE_LOCKED after the wait', async () => {
    const path = join(dir, 'wallet.json');
    const release = await lockStateFile(path);
    await expect(lockStateFile(path, { waitMs: 50 })).rejects.toMatchObject({ code: 'STATE_LOCKED', detail: { holderPid: process.pid } });
    await release();
    const again = await lockStateFile(path, { waitMs: 50 });
    await again();
  });

  it('takes over a lock left by a process that died', async () => {
    const path = join(dir, 'wallet.json');
    // A pid that is certainly gone: a child that has already exited.
    const child = spawnSync(process.execPath, ['-e', 'process.exit(0)']);
    await writeFile(`${path}.lock`, `${child.pid}\n`);
    const release = await lockStateFile(path, { waitMs: 50 });
    await release();
    expect(await readdir(dir)).toEqual([]);
  });
});
