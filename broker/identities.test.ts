// SPDX-License-Identifier: Apache-2.0
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, IdentityTable, identitiesFromPasswords, isPasswordHash, loadIdentities, verifyPassword } from './identities.ts';

let hash: string;
beforeAll(async () => {
  hash = await hashPassword('correct horse');
});

describe('password hashes', () => {
  it('are scrypt$16384$8$1$salt$key with a 16-byte salt and verify only the right password', async () => {
    const [name, N, r, p, salt, key] = hash.split('$');
    expect([name, N, r, p]).toEqual(['scrypt', '16384', '8', '1']);
    expect(Buffer.from(salt!, 'base64')).toHaveLength(16);
    expect(Buffer.from(key!, 'base64')).toHaveLength(32);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword(Buffer.from('correct horse'), hash)).toBe(true);
    expect(await verifyPassword('correct horsE', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('use a fresh salt every time', async () => {
    expect(await hashPassword('correct horse')).not.toBe(hash);
  });

  it('never verify when malformed or outside the parameter bounds', async () => {
    const [, , , , salt, key] = hash.split('$');
    for (const bad of [
      '',
      'plain',
      `scrypt$16384$8$1$${salt}`,
      `bcrypt$16384$8$1$${salt}$${key}`,
      `scrypt$16385$8$1$${salt}$${key}`,
      `scrypt$${2 ** 21}$8$1$${salt}$${key}`,
      `scrypt$16384$0$1$${salt}$${key}`,
      `scrypt$16384$8$99$${salt}$${key}`,
      `scrypt$16384$8$1$c2FsdA==$${key}`,
      `scrypt$16384$8$1$${salt}$a2V5`,
      `scrypt$016384$8$1$${salt}$${key}`,
    ]) {
      expect(isPasswordHash(bad), bad).toBe(false);
      expect(await verifyPassword('correct horse', bad), bad).toBe(false);
    }
  });

  it('accept cheaper parameters within bounds for tests, and verify them', async () => {
    const cheap = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
    expect(cheap).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await verifyPassword('pw', cheap)).toBe(true);
    await expect(hashPassword('pw', { N: 512, r: 8, p: 1 })).rejects.toThrow(/out of bounds/);
    await expect(hashPassword('pw', { N: 3000, r: 8, p: 1 })).rejects.toThrow(/out of bounds/);
  });

  it('refuse empty and overlong passwords', async () => {
    await expect(hashPassword('')).rejects.toThrow(/empty/);
    await expect(hashPassword('x'.repeat(1025))).rejects.toThrow(/at most 1024/);
  });
});

describe('identity tables', () => {
  it('look identities up by username', () => {
    const table = IdentityTable.fromJson([
      { username: 'k1', passwordHash: hash, role: 'kiosk', kioskId: 'k1' },
      { username: 'server', passwordHash: hash, role: 'server' },
      { username: 'alice.tech', passwordHash: hash, role: 'technician' },
    ]);
    expect(table.size).toBe(3);
    expect(table.find('k1')).toEqual({ username: 'k1', passwordHash: hash, role: 'kiosk', kioskId: 'k1' });
    expect(table.find('server')?.role).toBe('server');
    expect(table.find('nobody')).toBeUndefined();
    expect(Object.isFrozen(table.find('k1'))).toBe(true);
  });

  it.each([
    [
      'a kiosk whose username differs from its kioskId',
      [{ username: 'k1', passwordHash: 'H', role: 'kiosk', kioskId: 'k2' }],
      /username must equal its kioskId/,
    ],
    ['a kiosk without kioskId', [{ username: 'k1', passwordHash: 'H', role: 'kiosk' }], /needs a kioskId/],
    ['a kiosk id with wildcards', [{ username: 'k1', passwordHash: 'H', role: 'kiosk', kioskId: 'k+' }], /needs a kioskId/],
    ['a server with a kioskId', [{ username: 'server', passwordHash: 'H', role: 'server', kioskId: 'k1' }], /only kiosk identities/],
    ['an unknown role', [{ username: 'x', passwordHash: 'H', role: 'admin' }], /role/],
    ['a clear-text password', [{ username: 'x', passwordHash: 'secret', role: 'server' }], /passwordHash/],
    ['an unknown field', [{ username: 'x', passwordHash: 'H', role: 'server', password: 'p' }], /Unrecognized key/],
    [
      'a duplicate username',
      [
        { username: 'x', passwordHash: 'H', role: 'server' },
        { username: 'x', passwordHash: 'H', role: 'operator' },
      ],
      /duplicate username "x"/,
    ],
    ['a username with a slash', [{ username: 'a/b', passwordHash: 'H', role: 'operator' }], /username/],
    ['an object instead of an array', { username: 'x' }, /expected array/],
  ])('refuse %s', (_name, json, message) => {
    const withHash = JSON.parse(JSON.stringify(json).replaceAll('"H"', JSON.stringify(hash))) as unknown;
    expect(() => IdentityTable.fromJson(withHash, 'ids.json')).toThrow(message);
  });

  it('build from clear-text passwords for tests', async () => {
    const table = await identitiesFromPasswords([{ username: 'k9', password: 'pw', role: 'kiosk', kioskId: 'k9' }]);
    expect(await verifyPassword('pw', table.find('k9')!.passwordHash)).toBe(true);
  });
});

describe('loadIdentities', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('reads a JSON array file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'kp-ids-'));
    const file = join(dir, 'ids.json');
    await writeFile(file, JSON.stringify([{ username: 'k1', passwordHash: hash, role: 'kiosk', kioskId: 'k1' }]));
    expect((await loadIdentities(file)).find('k1')?.kioskId).toBe('k1');
  });

  it('names the file when it is not JSON', async () => {
    dir = await mkdtemp(join(tmpdir(), 'kp-ids-'));
    const file = join(dir, 'ids.json');
    await writeFile(file, '[{');
    await expect(loadIdentities(file)).rejects.toThrow(`${file}: not valid JSON`);
  });
});
