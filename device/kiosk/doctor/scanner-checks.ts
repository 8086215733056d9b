// SPDX-License-Identifier: Apache-2.0
// `kioskpay kiosk doctor`: the scanner. Is the configured node there (and what a by-id link points
// at), can this user open it, is it the kind of node the config expects (a tty for "serial", an
// input event device for "hid"), and when it is missing, does the scanner seem to be in the other
// USB mode (most 2-D scanners ship as keyboards). Read-only: a bounded open, closed at once.
import { constants } from 'node:fs';
import { lstat, open, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix } from 'node:path';
import type { KioskConfig } from '../config.ts';
import type { CheckResult, DoctorCheck, DoctorEnv } from './check.ts';

type Mode = 'tty' | 'input' | 'unknown';

const INPUT_RE = /^\/dev\/input\/event\d+$/;
const TTY_RE = /^\/dev\/(tty[A-Za-z]*\d+|pts\/\d+|serial\d+)$/;

function modeOf(node: string): Mode {
  return INPUT_RE.test(node) ? 'input' : TTY_RE.test(node) ? 'tty' : 'unknown';
}

const MODE_WORDS: Record<Mode, string> = {
  tty: 'a tty (USB serial / CDC mode)',
  input: 'an input event device (USB HID keyboard mode)',
  unknown: 'neither a tty nor an input event device',
};

/** Follows symlinks inside `root` (absolute targets are taken relative to it, as on the Pi). */
async function resolveUnderRoot(root: string, path: string): Promise<{ node: string; links: string[] } | undefined> {
  let p = posix.normalize(path);
  const links: string[] = [];
  for (let i = 0; i < 20; i++) {
    let st;
    try {
      st = await lstat(join(root, p));
    } catch {
      return undefined;
    }
    if (!st.isSymbolicLink()) return { node: p, links };
    const target = await readlink(join(root, p));
    p = posix.normalize(isAbsolute(target) ? target : posix.join(dirname(p), target));
    links.push(p);
  }
  return undefined; // a link loop
}

/** Entries of `dir` matching `pattern` that lead to an existing node (no dangling links). */
async function list(root: string, dir: string, pattern: RegExp): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(join(root, dir))).filter((n) => pattern.test(n)).sort();
  } catch {
    return [];
  }
  const paths = names.map((n) => posix.join(dir, n));
  const live = await Promise.all(paths.map(async (p) => (await resolveUnderRoot(root, p)) !== undefined));
  return paths.filter((_, i) => live[i]);
}

/** Opens read-only without blocking and closes at once; 'timeout' when it does not return in time. */
async function probeOpen(file: string, timeoutMs: number): Promise<'ok' | 'timeout' | NodeJS.ErrnoException> {
  const opening = open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  // Whatever happens, a late open is closed again.
  opening.then(
    (fh) => fh.close(),
    () => {},
  );
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
  try {
    return await Promise.race([opening.then(() => 'ok' as const), timeout]);
  } catch (e) {
    return e as NodeJS.ErrnoException;
  } finally {
    clearTimeout(timer);
  }
}

async function groupName(root: string, gid: number): Promise<string | undefined> {
  try {
    const line = (await readFile(join(root, 'etc/group'), 'utf8')).split('\n').find((l) => l.split(':')[2] === String(gid));
    return line?.split(':')[0];
  } catch {
    return undefined;
  }
}

function configFor(kind: 'serial' | 'hid', path: string): string {
  return kind === 'hid' ? JSON.stringify({ kind: 'hid', path, keymap: 'us' }) : JSON.stringify({ kind: 'serial', path });
}

/** The configured node is missing: which mode does the scanner seem to be in? */
async function lookElsewhere(sc: { kind: 'serial' | 'hid' }, env: Readonly<DoctorEnv>): Promise<CheckResult> {
  const kbds = await list(env.root, '/dev/input/by-id', /-event-kbd$/);
  const serials = [...(await list(env.root, '/dev/serial/by-id', /./)), ...(await list(env.root, '/dev', /^ttyACM\d+$/))];
  const found = `keyboards: ${kbds.join(', ') || 'none'}; serial: ${serials.join(', ') || 'none'}`;
  if (sc.kind === 'serial' && kbds.length > 0) {
    return {
      id: 'scanner.mode',
      status: 'fail',
      detail: found,
      title: `The scanner seems to be in USB HID keyboard mode (${kbds[0]}), not serial`,
      fix: `Scan the "USB CDC / virtual COM port" configuration barcode from the scanner maker's manual, or set "scanner": ${configFor('hid', kbds[0]!)}`,
    };
  }
  if (sc.kind === 'hid' && serials.length > 0) {
    return {
      id: 'scanner.mode',
      status: 'fail',
      detail: found,
      title: `The scanner seems to be in USB serial (CDC) mode (${serials[0]}), not keyboard`,
      fix: `Set "scanner": ${configFor('serial', serials[0]!)} (preferred), or scan the "USB HID keyboard" configuration barcode from the maker's manual`,
    };
  }
  const other = sc.kind === 'serial' ? serials : kbds;
  if (other.length > 0) {
    return {
      id: 'scanner.mode',
      status: 'fail',
      detail: found,
      title: `A ${sc.kind === 'serial' ? 'serial' : 'keyboard'} device exists, but not at the configured path`,
      fix: `Set "scanner": ${configFor(sc.kind, other[0]!)}`,
    };
  }
  return {
    id: 'scanner.mode',
    status: 'fail',
    detail: found,
    title: 'No scanner is connected in either USB mode',
    fix: 'Check the USB cable and power; `dmesg --follow` while plugging it in shows what the kernel sees',
  };
}

