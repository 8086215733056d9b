// SPDX-License-Identifier: Apache-2.0
// The repository stands alone: every repository path that a tracked file names (in prose, comments
// or code), every Markdown link to a local file, and every bare file name (such as `hardware.ts`) must
// resolve to a file of this repository. The few names that are not files here are listed below,
// each with the reason; anything else that does not resolve fails with the file that names it.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
/** The repository's files: git's list, or (in a copy without .git, as CI's Node 26 step makes) every file but installed and built ones. */
function repositoryFiles(): string[] {
  if (existsSync(join(root, '.git'))) return execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
  const skip = new Set(['node_modules', '.git', 'dist', 'data']);
  const walk = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
      const rel = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory()) return skip.has(e.name) ? [] : walk(rel);
      return e.isFile() ? [rel] : [];
    });
  return walk('');
}
const tracked = repositoryFiles();
const texts = tracked.filter((f) => /\.(ts|js|mjs|md|ya?ml|sh|py|service)$/.test(f) && existsSync(join(root, f)));
const names = new Set(tracked.map((f) => basename(f)));

/** Names that are not files of this repository, on purpose. */
const NOT_HERE: Record<string, string> = {
  'bin/kioskpay-kiosk': 'inside the kiosk release tarball (bin/release-artefact.ts lays it out)',
  'bin/node': 'inside the kiosk release tarball',
  'deploy/install.sh': 'inside the kiosk release tarball (copied from deploy/pi/install.sh)',
  'deploy/kioskpay-kiosk.service': 'inside the kiosk release tarball',
  'kiosk.mjs': 'the bundled kiosk program, built into the release',
  'self-check.mjs': 'the release self-check, built into the release',
  'wallet/web/dist': 'written by npm run build:wallet',
  'docs/images/kiosk': 'file-name prefix of screenshots the browser tests write',
  'docs/images/ops': 'file-name prefix of screenshots the browser tests write',
  'docs/images/wallet': 'file-name prefix of screenshots the browser tests write',
  'test/nosubscribe': 'an MQTT topic of the Paho interoperability suite, not a path',
  'client_test.py': 'the Paho interoperability suite itself, which is run from its own checkout',
  'notes.md': 'a file a test writes into a temporary directory',
};

const REPO_PATH =
  /(?<![\w./@$-])((?:bin|shared|server|wallet|broker|device|console|test|docs|bench|deploy|\.ci)\/[A-Za-z0-9_./-]*[A-Za-z0-9_])/g;
const BARE_NAME = /(?<![\w./@$*{-])([A-Za-z0-9_][A-Za-z0-9_-]+\.(?:ts|md|mjs|py|sh|service|yaml))\b/g;
const MD_LINK = /\]\((?!https?:|mailto:|#)([^)\s#]+)(?:#[^)]*)?\)/g;

function unresolved(): string[] {
  const out: string[] = [];
  for (const f of texts) {
    const text = readFileSync(join(root, f), 'utf8');
    for (const m of text.matchAll(REPO_PATH)) {
      const p = m[1]!;
      if (!existsSync(join(root, p)) && !(p in NOT_HERE)) out.push(`${f}: ${p}`);
    }
    for (const m of text.matchAll(BARE_NAME)) {
      if (!names.has(m[1]!) && !(m[1]! in NOT_HERE)) out.push(`${f}: ${m[1]}`);
    }
    if (f.endsWith('.md')) {
      for (const m of text.matchAll(MD_LINK)) {
        const target = normalize(join(dirname(f), decodeURIComponent(m[1]!)));
        if (!existsSync(join(root, target))) out.push(`${f}: link ${m[1]}`);
      }
    }
  }
  return [...new Set(out)].sort();
}

describe('references inside the repository', () => {
  it('every named repository file, bare file name and Markdown link resolves', () => {
    expect(unresolved()).toEqual([]);
  });

  it('names nothing outside the repository as a source (design notes stay in docs/, in our words)', () => {
    const outside = texts
      .filter((f) => f !== 'test/references.test.ts')
      .filter((f) =>
        /\.\.\/shared\/(design|seeds)|\bflows\.md\b|\bpitfalls\.md\b|\bstyle\.md\b|\bmission\.md\b/.test(
          readFileSync(join(root, f), 'utf8'),
        ),
      );
    expect(outside).toEqual([]);
  });
});
