// SPDX-License-Identifier: Apache-2.0
// Precompiles the kiosk program into one ES module, dist/kiosk/kiosk.mjs, with esbuild: our
// TypeScript bundled, npm packages left to node_modules (native bindings, dynamic imports), and the
// screen's page files copied beside it. A Pi then starts without compiling TypeScript at run time
// (docs/deploy-pi.md). `npm run build:kiosk`, or buildKiosk().
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const KIOSK_DIST_DEFAULT = join(root, 'dist', 'kiosk');

export async function buildKiosk(outDir = KIOSK_DIST_DEFAULT): Promise<{ outFile: string }> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const outFile = join(outDir, 'kiosk.mjs');
  await build({
    entryPoints: [join(root, 'device', 'cli', 'kiosk-entry.ts')],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'silent',
  });
  // The kiosk screen reads its page from `page/` next to the module (device/display/web/kiosk-page.ts).
  cpSync(join(root, 'device', 'display', 'web', 'page'), join(outDir, 'page'), { recursive: true });
  return { outFile };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { outFile } = await buildKiosk(process.argv[2] ?? KIOSK_DIST_DEFAULT);
  process.stdout.write(`kiosk bundle: ${outFile}\n`);
}
