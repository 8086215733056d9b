// SPDX-License-Identifier: Apache-2.0
// Operator logins for the dashboard (/ops): scrypt password hashes in the same text form as the
// broker's identities (`scrypt$N$r$p$saltB64$hashB64`, written by `kioskpay broker hash-password`
// too), server-side sessions behind a random 32-byte cookie, and a lockout after repeated failures
// (per username and per client address, so neither guessing one name nor spraying many works).
// Each session also has its own random CSRF token, which the page sends with every state-changing
// request (a refund) and which no other site can read.
import { createHash, timingSafeEqual } from 'node:crypto';
import { hashPassword, isPasswordHash, PASSWORD_BYTES_MAX, SCRYPT_DEFAULTS, verifyPassword } from '../../shared/crypto/password-hash.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Random } from '../../shared/random.ts';

/** The hash parameters and password bound are the broker's: one module hashes every login (shared/crypto/password-hash.ts). */
export const OPERATOR_SCRYPT_DEFAULTS = SCRYPT_DEFAULTS;
export const OPERATOR_PASSWORD_BYTES_MAX = PASSWORD_BYTES_MAX;
export const OPERATOR_USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const OPERATOR_AUTH_DEFAULTS = Object.freeze({
  /** Session lifetime from login, in ms (12 h). */
  sessionTtlMs: 12 * 3_600_000,
  /** Live sessions kept at most; the oldest is dropped past this. */
  sessionsMax: 1_000,
  /** Failed logins for one username or one client address before it is locked. */
  failuresMax: 5,
  /** Failures count within this window, and a lock lasts this long, in ms (15 min). */
  lockoutMs: 15 * 60_000,
  /** Usernames and addresses tracked for failures at most; the oldest is forgotten. */
  trackedKeysMax: 10_000,
});

/** True when `hash` is a well-formed scrypt hash that verifyOperatorPassword can check. */
export const isOperatorPasswordHash = isPasswordHash;
/** Hashes an operator password (for config files and `npm start`). Tests may pass cheaper N (>= 1024). */
export const hashOperatorPassword = hashPassword;
/** Constant-time check; a malformed hash or an out-of-range password never verifies. */
export const verifyOperatorPassword = (password: string, hash: string): Promise<boolean> => verifyPassword(password, hash);

export interface OperatorLogin {
  readonly username: string;
  readonly passwordHash: string;
}

export type LoginResult =
  | { ok: true; token: string; username: string; expiresAt: number }
  | { ok: false; reason: 'bad-credentials' }
  | { ok: false; reason: 'locked'; retryAfterMs: number };

export interface OperatorSession {
  readonly username: string;
  readonly expiresAt: number;
  readonly csrfToken: string;
}

export interface OperatorAuthOptions {
  operators: readonly OperatorLogin[];
  clock: Clock;
  random: Random;
  sessionTtlMs?: number;
  sessionsMax?: number;
  failuresMax?: number;
  lockoutMs?: number;
}

interface Failures {
  count: number;
  firstAt: number;
  lockedUntil: number;
}

const tokenKey = (token: string) => createHash('sha256').update(token).digest('hex');

/** Logins, sessions and lockout. Sessions live in memory: a server restart logs every operator out. */
export class OperatorAuth {
  readonly #operators: ReadonlyMap<string, OperatorLogin>;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #o: { sessionTtlMs: number; sessionsMax: number; failuresMax: number; lockoutMs: number };
  /** sha256(token) -> session: a leaked memory dump does not hand out live cookies. */
  readonly #sessions = new Map<string, OperatorSession>();
  readonly #failures = new Map<string, Failures>();
  #decoy: Promise<string> | undefined;

