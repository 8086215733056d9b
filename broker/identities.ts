// SPDX-License-Identifier: Apache-2.0
// Broker identities: who may connect, with which password, in which role. Passwords are stored
// only as scrypt hashes in the form `scrypt$N$r$p$saltB64$hashB64` and compared in constant time.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { hashPassword, isPasswordHash, SCRYPT_DEFAULTS, type ScryptParams } from '../shared/crypto/password-hash.ts';
import { isKioskId } from '../shared/topics.ts';

// Password hashing is shared with the operator logins of /ops (shared/crypto/password-hash.ts).
export {
  hashPassword,
  isPasswordHash,
  PASSWORD_BYTES_MAX,
  SCRYPT_DEFAULTS,
  verifyPassword,
  type ScryptParams,
} from '../shared/crypto/password-hash.ts';

export type Role = 'kiosk' | 'server' | 'technician' | 'operator' | 'test';

/** A kiosk's username is its kiosk id, so the ACL can tie topics to the authenticated name. */
export interface KioskIdentity {
  readonly username: string;
  readonly passwordHash: string;
  readonly role: 'kiosk';
  readonly kioskId: string;
}

export interface StaffIdentity {
  readonly username: string;
  readonly passwordHash: string;
  readonly role: 'server' | 'technician' | 'operator';
  readonly kioskId?: undefined;
}

/**
 * An identity for protocol conformance runs only (the Paho interoperability suite): it may log in
 * only when the broker runs with conformance rules (`kioskpay broker --conformance`), and then
 * only those rules apply to it, never the kp/v1 ACL. Without conformance mode it gets CONNACK 5.
 */
export interface TestIdentity {
  readonly username: string;
  readonly passwordHash: string;
  readonly role: 'test';
  readonly kioskId?: undefined;
}

export type Identity = KioskIdentity | StaffIdentity | TestIdentity;

/** The roles an identities file may name. */
export const ROLES: readonly Role[] = Object.freeze(['kiosk', 'server', 'technician', 'operator', 'test']);

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const identitySchema = z
  .strictObject({
    username: z.string().regex(USERNAME, 'must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit'),
    passwordHash: z.string().refine(isPasswordHash, 'must be scrypt$N$r$p$saltB64$hashB64 (see `kioskpay broker hash-password`)'),
    role: z.enum(['kiosk', 'server', 'technician', 'operator', 'test']),
    kioskId: z.string().optional(),
  })
  .superRefine((id, ctx) => {
    if (id.role === 'kiosk') {
      if (!isKioskId(id.kioskId))
        ctx.addIssue({ code: 'custom', path: ['kioskId'], message: 'a kiosk identity needs a kioskId of 1-32 characters a-z 0-9 -' });
      else if (id.username !== id.kioskId)
        ctx.addIssue({ code: 'custom', path: ['username'], message: "a kiosk identity's username must equal its kioskId" });
    } else if (id.kioskId !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['kioskId'], message: `only kiosk identities have a kioskId, not role ${id.role}` });
    }
  });

/** Most identities one table holds; a larger file is refused rather than half-loaded. */
export const IDENTITIES_MAX = 100_000;

/** An immutable, validated set of identities, looked up by username. */
export class IdentityTable {
  readonly #byName: ReadonlyMap<string, Identity>;

  private constructor(list: readonly Identity[]) {
    this.#byName = new Map(list.map((id) => [id.username, Object.freeze({ ...id })]));
  }

  /** Validates parsed JSON (an array of identities); throws an Error naming the first problem. */
  static fromJson(json: unknown, source = 'identities'): IdentityTable {
    const parsed = z.array(identitySchema).max(IDENTITIES_MAX).safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${source}: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`);
    }
    const seen = new Set<string>();
    for (const id of parsed.data) {
      if (seen.has(id.username)) throw new Error(`${source}: duplicate username ${JSON.stringify(id.username)}`);
      seen.add(id.username);
    }
    return new IdentityTable(parsed.data as Identity[]);
  }

  find(username: string): Identity | undefined {
    return this.#byName.get(username);
  }

  get size(): number {
    return this.#byName.size;
  }

  list(): readonly Identity[] {
    return [...this.#byName.values()];
  }
}

/** Reads and validates an identities file (a JSON array). */
export async function loadIdentities(file: string): Promise<IdentityTable> {
  const text = await readFile(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return IdentityTable.fromJson(json, file);
}

/** An identity with its clear-text password, for tests and demos only. */
export type IdentityWithPassword =
  | { username: string; password: string; role: 'kiosk'; kioskId: string }
  | { username: string; password: string; role: 'server' | 'technician' | 'operator' };

/** A conformance-test identity with its clear-text password (tests only). */
export interface TestIdentityWithPassword {
  username: string;
  password: string;
  role: 'test';
}

/** True when both describe the same login with the same rights (username, hash, role, kiosk id). */
export function sameIdentity(a: Identity, b: Identity): boolean {
  return a.username === b.username && a.passwordHash === b.passwordHash && a.role === b.role && a.kioskId === b.kioskId;
}

/** Builds an in-memory table by hashing clear-text passwords (about 50 ms per identity with the defaults). */
export async function identitiesFromPasswords(
  entries: readonly (IdentityWithPassword | TestIdentityWithPassword)[],
  params: ScryptParams = SCRYPT_DEFAULTS,
): Promise<IdentityTable> {
  const list = await Promise.all(
    entries.map(async ({ password, ...rest }) => ({ ...rest, passwordHash: await hashPassword(password, params) })),
  );
  return IdentityTable.fromJson(list, 'in-memory identities');
}
