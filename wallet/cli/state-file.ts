// SPDX-License-Identifier: Apache-2.0
// The CLI's WalletStateStore: one JSON file, mode 0600 in a 0700 directory, because it holds the
// wallet's private key and token. Its default place follows the platform's convention for user data
// (statePaths): $XDG_DATA_HOME/kioskpay/wallet.json on Linux (~/.local/share/kioskpay when unset).
//
// save() is atomic and durable: write a temp file, fsync it, rename it over the old file, fsync the
// directory. After a crash the file is either the old state or the new one, never a mix; and once
// save() resolves, the new state (with its advanced offline counter) survives power loss.
//
// Two CLI processes on one state file could hand out the same offline counter, so commands hold a
// lock file (`<state>.lock`, created exclusively, holding the owner's pid) around load..save.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { WalletError } from '../core/wallet-errors.ts';
import { walletStateSchema, type WalletState, type WalletStateStore } from '../core/wallet-state.ts';

/** A state file larger than this is refused as corrupt; a real one is a few kilobytes. */
export const STATE_FILE_BYTES_MAX = 1024 * 1024;
/** How long a command waits for another process's lock before failing with STATE_LOCKED. */
export const STATE_LOCK_WAIT_MS_DEFAULT = 3_000;
const STATE_LOCK_POLL_MS = 25;
/** A lock file that is empty (its owner died between create and write) this long is stale. */
const STATE_LOCK_EMPTY_STALE_MS = 10_000;

/** Where the platform keeps a user's application data, and what names it. */
export interface StatePlace {
  /** The default state file. */
  path: string;
  /** How the default is derived, for help texts: "$XDG_DATA_HOME/kioskpay/wallet.json". */
  rule: string;
}

/**
 * The default state file for this platform: Linux and other Unix systems $XDG_DATA_HOME (an
 * absolute path; a relative one is ignored, as the XDG Base Directory specification says) or
 * ~/.local/share; macOS ~/Library/Application Support; Windows %LOCALAPPDATA% (the key must not roam).
 */
export function defaultStatePlace(o: { home: string; env: Record<string, string | undefined>; platform: NodeJS.Platform }): StatePlace {
  if (o.platform === 'win32') {
    const base = o.env['LOCALAPPDATA'] || join(o.home, 'AppData', 'Local');
    return { path: join(base, 'kioskpay', 'wallet.json'), rule: '%LOCALAPPDATA%\\kioskpay\\wallet.json' };
  }
  if (o.platform === 'darwin')
    return {
      path: join(o.home, 'Library', 'Application Support', 'kioskpay', 'wallet.json'),
      rule: '~/Library/Application Support/kioskpay/wallet.json',
    };
  const xdg = o.env['XDG_DATA_HOME'];
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(o.home, '.local', 'share');
  return {
    path: join(base, 'kioskpay', 'wallet.json'),
    rule: '$XDG_DATA_HOME/kioskpay/wallet.json, ~/.local/share/kioskpay/wallet.json when unset',
  };
}

/** Where versions before this one kept the state: a dot directory in the home folder. */
export function legacyStatePath(home: string): string {
  return join(home, '.kioskpay', 'wallet.json');
}

/**
 * The state file a run uses: --state when given; else the platform's default, unless only the old
 * default (~/.kioskpay/wallet.json) exists, which then stays in use (`legacy` set) so that no wallet
 * loses its keys and counters to an upgrade.
 */
export function resolveStatePath(o: {
  flag: string | undefined;
  home: string;
  env: Record<string, string | undefined>;
  platform: NodeJS.Platform;
  exists?: (p: string) => boolean;
}): { path: string; source: 'flag' | 'default' | 'legacy'; defaultPath: string } {
  const defaultPath = defaultStatePlace(o).path;
  if (o.flag !== undefined) return { path: o.flag, source: 'flag', defaultPath };
  const exists = o.exists ?? existsSync;
  const legacy = legacyStatePath(o.home);
  if (!exists(defaultPath) && exists(legacy)) return { path: legacy, source: 'legacy', defaultPath };
  return { path: defaultPath, source: 'default', defaultPath };
}

