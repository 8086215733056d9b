// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.ts';
import { seededRandom } from '../../shared/random.ts';
import { hashOperatorPassword, isOperatorPasswordHash, OperatorAuth, verifyOperatorPassword } from './operator-auth.ts';

const T0 = Date.UTC(2026, 10, 28, 3, 0, 0);
const CHEAP = { N: 1024, r: 8, p: 1 };
const MIN = 60_000;

async function makeAuth(o: { failuresMax?: number } = {}) {
  const clock = new ManualClock(T0);
  const auth = new OperatorAuth({
    operators: [{ username: 'ops', passwordHash: await hashOperatorPassword('correct horse', CHEAP) }],
    clock,
    random: seededRandom(7),
    ...o,
  });
  return { clock, auth };
}

describe('operator passwords', () => {
  it('hashes in the broker identities format and verifies only the right password', async () => {
    const hash = await hashOperatorPassword('s3cret', CHEAP);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/);
    expect(isOperatorPasswordHash(hash)).toBe(true);
    expect(await verifyOperatorPassword('s3cret', hash)).toBe(true);
    expect(await verifyOperatorPassword('s3cret ', hash)).toBe(false);
    expect(await verifyOperatorPassword('', hash)).toBe(false);
  });

  it('never verifies against a malformed or out-of-bounds hash', async () => {
    for (const bad of [
      '',
      'scrypt$1024$8$1$x$y',
      'bcrypt$2$...',
      'scrypt$4194304$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAA==',
      'scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAA==',
    ]) {
      expect(isOperatorPasswordHash(bad)).toBe(false);
      expect(await verifyOperatorPassword('anything', bad)).toBe(false);
    }
  });

  it('refuses empty passwords and weak parameters when hashing', async () => {
    await expect(hashOperatorPassword('')).rejects.toThrow(/password/);
    await expect(hashOperatorPassword('x', { N: 512, r: 8, p: 1 })).rejects.toThrow(/out of bounds/);
  });
});

describe('operator sessions and lockout', () => {
  it('logs in with the right password and hands out a 32-byte token that names the operator', async () => {
    const { auth } = await makeAuth();
    const r = await auth.login('ops', 'correct horse', '127.0.0.1');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Buffer.from(r.token, 'base64url')).toHaveLength(32);
    expect(r.expiresAt).toBe(T0 + 12 * 3_600_000);
    const session = auth.session(r.token)!;
    expect(session).toEqual({ username: 'ops', expiresAt: r.expiresAt, csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(session.csrfToken).not.toBe(r.token);
  });

  it('gives each session its own CSRF token and matches only that token', async () => {
    const { auth } = await makeAuth();
    const a = await auth.login('ops', 'correct horse', '127.0.0.1');
    const b = await auth.login('ops', 'correct horse', '127.0.0.1');
    if (!a.ok || !b.ok) throw new Error('login failed');
    const sa = auth.session(a.token)!,
      sb = auth.session(b.token)!;
    expect(sa.csrfToken).not.toBe(sb.csrfToken);
    expect(OperatorAuth.csrfMatches(sa, sa.csrfToken)).toBe(true);
    expect(OperatorAuth.csrfMatches(sa, sb.csrfToken)).toBe(false);
    expect(OperatorAuth.csrfMatches(sa, undefined)).toBe(false);
    expect(OperatorAuth.csrfMatches(sa, '')).toBe(false);
    expect(OperatorAuth.csrfMatches(sa, a.token)).toBe(false);
  });

  it('refuses a wrong password and an unknown operator alike', async () => {
    const { auth } = await makeAuth();
    expect(await auth.login('ops', 'wrong', 'a')).toEqual({ ok: false, reason: 'bad-credentials' });
    expect(await auth.login('nobody', 'correct horse', 'b')).toEqual({ ok: false, reason: 'bad-credentials' });
    expect(await auth.login('../etc', 'correct horse', 'c')).toEqual({ ok: false, reason: 'bad-credentials' });
  });

  it('expires a session after 12 hours and ends it on logout', async () => {
    const { auth, clock } = await makeAuth();
    const a = await auth.login('ops', 'correct horse', 'x');
    const b = await auth.login('ops', 'correct horse', 'x');
    if (!a.ok || !b.ok) throw new Error('login failed');
    auth.logout(a.token);
    expect(auth.session(a.token)).toBeUndefined();
    clock.advance(12 * 3_600_000 - 1);
    expect(auth.session(b.token)?.username).toBe('ops');
    clock.advance(1);
    expect(auth.session(b.token)).toBeUndefined();
  });

  it('does not accept made-up or malformed tokens', async () => {
    const { auth } = await makeAuth();
    expect(auth.session(undefined)).toBeUndefined();
    expect(auth.session('')).toBeUndefined();
    expect(auth.session('A'.repeat(43))).toBeUndefined();
    expect(auth.session('A'.repeat(10_000))).toBeUndefined();
  });

  it('locks a username after five failures, even for the right password, until the lockout passes', async () => {
    const { auth, clock } = await makeAuth();
    for (let i = 0; i < 5; i++) expect((await auth.login('ops', `guess ${i}`, `addr-${i}`)).ok).toBe(false);
    expect(await auth.login('ops', 'correct horse', 'fresh-addr')).toEqual({ ok: false, reason: 'locked', retryAfterMs: 15 * MIN });
    clock.advance(15 * MIN);
    expect((await auth.login('ops', 'correct horse', 'fresh-addr')).ok).toBe(true);
  });

  it('locks a client address that sprays many usernames', async () => {
    const { auth } = await makeAuth();
    for (let i = 0; i < 5; i++) await auth.login(`user${i}`, 'pw', 'sprayer');
    expect(await auth.login('ops', 'correct horse', 'sprayer')).toMatchObject({ ok: false, reason: 'locked' });
    expect((await auth.login('ops', 'correct horse', 'someone-else')).ok).toBe(true);
  });

  it('forgets failures older than the window', async () => {
    const { auth, clock } = await makeAuth();
    for (let i = 0; i < 4; i++) await auth.login('ops', 'wrong', 'a');
    clock.advance(15 * MIN);
    await auth.login('ops', 'wrong', 'a');
    expect((await auth.login('ops', 'correct horse', 'a')).ok).toBe(true);
  });
});
