// SPDX-License-Identifier: Apache-2.0
// The kiosk's data directory (outbox and state): it exists or can be made, this user may write
// there, it is on durable storage (mountOf: not tmpfs, ramfs, overlay or zram), there is free
// space, and a test file can be written, fsync'd, read back and removed.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, open, readFile, rm, stat, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CheckResult, DoctorCheck } from './check.ts';
import { mountOf, volatileDataDirMessage, VOLATILE_DATA_DIR_FIX } from './mounts.ts';

/** Below this the outbox may fail to write: fail. Below WARN: warn (logs and updates need room too). */
export const FREE_BYTES_FAIL = 16 * 1024 * 1024;
export const FREE_BYTES_WARN = 256 * 1024 * 1024;

/** pass, warn or fail for this many free bytes. */
export function freeSpaceStatus(free: number): 'pass' | 'warn' | 'fail' {
  return free < FREE_BYTES_FAIL ? 'fail' : free < FREE_BYTES_WARN ? 'warn' : 'pass';
}

const MiB = (n: number) => `${Math.floor(n / (1024 * 1024))} MiB`;
const errText = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** The nearest ancestor of `path` that exists (the one `mkdir -p` would create under). */
async function nearestExisting(path: string): Promise<string> {
  let cur = path;
  for (;;) {
    try {
      await stat(cur);
      return cur;
    } catch {
      const parent = dirname(cur);
      if (parent === cur) return cur;
      cur = parent;
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Writes a small file, fsyncs it and the directory, reads it back and removes it. */
async function testWrite(dir: string): Promise<void> {
  const path = join(dir, `.kioskpay-doctor-${process.pid}-${randomBytes(4).toString('hex')}`);
  const body = randomBytes(4096);
  try {
    const f = await open(path, 'wx', 0o600);
    try {
      await f.writeFile(body);
      await f.sync();
    } finally {
      await f.close();
    }
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
    if (!(await readFile(path)).equals(body)) throw new Error('read back different bytes');
  } finally {
    await rm(path, { force: true });
  }
}

export const storageChecks: DoctorCheck = async (cfg, env) => {
  const dir = cfg.dataDir;
  const out: CheckResult[] = [];
  const user = process.getuid?.() ?? '?';
  let exists = false;
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) {
      out.push({
        id: 'storage.exists',
        title: `Data directory ${dir} is not a directory`,
        status: 'fail',
        fix: `move the file away, or set dataDir to a directory`,
      });
      return out;
    }
    exists = true;
    out.push({ id: 'storage.exists', title: `Data directory ${dir} exists`, status: 'pass' });
  } catch {
    const parent = await nearestExisting(dirname(dir));
    const canCreate = await access(parent, constants.W_OK | constants.X_OK).then(
      () => true,
      () => false,
    );
    out.push(
      canCreate
        ? {
            id: 'storage.exists',
            title: `Data directory ${dir} does not exist yet; the kiosk will create it`,
            status: 'pass',
            detail: `${parent} is writable by uid ${user}`,
          }
        : {
            id: 'storage.exists',
            title: `Data directory ${dir} does not exist and cannot be created`,
            status: 'fail',
            detail: `${parent} is not writable by uid ${user}`,
            fix: `sudo install -d -o kioskpay -g kioskpay -m 0750 ${dir}`,
          },
    );
  }

  if (exists) {
    const writable = await access(dir, constants.W_OK | constants.X_OK).then(() => undefined, errText);
    out.push(
      writable === undefined
        ? { id: 'storage.writable', title: `Data directory is writable by uid ${user}`, status: 'pass' }
        : {
            id: 'storage.writable',
            title: `Data directory is not writable by uid ${user}`,
            status: 'fail',
            detail: writable,
            fix: `sudo chown -R kioskpay:kioskpay ${dir} (run the doctor as the kiosk's user: sudo -u kioskpay …)`,
          },
    );
  }

  try {
    const m = await mountOf(dir, env.root);
    out.push(
      m.volatile === undefined
        ? {
            id: 'storage.durable',
            title: `Data directory is on durable storage (${m.fsType})`,
            status: 'pass',
            detail: `${m.device} mounted at ${m.mountPoint}`,
          }
        : {
            id: 'storage.durable',
            title: `Data directory is on volatile storage (${m.fsType})`,
            status: cfg.allowVolatileDataDir ? 'warn' : 'fail',
            detail: volatileDataDirMessage(dir, m) + (cfg.allowVolatileDataDir ? ' (allowed by "allowVolatileDataDir": true)' : ''),
            fix: VOLATILE_DATA_DIR_FIX,
          },
    );
  } catch (e) {
    out.push({
      id: 'storage.durable',
      title: 'Cannot tell which file system holds the data directory',
      status: 'fail',
      detail: (e as Error).message,
      fix: 'check that /proc is mounted and readable',
    });
  }

  try {
    const s = await statfs(exists ? dir : await nearestExisting(dir));
    const free = s.bavail * s.bsize;
    const status = freeSpaceStatus(free);
    out.push({
      id: 'storage.free',
      title: `${MiB(free)} free for the data directory`,
      status,
      ...(status === 'pass'
        ? {}
        : {
            detail: `needs at least ${MiB(FREE_BYTES_FAIL)}, better ${MiB(FREE_BYTES_WARN)}`,
            fix: 'free space: sudo journalctl --vacuum-size=100M; sudo apt-get clean; remove old releases under /opt/kioskpay-kiosk',
          }),
    });
  } catch (e) {
    out.push({ id: 'storage.free', title: 'Cannot read the free space', status: 'warn', detail: errText(e) });
  }

  if (!exists) {
    out.push({ id: 'storage.write', title: 'Test write skipped: the data directory does not exist yet', status: 'skip' });
    return out;
  }
  try {
    await withTimeout(testWrite(dir), env.probeTimeoutMs, "the fsync'd test write");
    out.push({ id: 'storage.write', title: "A test file was written, fsync'd, read back and removed", status: 'pass' });
  } catch (e) {
    out.push({
      id: 'storage.write',
      title: "The fsync'd test write failed",
      status: 'fail',
      detail: (e as Error).message,
      fix: 'check the SD card or SSD (dmesg | grep -i -e mmc -e error); a card that cannot fsync loses payments',
    });
  }
  return out;
};