export class WalletStateFile implements WalletStateStore {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async load(): Promise<WalletState | undefined> {
    let text: string;
    try {
      const info = await stat(this.path);
      if (info.size > STATE_FILE_BYTES_MAX) throw corrupt(this.path, `larger than ${STATE_FILE_BYTES_MAX} bytes`);
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      if (e instanceof WalletError) throw e;
      throw corrupt(this.path, errnoText(e));
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw corrupt(this.path, 'not JSON');
    }
    const parsed = walletStateSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw corrupt(this.path, issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'does not match the schema');
    }
    return parsed.data;
  }

  async save(state: WalletState): Promise<void> {
    // Writing a state we could not read back would brick the wallet: that is a bug, so it throws.
    const checked = walletStateSchema.parse(state);
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const fh = await open(temp, 'wx', 0o600);
      try {
        await fh.writeFile(JSON.stringify(checked, null, 2) + '\n', 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(temp, this.path);
    } catch (e) {
      await unlink(temp).catch(() => {});
      throw e;
    }
    await syncDirectory(dir);
  }
}

/** Makes a rename in `dir` durable. Platforms that cannot open a directory (Windows) skip it. */
async function syncDirectory(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
  } catch (e) {
    if (isErrno(e, 'EISDIR') || isErrno(e, 'EPERM') || isErrno(e, 'EACCES')) return;
    throw e;
  }
  try {
    await fh.sync();
  } catch (e) {
    if (!isErrno(e, 'EINVAL') && !isErrno(e, 'EBADF')) throw e;
  } finally {
    await fh.close();
  }
}

export interface StateLockOptions {
  waitMs?: number;
}

/**
 * Takes the lock for a state file and returns its release function. A lock left by a dead process
 * is taken over. Fails with WalletError STATE_LOCKED after `waitMs`.
 */
export async function lockStateFile(path: string, options: StateLockOptions = {}): Promise<() => Promise<void>> {
  const lockPath = `${path}.lock`;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + (options.waitMs ?? STATE_LOCK_WAIT_MS_DEFAULT);
  for (;;) {
    try {
      const fh = await open(lockPath, 'wx', 0o600);
      try {
        await fh.writeFile(`${process.pid}\n`, 'utf8');
      } finally {
        await fh.close();
      }
      return async () => {
        await unlink(lockPath).catch(() => {});
      };
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e;
    }
    const holder = await lockHolder(lockPath);
    if (holder.stale) {
      await unlink(lockPath).catch(() => {});
      continue;
    }
    if (Date.now() >= deadline) {
      throw new WalletError(
        'STATE_LOCKED',
        { path, ...(holder.pid === undefined ? {} : { holderPid: holder.pid }) },
        `the wallet state ${path} is in use by another process${holder.pid === undefined ? '' : ` (pid ${holder.pid})`}`,
      );
    }
    await new Promise((r) => setTimeout(r, STATE_LOCK_POLL_MS));
  }
}

async function lockHolder(lockPath: string): Promise<{ stale: boolean; pid?: number }> {
  let text: string;
  let ageMs: number;
  try {
    text = await readFile(lockPath, 'utf8');
    ageMs = Date.now() - (await stat(lockPath)).mtimeMs;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return { stale: false };
    throw e;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return { stale: ageMs > STATE_LOCK_EMPTY_STALE_MS };
  return { stale: !processAlive(pid), pid };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return isErrno(e, 'EPERM');
  }
}

function corrupt(path: string, issue: string): WalletError<'STATE_CORRUPT'> {
  return new WalletError('STATE_CORRUPT', { path, issue }, `the wallet state ${path} cannot be used: ${issue}`);
}

function isErrno(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && 'code' in e && e.code === code;
}

function errnoText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
