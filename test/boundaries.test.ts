// SPDX-License-Identifier: Apache-2.0
// Folders are processes and shared/ is the contract: shared/ imports none of them, and no process
// folder imports another. shared/ also runs in the browser wallet, so only its node-only adapters may
// import node: modules.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const PROCESSES = ['device', 'broker', 'server', 'wallet', 'console'];
/** shared/ files that run only in Node (the server's and kiosk's crypto adapter, and login password hashing). */
const NODE_ONLY_SHARED = new Set(['shared/crypto/ed25519-node.ts', 'shared/crypto/password-hash.ts']);

function files(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(files(p));
    else if (/\.(ts|js|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => (m[1] ?? m[2])!,
  );
}

function topFolder(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return relative(root, resolve(dirname(file), spec)).split('/')[0];
}

describe('import boundaries', () => {
  it('shared/ imports no process folder, and only its node adapters import node: modules', () => {
    const bad: string[] = [];
    for (const f of files(join(root, 'shared'))) {
      const rel = relative(root, f);
      for (const spec of imports(f)) {
        const top = topFolder(f, spec);
        if (top && top !== 'shared') bad.push(`${rel} -> ${spec}`);
        if (spec.startsWith('node:') && !NODE_ONLY_SHARED.has(rel) && !rel.endsWith('.test.ts')) bad.push(`${rel} -> ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it.each(PROCESSES)('%s/ imports only itself and shared/', (proc) => {
    const bad: string[] = [];
    let dirExists = true;
    try {
      statSync(join(root, proc));
    } catch {
      dirExists = false;
    }
    if (!dirExists) return;
    for (const f of files(join(root, proc))) {
      for (const spec of imports(f)) {
        const top = topFolder(f, spec);
        if (top && top !== proc && top !== 'shared') bad.push(`${relative(root, f)} -> ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('wallet/core imports no node: module and nothing from wallet/cli or wallet/testing (the browser wallet runs it)', () => {
    const bad: string[] = [];
    for (const f of files(join(root, 'wallet', 'core')).filter((x) => !x.endsWith('.test.ts'))) {
      for (const spec of imports(f)) {
        const target = spec.startsWith('.') ? relative(join(root, 'wallet'), resolve(dirname(f), spec)) : '';
        if (spec.startsWith('node:') || target.startsWith('cli') || target.startsWith('testing'))
          bad.push(`${relative(root, f)} -> ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
