// SPDX-License-Identifier: Apache-2.0
// The issuer's private seed lives in one file under the data directory, readable by the server only.
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { fromBase64url, toBase64url } from '../../shared/bytes.ts';
import type { Random } from '../../shared/random.ts';

export interface IssuerKeyFile {
  keyId: number;
  seed: Uint8Array;
}

export function loadOrCreateIssuerKey(path: string, random: Random): IssuerKeyFile {
  if (existsSync(path)) {
    const raw = JSON.parse(readFileSync(path, 'utf8')) as { keyId?: unknown; seed?: unknown };
    const seed = typeof raw.seed === 'string' ? fromBase64url(raw.seed) : undefined;
    if (typeof raw.keyId !== 'number' || !Number.isInteger(raw.keyId) || raw.keyId < 0 || raw.keyId > 255 || !seed || seed.length !== 32) {
      throw new Error(`issuer key file ${path} is corrupt; restore it from backup (every credential depends on it)`);
    }
    return { keyId: raw.keyId, seed };
  }
  const key = { keyId: 1, seed: random.bytes(32) };
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify({ keyId: key.keyId, seed: toBase64url(key.seed) }), { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
  const dfd = openSync(dirname(path), 'r');
  fsyncSync(dfd);
  closeSync(dfd);
  return key;
}