  constructor(o: OperatorAuthOptions) {
    this.#operators = new Map(o.operators.map((op) => [op.username, op]));
    this.#clock = o.clock;
    this.#random = o.random;
    const d = OPERATOR_AUTH_DEFAULTS;
    this.#o = {
      sessionTtlMs: o.sessionTtlMs ?? d.sessionTtlMs,
      sessionsMax: o.sessionsMax ?? d.sessionsMax,
      failuresMax: o.failuresMax ?? d.failuresMax,
      lockoutMs: o.lockoutMs ?? d.lockoutMs,
    };
  }

  get sessionTtlMs(): number {
    return this.#o.sessionTtlMs;
  }

  /** Checks a login. A locked username or address is refused before its password is checked. */
  async login(username: string, password: string, clientKey: string): Promise<LoginResult> {
    const now = this.#clock.nowMs();
    const keys = [`u:${username}`, `a:${clientKey}`];
    const lockedUntil = Math.max(...keys.map((k) => this.#lockedUntil(k, now)));
    if (lockedUntil > now) return { ok: false, reason: 'locked', retryAfterMs: lockedUntil - now };
    const op = OPERATOR_USERNAME.test(username) ? this.#operators.get(username) : undefined;
    // Unknown usernames cost a scrypt too, so timing does not tell which names exist.
    this.#decoy ??= hashOperatorPassword('decoy for unknown operator names', { N: 16_384, r: 8, p: 1 });
    const hash = op?.passwordHash ?? (await this.#decoy);
    const ok = (await verifyOperatorPassword(password, hash)) && op !== undefined;
    if (!ok) {
      for (const k of keys) this.#fail(k, now);
      return { ok: false, reason: 'bad-credentials' };
    }
    for (const k of keys) this.#failures.delete(k);
    const token = Buffer.from(this.#random.bytes(32)).toString('base64url');
    const session: OperatorSession = {
      username,
      expiresAt: now + this.#o.sessionTtlMs,
      csrfToken: Buffer.from(this.#random.bytes(32)).toString('base64url'),
    };
    if (this.#sessions.size >= this.#o.sessionsMax) this.#sessions.delete(this.#sessions.keys().next().value as string);
    this.#sessions.set(tokenKey(token), session);
    return { ok: true, token, username, expiresAt: session.expiresAt };
  }

  /** The live session for a cookie token, or undefined (unknown, malformed or expired). */
  session(token: string | undefined): OperatorSession | undefined {
    if (token === undefined || !/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const key = tokenKey(token);
    const s = this.#sessions.get(key);
    if (!s) return undefined;
    if (this.#clock.nowMs() >= s.expiresAt) {
      this.#sessions.delete(key);
      return undefined;
    }
    return s;
  }

  /** True when `presented` is the session's CSRF token (compared in constant time). */
  static csrfMatches(session: OperatorSession, presented: string | undefined): boolean {
    if (presented === undefined) return false;
    const a = Buffer.from(presented, 'utf8');
    const b = Buffer.from(session.csrfToken, 'utf8');
    return a.length === b.length && timingSafeEqual(a, b);
  }

  logout(token: string | undefined): void {
    if (token !== undefined) this.#sessions.delete(tokenKey(token));
  }

  #lockedUntil(key: string, now: number): number {
    const f = this.#failures.get(key);
    if (!f) return 0;
    if (f.lockedUntil <= now && now - f.firstAt >= this.#o.lockoutMs) {
      this.#failures.delete(key);
      return 0;
    }
    return f.lockedUntil;
  }

  #fail(key: string, now: number): void {
    let f = this.#failures.get(key);
    if (!f || (f.lockedUntil <= now && now - f.firstAt >= this.#o.lockoutMs)) {
      if (!f && this.#failures.size >= OPERATOR_AUTH_DEFAULTS.trackedKeysMax)
        this.#failures.delete(this.#failures.keys().next().value as string);
      f = { count: 0, firstAt: now, lockedUntil: 0 };
      this.#failures.set(key, f);
    }
    f.count += 1;
    if (f.count >= this.#o.failuresMax) f.lockedUntil = now + this.#o.lockoutMs;
  }
}
