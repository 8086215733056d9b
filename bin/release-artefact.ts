// SPDX-License-Identifier: Apache-2.0
// Assembles one kiosk release tarball for a target (docs/decisions.md, "Kiosk release artefact"):
//   kioskpay-kiosk-<version>-<target>/
//     bin/kioskpay-kiosk       launcher: the runtime below running app/kiosk.mjs
//     node/bin/node, node/LICENSE   the pinned Node runtime (bin/release-node.ts)
//     app/kiosk.mjs (+ .map, LEGAL.txt), app/self-check.mjs, app/page/   the bundle (bin/build-kiosk.ts)
//     app/node_modules/        the target's native modules and their loaders (bin/release-native.ts),
//                              and each package the kiosk loads by a name known only at run time,
//                              bundled into one file (LOADED_BY_NAME)
//     deploy/                  deploy/pi/* (install.sh, systemd unit) and kiosk.json.example
//     manifest.json            versions, target, commit, native modules, sha256 of every file
//     SHA256SUMS               the same sums for `sha256sum -c`
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installNativeModules } from './release-native.ts';
import { fetchNodeRuntime, type ReleaseTarget } from './release-node.ts';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const LAUNCHER = `#!/bin/sh
# Runs the kiosk with this release's own Node: kioskpay-kiosk --config /etc/kioskpay/kiosk.json
here=$(dirname "$(readlink -f "$0")")/..
exec "$here/node/bin/node" --enable-source-maps "$here/app/kiosk.mjs" "$@"
`;

/**
 * Packages the kiosk loads by a name esbuild cannot see (a variable import, createRequire): the LCD
 * adapter's johnny-five and firmata-io. Each is bundled on its own; the serial paths they would
 * load themselves (serialport 8, firmata) are never taken, as the adapter hands them an open IO.
 */
const LOADED_BY_NAME = ['johnny-five', 'firmata-io'];
const NEVER_LOADED = ['serialport', 'firmata', 'browser-serialport'];

async function bundleLoadedByName(appDir: string): Promise<void> {
  for (const name of LOADED_BY_NAME) {
    const pkgDir = join(root, 'node_modules', name);
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string; main?: string; license?: string };
    const dest = join(appDir, 'node_modules', name);
    await build({
      entryPoints: [join(pkgDir, pkg.main ?? 'index.js')],
      outfile: join(dest, 'index.js'),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: NEVER_LOADED,
      legalComments: 'inline',
      logLevel: 'warning',
    });
    writeFileSync(
      join(dest, 'package.json'),
      JSON.stringify({ name, version: pkg.version, license: pkg.license, main: 'index.js' }, null, 2) + '\n',
    );
  }
}

export interface ReleaseResult {
  tarball: string;
  bytes: number;
  /** The unpacked tree the tarball was made from (removed unless keepStage). */
  stage: string;
  manifest: ReleaseManifest;
}

export interface ReleaseManifest {
  name: 'kioskpay-kiosk';
  version: string;
  target: ReleaseTarget;
  commit: string;
  node: { version: string; package: string; integrity: string };
  native: ReturnType<typeof installNativeModules>;
  files: Record<string, string>;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}

/** `bundle` writes the kiosk bundle into a dir: buildKiosk of bin/build-kiosk.ts (passed in, as that module imports this one). */
export async function buildRelease(o: {
  target: ReleaseTarget;
  bundle: (dir: string) => Promise<unknown>;
  outDir?: string;
  keepStage?: boolean;
}): Promise<ReleaseResult> {
  const outDir = o.outDir ?? join(root, 'dist');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const name = `kioskpay-kiosk-${version}-${o.target}`;
  const stageRoot = join(outDir, `.stage-${o.target}`);
  const stage = join(stageRoot, name);
  rmSync(stageRoot, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });

  const runtime = fetchNodeRuntime(o.target);
  mkdirSync(join(stage, 'node', 'bin'), { recursive: true });
  cpSync(runtime.node, join(stage, 'node', 'bin', 'node'));
  cpSync(join(runtime.dir, 'LICENSE'), join(stage, 'node', 'LICENSE'));

  await o.bundle(join(stage, 'app'));
  const native = installNativeModules(root, join(stage, 'app'), runtime);
  await bundleLoadedByName(join(stage, 'app'));

  mkdirSync(join(stage, 'bin'));
  writeFileSync(join(stage, 'bin', 'kioskpay-kiosk'), LAUNCHER);
  chmodSync(join(stage, 'bin', 'kioskpay-kiosk'), 0o755);

  // Everything under deploy/pi/ (the install script, the systemd unit), and the example config.
  mkdirSync(join(stage, 'deploy'));
  if (existsSync(join(root, 'deploy', 'pi'))) cpSync(join(root, 'deploy', 'pi'), join(stage, 'deploy'), { recursive: true });
  cpSync(join(root, 'docs', 'examples', 'kiosk.json'), join(stage, 'deploy', 'kiosk.json.example'));

  const files: Record<string, string> = {};
  for (const f of listFiles(stage)) files[f] = sha256(join(stage, f));
  const manifest: ReleaseManifest = {
    name: 'kioskpay-kiosk',
    version,
    target: o.target,
    commit: gitCommit(),
    node: { version: runtime.version, package: `node-${o.target}`, integrity: runtime.integrity },
    native,
    files,
  };
  writeFileSync(join(stage, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  const sums: Record<string, string> = { ...files, 'manifest.json': sha256(join(stage, 'manifest.json')) };
  writeFileSync(
    join(stage, 'SHA256SUMS'),
    Object.keys(sums)
      .sort()
      .map((f) => `${sums[f]}  ${f}\n`)
      .join(''),
  );

  mkdirSync(outDir, { recursive: true });
  const tarball = join(outDir, `${name}.tar.gz`);
  execFileSync('tar', ['-C', stageRoot, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-czf', tarball, name]);
  if (!o.keepStage) rmSync(stageRoot, { recursive: true, force: true });
  return { tarball, bytes: statSync(tarball).size, stage, manifest };
}
