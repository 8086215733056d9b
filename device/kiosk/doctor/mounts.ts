// SPDX-License-Identifier: Apache-2.0
// Which file system holds a path, from /proc/mounts: the mount whose mount point is the longest
// prefix of the path's real location (the last such line wins: a later mount hides an earlier one
// on the same point). The kiosk refuses a data directory on a volatile one (run.ts), and the doctor
// reports it (storage-checks.ts): both call mountOf here.
import { readFile, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

export interface MountEntry {
  readonly device: string;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly options: string;
}

export interface PathMount extends MountEntry {
  /** The path's real location (symlinks resolved; missing tail components kept as written). */
  readonly realPath: string;
  /** Why what is written there is gone after a reboot or power cut; undefined when durable. */
  readonly volatile: string | undefined;
}

/** File systems whose contents live in RAM (overlay: raspi-config's overlay file system, whose upper layer is tmpfs). */
const VOLATILE_TYPES: Readonly<Record<string, string>> = {
  tmpfs: 'tmpfs keeps files in RAM',
  ramfs: 'ramfs keeps files in RAM',
  overlay: "an overlay file system (raspi-config's read-only overlay) keeps every write in RAM",
  devtmpfs: 'devtmpfs keeps files in RAM',
};

/** /proc/mounts escapes space, tab, newline and backslash in fields as \040, \011, \012, \134. */
function unescapeField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    out.push({ device: unescapeField(f[0]!), mountPoint: unescapeField(f[1]!), fsType: f[2]!, options: f[3]! });
  }
  return out;
}

function covers(mountPoint: string, path: string): boolean {
  if (mountPoint === '/') return true;
  const m = mountPoint.endsWith('/') ? mountPoint.slice(0, -1) : mountPoint;
  return path === m || path.startsWith(m + '/');
}

/** The real location of `path`, resolving symlinks in the part that exists. */
export async function realLocation(path: string): Promise<string> {
  const abs = resolve(path);
  const tail: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return join(await realpath(cur), ...tail.reverse());
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e;
      const parent = dirname(cur);
      if (parent === cur) return abs;
      tail.push(basename(cur));
      cur = parent;
    }
  }
}

export function volatileReason(m: MountEntry): string | undefined {
  const byType = VOLATILE_TYPES[m.fsType];
  if (byType) return byType;
  // A compressed RAM disk (zram) formatted with a disk file system is still RAM.
  if (/^\/dev\/zram\d+$/.test(m.device)) return `${m.device} is a compressed RAM disk (zram)`;
  return undefined;
}

/**
 * The mount holding `path`, read from `<root>/proc/mounts` (root '/' on a Pi; tests give a fake
 * tree). Throws when the mount table cannot be read or has no mount covering the path.
 */
export async function mountOf(path: string, root = '/'): Promise<PathMount> {
  const realPath = await realLocation(path);
  const table = parseMounts(await readFile(join(root, 'proc/mounts'), 'utf8'));
  let best: MountEntry | undefined;
  for (const m of table) {
    if (covers(m.mountPoint, realPath) && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  if (!best) throw new Error(`no mount in ${join(root, 'proc/mounts')} holds ${realPath}`);
  return { ...best, realPath, volatile: volatileReason(best) };
}

/** What the kiosk and the doctor say about a data directory on a volatile file system. */
export function volatileDataDirMessage(dataDir: string, m: PathMount): string {
  return (
    `the data directory ${dataDir} (${m.realPath}) is on ${m.fsType} ${m.device} at ${m.mountPoint}: ${m.volatile}; ` +
    'payments stored there would be lost at the next reboot or power cut'
  );
}

export const VOLATILE_DATA_DIR_FIX =
  "put dataDir on the SD card or SSD (e.g. /var/lib/kioskpay); if raspi-config's overlay file system is on, " +
  'turn it off (sudo raspi-config nonint do_overlayfs 1, then reboot); to run anyway (tests, demos): --allow-volatile-data-dir or "allowVolatileDataDir": true';
