// SPDX-License-Identifier: Apache-2.0
// Broker identities: who may connect, with which password, in which role. Passwords are stored
// only as scrypt hashes in the form `scrypt$N$r$p$saltB64$hashB64` and compared in constant time.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { isKioskId } from '../shared/topics.ts';

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

/** Parameters for new hashes: N=2^14, r=8, p=1 (16 MiB, about 50 ms here), 16-byte salt, 32-byte key. */
export const SCRYPT_DEFAULTS = Object.freeze({ N: 16_384, r: 8, p: 1, saltBytes: 16, keyBytes: 32 });

/** Bounds on parameters read from a hash, so a hostile identities file cannot make one login cost seconds. */
const SCRYPT_BOUNDS = Object.freeze({ NMin: 1024, NMax: 1_048_576, rMax: 32, pMax: 16, saltBytesMin: 16, keyBytesMin: 16, keyBytesMax: 64 });
/** Passwords longer than this (UTF-8 bytes) are refused before hashing. */
export const PASSWORD_BYTES_MAX = 1024;

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

interface ParsedHash { N: number; r: number; p: number; salt: Buffer; key: Buffer }

function scryptAsync(password: Uint8Array, salt: Buffer, keyBytes: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyBytes, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Memory limit for one scrypt call: its need (128 * N * r) with room to spare. */
function maxmemFor(N: number, r: number): number {
  return 128 * N * r * 2;
}

function parseHash(hash: string): ParsedHash | undefined {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [, nText, rText, pText, saltText, keyText] = parts as [string, string, string, string, string, string];
  const [N, r, p] = [nText, rText, pText].map((t) => (/^[1-9][0-9]{0,7}$/.test(t) ? Number(t) : NaN)) as [number, number, number];
  const b = SCRYPT_BOUNDS;
  if (!(N >= b.NMin && N <= b.NMax && (N & (N - 1)) === 0)) return undefined;
  if (!(r >= 1 && r <= b.rMax && p >= 1 && p <= b.pMax)) return undefined;
  if (!BASE64.test(saltText) || !BASE64.test(keyText)) return undefined;
  const salt = Buffer.from(saltText, 'base64');
  const key = Buffer.from(keyText, 'base64');
  if (salt.length < b.saltBytesMin || key.length < b.keyBytesMin || key.length > b.keyBytesMax) return undefined;
  return { N, r, p, salt, key };
}

/** True when `hash` is a well-formed scrypt hash this module can verify. */
export function isPasswordHash(hash: unknown): hash is string {
  return typeof hash === 'string' && parseHash(hash) !== undefined;
}

/** scrypt cost parameters: N (a power of two), r and p. */
export interface ScryptParams { readonly N: number; readonly r: number; readonly p: number }

/**
 * Hashes a password with a fresh random salt. Always use the defaults for real identities; tests
 * may pass cheaper parameters (at least N=1024) to keep logins fast.
 */
export async function hashPassword(password: string, params: ScryptParams = SCRYPT_DEFAULTS): Promise<string> {
  const bytes = Buffer.from(password, 'utf8');
  if (bytes.length === 0) throw new Error('password must not be empty');
  if (bytes.length > PASSWORD_BYTES_MAX) throw new Error(`password must be at most ${PASSWORD_BYTES_MAX} bytes`);
  const { N, r, p } = params;
  const { saltBytes, keyBytes } = SCRYPT_DEFAULTS;
  const b = SCRYPT_BOUNDS;
  if (!(N >= b.NMin && N <= b.NMax && (N & (N - 1)) === 0 && r >= 1 && r <= b.rMax && p >= 1 && p <= b.pMax)) {
    throw new Error(`scrypt parameters out of bounds: N=${N} r=${r} p=${p}`);
  }
  const salt = randomBytes(saltBytes);
  const key = await scryptAsync(bytes, salt, keyBytes, { N, r, p, maxmem: maxmemFor(N, r) });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Constant-time check of a password against a stored hash. A malformed hash never verifies. */
export async function verifyPassword(password: string | Uint8Array, hash: string): Promise<boolean> {
  const parsed = parseHash(hash);
  const bytes = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  if (!parsed || bytes.length === 0 || bytes.length > PASSWORD_BYTES_MAX) return false;
  const key = await scryptAsync(bytes, parsed.salt, parsed.key.length, { N: parsed.N, r: parsed.r, p: parsed.p, maxmem: maxmemFor(parsed.N, parsed.r) });
  return timingSafeEqual(key, parsed.key);
}

const identitySchema = z.strictObject({
  username: z.string().regex(USERNAME, 'must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit'),
  passwordHash: z.string().refine(isPasswordHash, 'must be scrypt$N$r$p$saltB64$hashB64 (see `kioskpay broker hash-password`)'),
  role: z.enum(['kiosk', 'server', 'technician', 'operator', 'test']),
  kioskId: z.string().optional(),
}).superRefine((id, ctx) => {
  if (id.role === 'kiosk') {
    if (!isKioskId(id.kioskId)) ctx.addIssue({ code: 'custom', path: ['kioskId'], message: 'a kiosk identity needs a kioskId of 1-32 characters a-z 0-9 -' });
    else if (id.username !== id.kioskId) ctx.addIssue({ code: 'custom', path: ['username'], message: 'a kiosk identity\'s username must equal its kioskId' });
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
export interface TestIdentityWithPassword { username: string; password: string; role: 'test' }

/** True when both describe the same login with the same rights (username, hash, role, kiosk id). */
export function sameIdentity(a: Identity, b: Identity): boolean {
  return a.username === b.username && a.passwordHash === b.passwordHash && a.role === b.role && a.kioskId === b.kioskId;
}

/** Builds an in-memory table by hashing clear-text passwords (about 50 ms per identity with the defaults). */
export async function identitiesFromPasswords(entries: readonly (IdentityWithPassword | TestIdentityWithPassword)[], params: ScryptParams = SCRYPT_DEFAULTS): Promise<IdentityTable> {
  const list = await Promise.all(entries.map(async ({ password, ...rest }) => ({ ...rest, passwordHash: await hashPassword(password, params) })));
  return IdentityTable.fromJson(list, 'in-memory identities');
}
