// SPDX-License-Identifier: Apache-2.0
// Adding and removing broker identities in the identities file. Every change validates the whole
// resulting table by the same rules the broker loads it with (identities.ts), then replaces the file
// atomically and durably: write a temp file in the same directory, fsync it, rename it over the
// file, fsync the directory. A crash leaves either the old file or the new one, never half of one.
// A running broker picks the change up on SIGHUP (`kill -HUP <pid>`).
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { hashPassword, IdentityTable, SCRYPT_DEFAULTS, type Identity, type Role, type ScryptParams } from './identities.ts';

/** A new identity with its clear-text password; only its scrypt hash is written. */
export interface NewIdentity {
  readonly username: string;
  readonly password: string;
  readonly role: Role;
  /** Required for role kiosk (and equal to the username), absent for every other role. */
  readonly kioskId?: string | undefined;
}

/** Why a change was refused: the username is already there (add) or not there (remove). */
export class IdentityAdminError extends Error {
  constructor(
    message: string,
    readonly reason: 'duplicate' | 'unknown',
  ) {
    super(message);
    this.name = 'IdentityAdminError';
  }
}

/** The file's identities, validated; an absent file is an empty table (so the first add creates it). */
async function readTable(file: string): Promise<{ table: IdentityTable; mode: number }> {
  let text: string;
  let mode = 0o600;
  try {
    text = await readFile(file, 'utf8');
    mode = (await stat(file)).mode & 0o777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { table: IdentityTable.fromJson([], file), mode };
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return { table: IdentityTable.fromJson(json, file), mode };
}

/** Replaces `file` with `text`: temp file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(file: string, text: string, mode = 0o600): Promise<void> {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (e) {
    await handle.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await handle.close();
  try {
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  // The rename is durable only once the directory entry is on disk.
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

function serialise(list: readonly Identity[]): string {
  const plain = list.map((id) =>
    id.kioskId === undefined
      ? { username: id.username, passwordHash: id.passwordHash, role: id.role }
      : { username: id.username, passwordHash: id.passwordHash, role: id.role, kioskId: id.kioskId },
  );
  return `${JSON.stringify(plain, null, 2)}\n`;
}

/**
 * Adds an identity to the identities file (created with mode 0600 if absent). Refuses a username
 * already in the file, and anything the broker would refuse to load (bad username, role, kiosk id).
 * `params` are the scrypt parameters; keep the defaults except in tests.
 */
export async function addIdentity(file: string, identity: NewIdentity, params: ScryptParams = SCRYPT_DEFAULTS): Promise<Identity> {
  const { table, mode } = await readTable(file);
  if (table.find(identity.username))
    throw new IdentityAdminError(`${file}: username ${JSON.stringify(identity.username)} already exists`, 'duplicate');
  const entry = {
    username: identity.username,
    role: identity.role,
    ...(identity.kioskId === undefined ? {} : { kioskId: identity.kioskId }),
  };
  // Validate names and roles before spending 50 ms on scrypt (the placeholder never verifies).
  IdentityTable.fromJson(
    [
      ...table.list(),
      { ...entry, passwordHash: `scrypt$1024$8$1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}` },
    ],
    file,
  );
  const next = IdentityTable.fromJson([...table.list(), { ...entry, passwordHash: await hashPassword(identity.password, params) }], file);
  await writeFileAtomic(file, serialise(next.list()), mode);
  return next.find(identity.username)!;
}

/** Removes an identity from the identities file; IdentityAdminError('unknown') when it is not there. */
export async function removeIdentity(file: string, username: string): Promise<void> {
  const { table, mode } = await readTable(file);
  if (!table.find(username)) throw new IdentityAdminError(`${file}: no identity with username ${JSON.stringify(username)}`, 'unknown');
  const next = IdentityTable.fromJson(
    table.list().filter((id) => id.username !== username),
    file,
  );
  await writeFileAtomic(file, serialise(next.list()), mode);
}
