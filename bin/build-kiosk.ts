// SPDX-License-Identifier: Apache-2.0
// Precompiles the kiosk program into one ES module with esbuild: our TypeScript and the npm packages
// it uses bundled together, except the native addons and their JS loaders (bin/release-native.ts),
// which stay external; the screen's page files and the release self-check beside it.
//   npm run build:kiosk                          -> dist/kiosk/ (runs inside this project)
//   npm run build:kiosk -- --target linux-arm64  -> dist/kioskpay-kiosk-<version>-linux-arm64.tar.gz
// The second is the release artefact a Pi installs with no compiler, npm or network: the bundle, the
// pinned Node runtime, the target's native modules, deploy/pi/* and a manifest (bin/release-artefact.ts).
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { NATIVE_PACKAGES } from './release-native.ts';
import { isReleaseTarget, RELEASE_TARGETS } from './release-node.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const KIOSK_DIST_DEFAULT = join(root, 'dist', 'kiosk');

/** Server-side packages (native or heavy) a kiosk bundle must never contain. */
const SERVER_ONLY = ['better-sqlite3', 'pg', 'aedes', 'ioredis', 'playwright-core'];

// Bundled CommonJS packages call require() for Node built-ins and for the external native packages.
const BANNER =
  "import { createRequire as __kioskpayCreateRequire } from 'node:module'; const require = __kioskpayCreateRequire(import.meta.url);";

export async function buildKiosk(outDir = KIOSK_DIST_DEFAULT): Promise<{ outFile: string; selfCheck: string }> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const { metafile } = await build({
    metafile: true,
    entryPoints: { kiosk: join(root, 'device', 'cli', 'kiosk-entry.ts'), 'self-check': join(root, 'bin', 'release-self-check.ts') },
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: [...NATIVE_PACKAGES],
    banner: { js: BANNER },
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
  });
  const leaked = Object.keys(metafile.inputs).filter((f) => SERVER_ONLY.some((p) => f.includes(`node_modules/${p}/`)));
  if (leaked.length > 0) throw new Error(`the kiosk bundle pulls in server-only packages: ${leaked.slice(0, 5).join(', ')}`);
  // The kiosk screen reads its page from `page/` next to the module (device/display/web/kiosk-page.ts).
  cpSync(join(root, 'device', 'display', 'web', 'page'), join(outDir, 'page'), { recursive: true });
  return { outFile: join(outDir, 'kiosk.mjs'), selfCheck: join(outDir, 'self-check.mjs') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { target: { type: 'string' }, out: { type: 'string' } } });
  if (values.target === undefined) {
    const { outFile } = await buildKiosk(positionals[0] ?? KIOSK_DIST_DEFAULT);
    process.stdout.write(`kiosk bundle: ${outFile}\n`);
  } else if (!isReleaseTarget(values.target)) {
    process.stderr.write(`build-kiosk: --target must be one of ${RELEASE_TARGETS.join(', ')}\n`);
    process.exitCode = 2;
  } else {
    const { buildRelease } = await import('./release-artefact.ts');
    const r = await buildRelease({
      target: values.target,
      bundle: buildKiosk,
      ...(values.out !== undefined ? { outDir: values.out } : {}),
    });
    process.stdout.write(`kiosk release: ${r.tarball} (${(r.bytes / 1e6).toFixed(1)} MB)\n`);
  }
}
