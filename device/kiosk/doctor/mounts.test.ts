// SPDX-License-Identifier: Apache-2.0
// mountOf against fake /proc/mounts tables (a Pi's, one with raspi-config's overlay root, escapes,
// stacked mounts, symlinks) and against this machine's real /dev/shm (a tmpfs).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mountOf, parseMounts, realLocation } from './mounts.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fake root whose proc/mounts is `table`, plus a real directory tree to resolve paths in. */
function fakeRoot(table: string): string {
  const root = mkdtempSync(join(tmpdir(), 'kp-mounts-'));
  dirs.push(root);
  mkdirSync(join(root, 'proc'));
  writeFileSync(join(root, 'proc', 'mounts'), table);
  return root;
}

const PI = `/dev/mmcblk0p2 / ext4 rw,noatime 0 0
devtmpfs /dev devtmpfs rw,relatime,size=3930000k 0 0
proc /proc proc rw,relatime 0 0
tmpfs /run tmpfs rw,nosuid,nodev,size=1600000k,mode=755 0 0
/dev/mmcblk0p1 /boot/firmware vfat rw,relatime 0 0
tmpfs /tmp tmpfs rw,nosuid,nodev,size=4000000k 0 0
`;

describe('mountOf', () => {
  it('finds the longest mount-point prefix, not a mere string prefix', async () => {
    const root = fakeRoot(PI + '/dev/sda1 /var/lib/kioskpay ext4 rw 0 0\n');
    expect(await mountOf('/var/lib/kioskpay/x', root)).toMatchObject({
      device: '/dev/sda1',
      mountPoint: '/var/lib/kioskpay',
      fsType: 'ext4',
      volatile: undefined,
    });
    // /var/lib/kioskpay2 is not under /var/lib/kioskpay
    expect(await mountOf('/var/lib/kioskpay2', root)).toMatchObject({ device: '/dev/mmcblk0p2', mountPoint: '/' });
    expect((await mountOf('/tmp/data', root)).volatile).toMatch(/tmpfs/);
    expect((await mountOf('/tmpdata', root)).volatile).toBeUndefined();
  });

  it("calls raspi-config's overlay root volatile", async () => {
    const root = fakeRoot(
      'overlayroot / overlay rw,relatime,lowerdir=/media/root-ro,upperdir=/media/root-rw/overlay,workdir=/media/root-rw/overlay-workdir 0 0\n' +
        '/dev/mmcblk0p1 /boot/firmware vfat ro,relatime 0 0\n',
    );
    const m = await mountOf('/var/lib/kioskpay', root);
    expect(m).toMatchObject({ fsType: 'overlay', mountPoint: '/' });
    expect(m.volatile).toMatch(/overlay/);
  });

  it('calls ramfs and a zram disk volatile', async () => {
    const root = fakeRoot(PI + 'none /srv/ram ramfs rw 0 0\n/dev/zram1 /srv/z ext4 rw 0 0\n');
    expect((await mountOf('/srv/ram/d', root)).volatile).toMatch(/ramfs/);
    expect((await mountOf('/srv/z/d', root)).volatile).toMatch(/zram/);
  });

  it('takes the last of two mounts on one point (the later hides the earlier)', async () => {
    const root = fakeRoot(PI + '/dev/sda1 /data ext4 rw 0 0\ntmpfs /data tmpfs rw 0 0\n');
    expect(await mountOf('/data/kiosk', root)).toMatchObject({ fsType: 'tmpfs' });
  });

  it('reads escaped mount points (\\040 is a space)', async () => {
    const table = PI + 'tmpfs /mnt/my\\040data tmpfs rw 0 0\n';
    expect(parseMounts(table).at(-1)?.mountPoint).toBe('/mnt/my data');
    expect(await mountOf('/mnt/my data/k', fakeRoot(table))).toMatchObject({ fsType: 'tmpfs' });
  });

  it('follows symlinks: a durable-looking path that points into tmpfs is volatile', async () => {
    const tree = mkdtempSync(join(tmpdir(), 'kp-tree-'));
    dirs.push(tree);
    mkdirSync(join(tree, 'ram'));
    symlinkSync(join(tree, 'ram'), join(tree, 'data'));
    const realTree = await realLocation(tree);
    const root = fakeRoot(PI + `tmpfs ${join(realTree, 'ram')} tmpfs rw 0 0\n`);
    // The data directory does not exist yet: its existing ancestor's real location counts.
    const m = await mountOf(join(tree, 'data', 'not', 'yet'), root);
    expect(m.realPath).toBe(join(realTree, 'ram', 'not', 'yet'));
    expect(m.fsType).toBe('tmpfs');
  });

  it('fails clearly without a mount table', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kp-noproc-'));
    dirs.push(root);
    await expect(mountOf('/var/lib/kioskpay', root)).rejects.toThrow(/proc\/mounts/);
  });

  const shmIsTmpfs = (() => {
    try {
      return parseMounts(readFileSync('/proc/mounts', 'utf8')).some((m) => m.mountPoint === '/dev/shm' && m.fsType === 'tmpfs');
    } catch {
      return false;
    }
  })();
  it.skipIf(!shmIsTmpfs)("sees this machine's /dev/shm as tmpfs through the real /proc/mounts", async () => {
    const d = mkdtempSync('/dev/shm/kp-mount-');
    dirs.push(d);
    expect(await mountOf(join(d, 'data'))).toMatchObject({ mountPoint: '/dev/shm', fsType: 'tmpfs' });
  });
});
