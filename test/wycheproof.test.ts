// SPDX-License-Identifier: Apache-2.0
// Wycheproof Ed25519 verification vectors (C2SP/wycheproof, testvectors_v1/ed25519_test.json,
// Apache-2.0), read from ../shared/data (never copied into this repository).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import nacl from 'tweetnacl';
import { fromHex } from '../shared/bytes.ts';
import type { Ed25519 } from '../shared/crypto/ed25519.ts';
import { naclEd25519 } from '../shared/crypto/ed25519-nacl.ts';
import { nodeEd25519 } from '../shared/crypto/ed25519-node.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// KP_SHARED_DATA names that folder where the checkout is not beside it (CI's Node 26 copy of the tree).
const dataDir = process.env['KP_SHARED_DATA'] ?? path.resolve(repoRoot, '..', 'shared', 'data');
const vectorsPath = path.resolve(dataDir, 'wycheproof', 'ed25519_test.json');

/**
 * tcIds that tweetnacl 1.0.3 on its own accepts although Wycheproof expects "invalid": all five
 * have S >= L, the group order (63-66: S + L, 2L, 4L, 8L, "SignatureMalleability"; 85: S just
 * above the bound, "InvalidKtv"). RFC 8032, section 5.1.7 requires S < L; node:crypto (OpenSSL)
 * rejects them, and so does naclEd25519, which checks S < L before calling tweetnacl.
 * docs/codes.md lists them too.
 */
const RAW_TWEETNACL_ACCEPTS_INVALID_TCIDS = [63, 64, 65, 66, 85];

/** tweetnacl without our adapter's checks (only guarding against its length exceptions). */
const rawTweetnacl: Ed25519 = {
  keyPairFromSeed: () => {
    throw new Error('not used');
  },
  sign: () => {
    throw new Error('not used');
  },
  verify: (m, s, pk) => s.length === 64 && pk.length === 32 && nacl.sign.detached.verify(m, s, pk),
};

interface WycheproofTest {
  tcId: number;
  comment: string;
  flags: string[];
  msg: string;
  sig: string;
  result: 'valid' | 'invalid';
}
interface WycheproofFile {
  numberOfTests: number;
  testGroups: { publicKey: { pk: string }; tests: WycheproofTest[] }[];
}

function runAll(ed: Ed25519, file: WycheproofFile): { tcId: number; expected: boolean; got: boolean }[] {
  const out: { tcId: number; expected: boolean; got: boolean }[] = [];
  for (const group of file.testGroups) {
    const pk = fromHex(group.publicKey.pk)!;
    for (const t of group.tests) {
      // Some signatures have odd lengths of hex or are not 64 bytes: verify must say false, not throw.
      const sig = fromHex(t.sig) ?? new Uint8Array(0);
      out.push({ tcId: t.tcId, expected: t.result === 'valid', got: ed.verify(fromHex(t.msg)!, sig, pk) });
    }
  }
  return out;
}

const present = existsSync(vectorsPath);
const suite = present ? describe : describe.skip;
if (!present) console.warn(`Wycheproof vectors not found at ${vectorsPath}: skipping test/wycheproof.test.ts`);

suite(`Wycheproof Ed25519 (${present ? vectorsPath : `absent: ${vectorsPath} (KP_SHARED_DATA names its folder)`})`, () => {
  const file = present ? (JSON.parse(readFileSync(vectorsPath, 'utf8')) as WycheproofFile) : { numberOfTests: 0, testGroups: [] };

  it('has the 151 vectors this test was written for', () => {
    const count = file.testGroups.reduce((n, g) => n + g.tests.length, 0);
    expect(count).toBe(151);
    expect(file.numberOfTests).toBe(151);
  });

  it('nodeEd25519 gives the expected result for every vector', () => {
    const mismatches = runAll(nodeEd25519, file)
      .filter((r) => r.got !== r.expected)
      .map((r) => r.tcId);
    expect(mismatches).toEqual([]);
  });

  it('naclEd25519 (tweetnacl plus the S < L check) gives the expected result for every vector', () => {
    const mismatches = runAll(naclEd25519, file)
      .filter((r) => r.got !== r.expected)
      .map((r) => r.tcId);
    expect(mismatches).toEqual([]);
  });

  it('tweetnacl alone fails exactly the five known malleable vectors, all by accepting an invalid signature', () => {
    const mismatches = runAll(rawTweetnacl, file).filter((r) => r.got !== r.expected);
    expect(mismatches.map((r) => r.tcId)).toEqual(RAW_TWEETNACL_ACCEPTS_INVALID_TCIDS);
    for (const m of mismatches) expect(m).toMatchObject({ expected: false, got: true });
  });
});