async function checkConfigured(sc: { kind: 'serial' | 'hid'; path: string }, env: Readonly<DoctorEnv>): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const resolved = await resolveUnderRoot(env.root, sc.path);
  if (!resolved) {
    out.push({
      id: 'scanner.present',
      status: 'fail',
      title: `Scanner node ${sc.path} is missing`,
      fix: 'Plug the scanner in, or correct scanner.path (see scanner.mode)',
    });
    out.push(await lookElsewhere(sc, env));
    return out;
  }
  const via = resolved.links.length > 0 ? ` (resolves to ${resolved.node})` : '';
  out.push({
    id: 'scanner.present',
    status: 'pass',
    title: `Scanner node ${sc.path} is present${via}`,
    detail: [sc.path, ...resolved.links].join(' -> '),
  });

  const file = join(env.root, resolved.node);
  const probe = await probeOpen(file, env.probeTimeoutMs);
  if (probe === 'ok') {
    out.push({ id: 'scanner.readable', status: 'pass', title: `This user can open ${resolved.node} for reading` });
  } else if (probe === 'timeout') {
    out.push({
      id: 'scanner.readable',
      status: 'warn',
      title: `Opening ${resolved.node} did not return within ${env.probeTimeoutMs} ms`,
      fix: 'Replug the scanner; if it persists, check `dmesg` for USB errors',
    });
  } else {
    const st = await stat(file).catch(() => undefined);
    const group = st ? await groupName(env.root, st.gid) : undefined;
    const denied = probe.code === 'EACCES' || probe.code === 'EPERM';
    out.push({
      id: 'scanner.readable',
      status: 'fail',
      title: `This user cannot open ${resolved.node}: ${probe.code ?? probe.message}`,
      ...(st ? { detail: `mode ${(st.mode & 0o777).toString(8)}, owner uid ${st.uid}, group ${group ?? st.gid}` } : {}),
      fix: denied
        ? `sudo usermod -aG ${group ?? (sc.kind === 'hid' ? 'input' : 'dialout')} "$USER" (then log in again), or a udev rule giving the kiosk user access`
        : 'Replug the scanner; check `dmesg` for USB errors',
    });
  }

  const mode = modeOf(resolved.node);
  const want: Mode = sc.kind === 'hid' ? 'input' : 'tty';
  if (mode === want) {
    out.push({ id: 'scanner.mode', status: 'pass', title: `${resolved.node} is ${MODE_WORDS[mode]}, as "${sc.kind}" expects` });
  } else if (mode === 'unknown') {
    out.push({
      id: 'scanner.mode',
      status: 'warn',
      title: `${resolved.node} is ${MODE_WORDS[mode]}`,
      fix: `Point scanner.path at the scanner's ${sc.kind === 'hid' ? '/dev/input/by-id/*-event-kbd' : '/dev/serial/by-id/*'} node`,
    });
  } else {
    const other = mode === 'input' ? 'hid' : 'serial';
    out.push({
      id: 'scanner.mode',
      status: 'fail',
      title: `${resolved.node} is ${MODE_WORDS[mode]}, but the config says "${sc.kind}"`,
      fix: `Set "scanner": ${configFor(other, sc.path)}`,
    });
  }
  return out;
}

export const scannerChecks: DoctorCheck = async (cfg: Readonly<KioskConfig>, env: Readonly<DoctorEnv>) => {
  const sc = cfg.scanner;
  if (sc.kind === 'sim') return [{ id: 'scanner.present', status: 'skip', title: 'Scanner is simulated (scanner.kind "sim")' }];
  return checkConfigured(sc, env);
};
