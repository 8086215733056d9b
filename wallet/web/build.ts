// SPDX-License-Identifier: Apache-2.0
// Builds the wallet web app (PWA) into a static directory with esbuild: the app as ES modules (the
// barcode renderer split into its own chunk, loaded on first use), the service worker as one classic
// script that knows every file to precache and a build version, and the static shell files. Runs
// without network: everything comes from node_modules. `npm run build:wallet`, or buildWallet().
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
export const WALLET_WEB_DIR = here;
export const WALLET_DIST_DEFAULT = join(here, 'dist');
/** Marks a directory as ours, so a rebuild may empty it (and nothing else). */
const BUILD_MARKER = '.kioskpay-wallet-build';

/** esbuild settings shared by the app and by tests that bundle browser code the same way. */
export const BROWSER_BUILD_OPTIONS = {
  bundle: true,
  platform: 'browser',
  target: ['es2022', 'chrome109', 'safari16', 'firefox115'],
  minify: true,
  legalComments: 'none',
  logLevel: 'silent',
} as const satisfies BuildOptions;

export interface WalletBuild {
  outDir: string;
  /** Every file written, relative to outDir, with "/" separators. */
  files: string[];
  /** Hash of every output; names the service worker's cache. */
  version: string;
}

/** Builds the app into `outDir` (default wallet/web/dist), replacing an earlier build there. */
export async function buildWallet(outDir: string = WALLET_DIST_DEFAULT): Promise<WalletBuild> {
  const out = resolve(outDir);
  prepareOutDir(out);
  const app = await build({
    ...BROWSER_BUILD_OPTIONS,
    entryPoints: { app: join(here, 'src', 'main.ts') },
    format: 'esm',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    outdir: out,
    write: false,
  });
  const files = new Map<string, Uint8Array>();
  for (const f of app.outputFiles) files.set(relative(out, f.path).split('\\').join('/'), f.contents);
  for (const name of readdirSync(join(here, 'static'))) files.set(name, readFileSync(join(here, 'static', name)));
  const names = [...files.keys()].sort();
  const hash = createHash('sha256');
  for (const n of names) hash.update(n).update('\0').update(files.get(n)!);
  const version = hash.digest('hex').slice(0, 16);
  const sw = await build({
    ...BROWSER_BUILD_OPTIONS,
    entryPoints: [join(here, 'src', 'sw.ts')],
    format: 'iife',
    write: false,
    outfile: join(out, 'sw.js'),
    define: { __WALLET_VERSION__: JSON.stringify(version), __WALLET_PRECACHE__: JSON.stringify(names) },
  });
  files.set('sw.js', sw.outputFiles[0]!.contents);
  for (const [name, contents] of files) {
    mkdirSync(dirname(join(out, name)), { recursive: true });
    writeFileSync(join(out, name), contents);
  }
  return { outDir: out, files: [...files.keys()].sort(), version };
}

function prepareOutDir(out: string): void {
  if (existsSync(out)) {
    const entries = readdirSync(out);
    if (entries.length > 0 && !entries.includes(BUILD_MARKER))
      throw new Error(`${out} is not empty and not a wallet build; refusing to replace it`);
    rmSync(out, { recursive: true, force: true });
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, BUILD_MARKER), 'Built by wallet/web/build.ts; replaced on every build.\n');
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const target = process.argv[2] ?? WALLET_DIST_DEFAULT;
  buildWallet(target).then(
    (b) => process.stdout.write(`wallet built: ${b.files.length} files in ${b.outDir} (version ${b.version})\n`),
    (e: unknown) => {
      process.stderr.write(`wallet build failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
