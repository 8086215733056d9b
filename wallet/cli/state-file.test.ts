// SPDX-License-Identifier: Apache-2.0
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testWalletState } from '../testing/fixtures.ts';
import { WalletStateFile, defaultStatePath, lockStateFile } from './state-file.ts';

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'kp-wallet-state-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

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
    await expect(new WalletStateFile(path).load()).rejects.toMatchObject({ code: 'STATE_CORRUPT', detail: { issue: expect.stringContaining('nextCounter') } });
  });

  it('refuses to write a state that would not load again', async () => {
    const file = new WalletStateFile(join(dir, 'wallet.json'));
    await expect(file.save({ ...testWalletState(), nextCounter: -1 })).rejects.toThrow();
    expect(await file.load()).toBeUndefined();
  });

  it('defaults to ~/.kioskpay/wallet.json', () => {
    expect(defaultStatePath('/home/ann')).toBe('/home/ann/.kioskpay/wallet.json');
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
