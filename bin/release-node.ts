// SPDX-License-Identifier: Apache-2.0
// The Node runtime a kiosk release ships, pinned: the official Linux binaries (with include/node
// headers for node-gyp) as the npm registry's `node-linux-<arch>` packages. `npm pack` fetches one
// into a cache dir; its sha512 must equal the pin below before anything is unpacked, so a changed
// or corrupted package stops the build. CI also runs the test suite on this runtime.
// `node --import tsx bin/release-node.ts linux-x64` prints the unpacked runtime's directory.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ReleaseTarget = 'linux-arm64' | 'linux-x64';
export const RELEASE_TARGETS: readonly ReleaseTarget[] = ['linux-arm64', 'linux-x64'];

/** Node 26 (active LTS to 2029-04-30). Bump the version and both integrities together. */
export const NODE_RUNTIME = {
  version: '26.12.1',
  integrity: {
    'linux-arm64': 'sha512-8Oxs6Y7rDcKufVIM/zYRSwytj46WOrZk7yFCLTKDcs17bBjAeD9HMAqo97hMfMyxozIud0S4vZCs5WB/3iavNQ==',
    'linux-x64': 'sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A==',
  } satisfies Record<ReleaseTarget, string>,
} as const;

export class ReleaseError extends Error {
  override readonly name = 'ReleaseError';
}

export function isReleaseTarget(s: string): s is ReleaseTarget {
  return (RELEASE_TARGETS as readonly string[]).includes(s);
}

/** Where fetched runtimes are kept between builds: $KIOSKPAY_CACHE, else ~/.cache/kioskpay. */
export function releaseCacheDir(): string {
  return process.env.KIOSKPAY_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kioskpay');
}

export function sriSha512(file: string): string {
  return 'sha512-' + createHash('sha512').update(readFileSync(file)).digest('base64');
}

export interface NodeRuntime {
  target: ReleaseTarget;
  version: string;
  integrity: string;
  /** The unpacked package: bin/node, include/node, LICENSE. */
  dir: string;
  node: string;
}

/**
 * Returns the pinned runtime for `target`, fetching it with `npm pack` on first use. The tarball is
 * checked against the pin every time (also when cached); the unpacked copy is made from a checked
 * tarball only.
 */
export function fetchNodeRuntime(target: ReleaseTarget, cacheDir = releaseCacheDir()): NodeRuntime {
  const name = `node-${target}`;
  const { version } = NODE_RUNTIME;
  const integrity = NODE_RUNTIME.integrity[target];
  const dir = join(cacheDir, 'node', `${name}-${version}`);
  const tgz = join(cacheDir, 'node', `${name}-${version}.tgz`);
  mkdirSync(join(cacheDir, 'node'), { recursive: true });
  if (!existsSync(tgz)) {
    try {
      execFileSync('npm', ['pack', `${name}@${version}`, '--pack-destination', join(cacheDir, 'node'), '--silent'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (e) {
      throw new ReleaseError(
        `npm pack ${name}@${version} failed: ${(e as { stderr?: Buffer }).stderr?.toString().trim() ?? (e as Error).message}`,
      );
    }
  }
  const got = sriSha512(tgz);
  if (got !== integrity) {
    rmSync(tgz, { force: true });
    throw new ReleaseError(`${name}@${version}: integrity ${got} is not the pinned ${integrity} (file removed)`);
  }
  if (!existsSync(join(dir, 'bin', 'node'))) {
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    execFileSync('tar', ['-xzf', tgz, '-C', tmp, '--strip-components=1']);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  return { target, version, integrity, dir, node: join(dir, 'bin', 'node') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = process.argv[2] ?? '';
  if (!isReleaseTarget(target)) {
    process.stderr.write(`usage: release-node.ts ${RELEASE_TARGETS.join('|')}\n`);
    process.exit(2);
  }
  process.stdout.write(`${fetchNodeRuntime(target).dir}\n`);
}
