// SPDX-License-Identifier: Apache-2.0
// The kiosk's native modules for a release target, and the plain JS packages they load at run time
// (the one part of the kiosk esbuild cannot bundle). Only these two addons: serialport's binding
// (its upstream prebuild for the target, glibc) and epoll under onoff (compiled here against the
// pinned runtime's headers; for linux-arm64 with Debian's aarch64 cross compiler). Nothing
// server-only (better-sqlite3, pg) is ever copied. Each addon's ELF machine is checked.
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  closeSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { ReleaseError, type NodeRuntime, type ReleaseTarget } from './release-node.ts';

/** The packages the bundle leaves external: esbuild's `external` list. */
export const NATIVE_PACKAGES = ['@serialport/bindings-cpp', 'epoll'] as const;

/** Header-only build dependencies listed under `dependencies`: never needed at run time. */
const BUILD_ONLY = new Set(['nan', 'node-addon-api']);

/** Top-level files and folders of a package not needed to run it (node_modules: copied per package). */
const SKIP = new Set(['node_modules', 'build', 'prebuilds', 'example', 'examples', 'test', 'tests', '.github']);
/** And of an addon's package: its C++ sources. */
const SKIP_ADDON = new Set([...SKIP, 'src', 'binding.gyp']);

const ELF_MACHINE: Record<ReleaseTarget, number> = { 'linux-arm64': 0xb7, 'linux-x64': 0x3e };

export interface NativeModule {
  name: string;
  version: string;
  /** Path of the addon inside the artefact's app/node_modules. */
  addon: string;
  how: 'prebuild' | 'compiled';
}

/** Node's lookup from `fromDir` (a package dir, or the project root) for package `name`. */
function resolvePackage(projectRoot: string, fromDir: string, name: string): string {
  for (let d = fromDir; ; d = dirname(d)) {
    const cand = join(d, 'node_modules', name);
    if (existsSync(join(cand, 'package.json'))) return cand;
    if (d === projectRoot || d === dirname(d)) break;
  }
  throw new ReleaseError(`cannot resolve ${name} from ${fromDir}`);
}

function readPkg(dir: string): { name: string; version: string; dependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as never;
}

/** The package dirs `NATIVE_PACKAGES` need at run time, themselves included. */
export function runtimeClosure(projectRoot: string): string[] {
  const seen = new Set<string>();
  const visit = (dir: string): void => {
    if (seen.has(dir)) return;
    seen.add(dir);
    for (const dep of Object.keys(readPkg(dir).dependencies ?? {})) {
      if (!BUILD_ONLY.has(dep)) visit(resolvePackage(projectRoot, dir, dep));
    }
  };
  for (const n of NATIVE_PACKAGES) visit(resolvePackage(projectRoot, projectRoot, n));
  return [...seen].sort();
}

export function elfMachine(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(20);
    readSync(fd, b, 0, 20, 0);
    if (b.readUInt32BE(0) !== 0x7f454c46) throw new ReleaseError(`${file} is not an ELF file`);
    return b.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

function checkMachine(file: string, target: ReleaseTarget): void {
  const m = elfMachine(file);
  if (m !== ELF_MACHINE[target]) throw new ReleaseError(`${file}: ELF machine 0x${m.toString(16)} is not ${target}'s`);
}

/** Compiles epoll for the target against the runtime's headers, in a temp dir; returns the addon. */
function compileEpoll(projectRoot: string, runtime: NodeRuntime): { addon: string; work: string } {
  const work = mkdtempSync(join(tmpdir(), 'kioskpay-epoll-'));
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'kioskpay-native-build', private: true }));
  const epoll = resolvePackage(projectRoot, projectRoot, 'epoll');
  for (const name of ['epoll', 'nan', 'bindings', 'file-uri-to-path']) {
    const src = name === 'epoll' ? epoll : resolvePackage(projectRoot, epoll, name);
    cpSync(src, join(work, 'node_modules', name), {
      recursive: true,
      filter: (p) => !(basename(p) === 'build' || (basename(p) === 'node_modules' && p !== src)),
    });
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  const args = ['rebuild', 'epoll', '--foreground-scripts', `--nodedir=${runtime.dir}`];
  if (runtime.target === 'linux-arm64') {
    args.push('--arch=arm64');
    Object.assign(env, {
      CC: 'aarch64-linux-gnu-gcc',
      CXX: 'aarch64-linux-gnu-g++',
      LINK: 'aarch64-linux-gnu-g++',
      AR: 'aarch64-linux-gnu-ar',
    });
  } else {
    args.push('--arch=x64');
  }
  try {
    execFileSync('npm', args, { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    throw new ReleaseError(
      `compiling epoll for ${runtime.target} failed (is g++-aarch64-linux-gnu installed?):\n${err.stdout?.toString() ?? ''}${err.stderr?.toString() ?? ''}`,
    );
  }
  const addon = join(work, 'node_modules', 'epoll', 'build', 'Release', 'epoll.node');
  checkMachine(addon, runtime.target);
  return { addon, work };
}

/**
 * Copies the native packages and their run-time dependencies into `appDir/node_modules` (each at
 * the path it has under the project's node_modules, so resolution is unchanged), with the target's
 * addons only.
 */
export function installNativeModules(projectRoot: string, appDir: string, runtime: NodeRuntime): NativeModule[] {
  const nm = join(projectRoot, 'node_modules');
  for (const dir of runtimeClosure(projectRoot)) {
    const dest = join(appDir, 'node_modules', relative(nm, dir));
    const skip = existsSync(join(dir, 'binding.gyp')) ? SKIP_ADDON : SKIP;
    cpSync(dir, dest, {
      recursive: true,
      filter: (p) => p === dir || !(skip.has(relative(dir, p).split(sep)[0]!) || p.endsWith('.d.ts') || p.endsWith('.map')),
    });
  }
  const out: NativeModule[] = [];

  const sp = resolvePackage(projectRoot, projectRoot, '@serialport/bindings-cpp');
  const prebuildDir = join(sp, 'prebuilds', runtime.target);
  const prebuild = existsSync(prebuildDir) ? readdirSync(prebuildDir).find((f) => f.endsWith('.glibc.node')) : undefined;
  if (!prebuild) throw new ReleaseError(`@serialport/bindings-cpp has no glibc prebuild for ${runtime.target}`);
  checkMachine(join(prebuildDir, prebuild), runtime.target);
  const spDest = join(appDir, 'node_modules', relative(nm, sp), 'prebuilds', runtime.target);
  mkdirSync(spDest, { recursive: true });
  cpSync(join(prebuildDir, prebuild), join(spDest, prebuild));
  out.push({
    name: '@serialport/bindings-cpp',
    version: readPkg(sp).version,
    addon: relative(appDir, join(spDest, prebuild)),
    how: 'prebuild',
  });

  const epollDir = resolvePackage(projectRoot, projectRoot, 'epoll');
  const built = compileEpoll(projectRoot, runtime);
  const epDest = join(appDir, 'node_modules', relative(nm, epollDir), 'build', 'Release');
  mkdirSync(epDest, { recursive: true });
  cpSync(built.addon, join(epDest, 'epoll.node'));
  rmSync(built.work, { recursive: true, force: true });
  out.push({ name: 'epoll', version: readPkg(epollDir).version, addon: relative(appDir, join(epDest, 'epoll.node')), how: 'compiled' });
  return out;
}
