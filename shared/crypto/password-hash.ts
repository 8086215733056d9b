// SPDX-License-Identifier: Apache-2.0
// Password hashes, written once for every login we check: broker identities (broker/identities.ts)
// and operator logins to /ops (server/ops/operator-auth.ts). scrypt, stored as the text
// `scrypt$N$r$p$saltB64$hashB64` (the form `kioskpay broker hash-password` prints), compared in
// constant time. Node only (node:crypto): never imported by the wallet's browser build.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** Parameters for new hashes: N=2^14, r=8, p=1 (16 MiB, about 50 ms here), 16-byte salt, 32-byte key. */
export const SCRYPT_DEFAULTS = Object.freeze({ N: 16_384, r: 8, p: 1, saltBytes: 16, keyBytes: 32 });
/** Bounds on parameters read from a hash, so a hostile config cannot make one login cost seconds. */
const SCRYPT_BOUNDS = Object.freeze({
  NMin: 1024,
  NMax: 1_048_576,
  rMax: 32,
  pMax: 16,
  saltBytesMin: 16,
  keyBytesMin: 16,
  keyBytesMax: 64,
});
/** Passwords longer than this (UTF-8 bytes) are refused before hashing. */
export const PASSWORD_BYTES_MAX = 1024;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** scrypt cost parameters: N (a power of two), r and p. */
export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}
interface ParsedHash extends ScryptParams {
  salt: Buffer;
  key: Buffer;
}

function inBounds({ N, r, p }: ScryptParams): boolean {
  const b = SCRYPT_BOUNDS;
  return N >= b.NMin && N <= b.NMax && (N & (N - 1)) === 0 && r >= 1 && r <= b.rMax && p >= 1 && p <= b.pMax;
}

function scryptAsync(password: Uint8Array, salt: Buffer, keyBytes: number, { N, r, p }: ScryptParams): Promise<Buffer> {
  // Memory limit for one call: its need (128 * N * r) with room to spare.
  const opts: ScryptOptions = { N, r, p, maxmem: 128 * N * r * 2 };
  return new Promise((resolve, reject) => scrypt(password, salt, keyBytes, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

function parseHash(hash: string): ParsedHash | undefined {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [, nText, rText, pText, saltText, keyText] = parts as [string, string, string, string, string, string];
  const [N, r, p] = [nText, rText, pText].map((t) => (/^[1-9][0-9]{0,7}$/.test(t) ? Number(t) : NaN)) as [number, number, number];
  if (!inBounds({ N, r, p }) || !BASE64.test(saltText) || !BASE64.test(keyText)) return undefined;
  const salt = Buffer.from(saltText, 'base64');
  const key = Buffer.from(keyText, 'base64');
  const b = SCRYPT_BOUNDS;
  if (salt.length < b.saltBytesMin || key.length < b.keyBytesMin || key.length > b.keyBytesMax) return undefined;
  return { N, r, p, salt, key };
}

/** True when `hash` is a well-formed scrypt hash that verifyPassword can check. */
export function isPasswordHash(hash: unknown): hash is string {
  return typeof hash === 'string' && parseHash(hash) !== undefined;
}

/**
 * Hashes a password with a fresh random salt. Always use the defaults for real logins; tests may
 * pass cheaper parameters (at least N=1024) to keep logins fast.
 */
export async function hashPassword(password: string, params: ScryptParams = SCRYPT_DEFAULTS): Promise<string> {
  const bytes = Buffer.from(password, 'utf8');
  if (bytes.length === 0) throw new Error('password must not be empty');
  if (bytes.length > PASSWORD_BYTES_MAX) throw new Error(`password must be at most ${PASSWORD_BYTES_MAX} bytes`);
  if (!inBounds(params)) throw new Error(`scrypt parameters out of bounds: N=${params.N} r=${params.r} p=${params.p}`);
  const salt = randomBytes(SCRYPT_DEFAULTS.saltBytes);
  const key = await scryptAsync(bytes, salt, SCRYPT_DEFAULTS.keyBytes, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Constant-time check of a password against a stored hash. A malformed hash or an out-of-range password never verifies. */
export async function verifyPassword(password: string | Uint8Array, hash: string): Promise<boolean> {
  const parsed = parseHash(hash);
  const bytes = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  if (!parsed || bytes.length === 0 || bytes.length > PASSWORD_BYTES_MAX) return false;
  const key = await scryptAsync(bytes, parsed.salt, parsed.key.length, parsed);
  return timingSafeEqual(key, parsed.key);
}
