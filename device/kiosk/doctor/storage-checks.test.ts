// SPDX-License-Identifier: Apache-2.0
// The storage checks on real directories, with a fake /proc/mounts saying which file system holds
// them, and on this machine's real /dev/shm (tmpfs) through the real /proc/mounts.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseKioskConfig, type KioskConfig } from '../config.ts';
import type { CheckResult } from './check.ts';
import { parseMounts, realLocation } from './mounts.ts';
import { FREE_BYTES_FAIL, FREE_BYTES_WARN, freeSpaceStatus, storageChecks } from './storage-checks.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const temp = (base = tmpdir()) => {
  const d = mkdtempSync(join(base, 'kp-storage-'));
  dirs.push(d);
  return d;
};

function config(dataDir: string, extra: object = {}): Readonly<KioskConfig> {
  return parseKioskConfig({
    kioskId: 'k1',
    dataDir,
    mqtt: { url: 'mqtt://127.0.0.1:1', password: 'x' },
    issuerKeys: [{ keyId: 1, publicKey: 'A'.repeat(43) }],
    sim: true,
    ...extra,
  });
}

/** A fake root whose /proc/mounts puts `dir` on a file system of `fsType`. */
async function rootWith(dir: string, fsType: string): Promise<string> {
  const root = temp();
  mkdirSync(join(root, 'proc'));
  writeFileSync(
    join(root, 'proc', 'mounts'),
    `/dev/mmcblk0p2 / ext4 rw 0 0\n${fsType === 'ext4' ? '/dev/sda1' : fsType} ${await realLocation(dir)} ${fsType} rw 0 0\n`,
  );
  return root;
}

const byId = (rs: CheckResult[]) => Object.fromEntries(rs.map((r) => [r.id, r]));

describe('storageChecks', () => {
  it('passes a writable data directory on a disk file system and leaves no test file behind', async () => {
    const dir = temp();
    const r = byId(await storageChecks(config(dir), { root: await rootWith(dir, 'ext4'), probeTimeoutMs: 5_000 }));
    expect(r['storage.exists']?.status).toBe('pass');
    expect(r['storage.writable']?.status).toBe('pass');
    expect(r['storage.durable']).toMatchObject({ status: 'pass', detail: expect.stringContaining('/dev/sda1') });
    expect(r['storage.free']?.title).toMatch(/MiB free/);
    expect(r['storage.write']?.status).toBe('pass');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('fails tmpfs, ramfs and overlay with the fix, and only warns when allowVolatileDataDir is set', async () => {
    for (const fs of ['tmpfs', 'ramfs', 'overlay']) {
      const dir = temp();
      const root = await rootWith(dir, fs);
      const r = byId(await storageChecks(config(dir), { root, probeTimeoutMs: 5_000 }));
      expect(r['storage.durable']).toMatchObject({ status: 'fail', fix: expect.stringContaining('allowVolatileDataDir') });
      expect(r['storage.durable']?.detail).toContain(fs);
      const allowed = byId(await storageChecks(config(dir, { allowVolatileDataDir: true }), { root, probeTimeoutMs: 5_000 }));
      expect(allowed['storage.durable']?.status).toBe('warn');
    }
  });

  const shmIsTmpfs = (() => {
    try {
      return parseMounts(readFileSync('/proc/mounts', 'utf8')).some((m) => m.mountPoint === '/dev/shm' && m.fsType === 'tmpfs');
    } catch {
      return false;
    }
  })();
  it.skipIf(!shmIsTmpfs)("fails a data directory in this machine's real /dev/shm", async () => {
    const dir = temp('/dev/shm');
    const r = byId(await storageChecks(config(join(dir, 'kiosk')), { root: '/', probeTimeoutMs: 5_000 }));
    expect(r['storage.durable']).toMatchObject({ status: 'fail', title: expect.stringContaining('tmpfs') });
  });

  it('passes a data directory that does not exist yet but can be made, and skips the test write', async () => {
    const parent = temp();
    const r = byId(await storageChecks(config(join(parent, 'a', 'b')), { root: await rootWith(parent, 'ext4'), probeTimeoutMs: 5_000 }));
    expect(r['storage.exists']).toMatchObject({ status: 'pass', title: expect.stringContaining('does not exist yet') });
    expect(r['storage.write']?.status).toBe('skip');
    expect(r['storage.durable']?.status).toBe('pass');
  });

  it('fails a data directory that is a file', async () => {
    const parent = temp();
    writeFileSync(join(parent, 'data'), 'x');
    const r = await storageChecks(config(join(parent, 'data')), { root: await rootWith(parent, 'ext4'), probeTimeoutMs: 5_000 });
    expect(r).toEqual([expect.objectContaining({ id: 'storage.exists', status: 'fail' })]);
  });

  it.skipIf(process.getuid?.() === 0)('fails a data directory this user cannot write (not as root: root writes anywhere)', async () => {
    const dir = temp();
    const { chmodSync } = await import('node:fs');
    chmodSync(dir, 0o500);
    const r = byId(await storageChecks(config(dir), { root: await rootWith(dir, 'ext4'), probeTimeoutMs: 5_000 }));
    chmodSync(dir, 0o700);
    expect(r['storage.writable']?.status).toBe('fail');
    expect(r['storage.write']?.status).toBe('fail');
  });

  it('grades free space', () => {
    expect(freeSpaceStatus(FREE_BYTES_FAIL - 1)).toBe('fail');
    expect(freeSpaceStatus(FREE_BYTES_WARN - 1)).toBe('warn');
    expect(freeSpaceStatus(FREE_BYTES_WARN)).toBe('pass');
  });
});
