// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { toBase64url } from '../../../shared/bytes.ts';
import { nodeEd25519 } from '../../../shared/crypto/ed25519-node.ts';
import { ISSUER_KEY_ID, fixture, seed } from '../../../shared/codes/test-fixtures.ts';
import { signRevocations } from './offline-fixtures.ts';
import { REVOCATION_MAX_AGE_MS_DEFAULT, RevocationCache } from './revocation-cache.ts';
import type { TrustedTime } from './trusted-clock.ts';

const NOW_MS = 1_800_000_000_000;
const HOUR_MS = 3_600_000;
const REVOKED = 'ffffffffffffffff';
const at = (estimateMs: number, uncertaintyMs = 0): TrustedTime => ({ estimateMs, uncertaintyMs, trusted: true });

function world() {
  const f = fixture();
  const cache = new RevocationCache({ issuerKeys: f.issuerKeys, ed: nodeEd25519 });
  const list = (seq: number, issuedAt = NOW_MS, credentials = [REVOKED]) =>
    signRevocations({ seq, issuedAt, credentials }, f.issuer, ISSUER_KEY_ID);
  return { f, cache, list };
}

describe('revocation cache', () => {
  it('accepts a list signed by a pinned issuer key and reports revoked credentials', () => {
    const { cache, list } = world();
    expect(cache.accept(list(7))).toEqual({ accepted: true, seq: 7 });
    expect(cache.current).toEqual({ seq: 7, issuedAtMs: NOW_MS, size: 1 });
    expect(cache.check(REVOKED, at(NOW_MS))).toEqual({ ok: false, reason: 'CREDENTIAL_REVOKED' });
    expect(cache.check('0123456789abcdef', at(NOW_MS + 1_000))).toEqual({ ok: true, ageMs: 1_000 });
  });

  it('refuses offline acceptance before any list was received', () => {
    const { cache } = world();
    expect(cache.check('0123456789abcdef', at(NOW_MS))).toEqual({
      ok: false,
      reason: 'KIOSK_OFFLINE_UNAVAILABLE',
      cause: 'REVOCATIONS_MISSING',
    });
  });

  it('rejects a forged signature, and a body changed after signing', () => {
    const { cache, list } = world();
    const forger = nodeEd25519.keyPairFromSeed(seed(0x66));
    const forged = signRevocations({ seq: 9, issuedAt: NOW_MS, credentials: [] }, forger, ISSUER_KEY_ID);
    expect(cache.accept(forged)).toEqual({ accepted: false, reason: 'SIGNATURE_INVALID' });
    const genuine = list(9);
    expect(cache.accept({ ...genuine, body: genuine.body.replace(REVOKED, '1111111111111111') })).toEqual({
      accepted: false,
      reason: 'SIGNATURE_INVALID',
    });
    expect(cache.accept({ ...genuine, sig: toBase64url(new Uint8Array(64)) })).toEqual({ accepted: false, reason: 'SIGNATURE_INVALID' });
    expect(cache.current).toBeNull();
  });

  it('rejects a list under a key id that is not pinned, even if self-consistent', () => {
    const { cache } = world();
    const other = nodeEd25519.keyPairFromSeed(seed(0x77));
    expect(cache.accept(signRevocations({ seq: 1, issuedAt: NOW_MS, credentials: [] }, other, 99))).toEqual({
      accepted: false,
      reason: 'UNKNOWN_KEY',
    });
  });

  it('rejects malformed messages and signed but malformed bodies', () => {
    const { f, cache } = world();
    expect(cache.accept(null)).toEqual({ accepted: false, reason: 'MALFORMED' });
    expect(cache.accept({ v: 1, type: 'revocations', keyId: ISSUER_KEY_ID, body: '{}' })).toEqual({ accepted: false, reason: 'MALFORMED' });
    // Bodies signed with the real key that are not valid lists.
    const resign = (text: string) => {
      const m = signRevocations({ seq: 1, issuedAt: NOW_MS, credentials: [] }, f.issuer, ISSUER_KEY_ID);
      const signed = new TextEncoder().encode('kioskpay/revocations/v1\0' + text);
      return { ...m, body: text, sig: toBase64url(nodeEd25519.sign(signed, f.issuer.secretKey)) };
    };
    expect(cache.accept(resign('not json'))).toEqual({ accepted: false, reason: 'BODY_MALFORMED' });
    expect(cache.accept(resign('{"seq":1,"issuedAt":1,"credentials":["XYZ"]}'))).toEqual({ accepted: false, reason: 'BODY_MALFORMED' });
    expect(cache.current).toBeNull();
  });

  it('ignores a list whose seq is not newer (re-delivery or replay of an old list)', () => {
    const { cache, list } = world();
    expect(cache.accept(list(5, NOW_MS, [REVOKED])).accepted).toBe(true);
    expect(cache.accept(list(5, NOW_MS + HOUR_MS, []))).toEqual({ accepted: false, reason: 'NOT_NEWER' });
    expect(cache.accept(list(4, NOW_MS + HOUR_MS, []))).toEqual({ accepted: false, reason: 'NOT_NEWER' });
    // The replayed older list did not un-revoke anything nor refresh the age.
    expect(cache.check(REVOKED, at(NOW_MS))).toEqual({ ok: false, reason: 'CREDENTIAL_REVOKED' });
    expect(cache.current?.issuedAtMs).toBe(NOW_MS);
    expect(cache.accept(list(6, NOW_MS + HOUR_MS, []))).toEqual({ accepted: true, seq: 6 });
    expect(cache.check(REVOKED, at(NOW_MS + HOUR_MS)).ok).toBe(true);
  });

  it('refuses offline acceptance when the list is older than 6 hours, counting the clock uncertainty', () => {
    const { cache, list } = world();
    expect(REVOCATION_MAX_AGE_MS_DEFAULT).toBe(6 * HOUR_MS);
    cache.accept(list(1));
    expect(cache.check('0123456789abcdef', at(NOW_MS + 6 * HOUR_MS))).toEqual({ ok: true, ageMs: 6 * HOUR_MS });
    const stale = { ok: false, reason: 'KIOSK_OFFLINE_UNAVAILABLE', cause: 'REVOCATIONS_STALE' };
    expect(cache.check('0123456789abcdef', at(NOW_MS + 6 * HOUR_MS + 1))).toEqual(stale);
    expect(cache.check('0123456789abcdef', at(NOW_MS + 6 * HOUR_MS - 500, 501))).toEqual(stale);
  });

  it('honours a configured maximum age', () => {
    const { f, list } = world();
    const cache = new RevocationCache({ issuerKeys: f.issuerKeys, ed: nodeEd25519, maxAgeMs: HOUR_MS });
    cache.accept(list(1));
    expect(cache.check('0123456789abcdef', at(NOW_MS + HOUR_MS + 1))).toMatchObject({ ok: false, cause: 'REVOCATIONS_STALE' });
  });

  it('cannot judge the age without a trusted clock', () => {
    const { cache, list } = world();
    cache.accept(list(1));
    expect(cache.check('0123456789abcdef', { estimateMs: NOW_MS, uncertaintyMs: Infinity, trusted: false })).toEqual({
      ok: false,
      reason: 'KIOSK_OFFLINE_UNAVAILABLE',
      cause: 'CLOCK_UNTRUSTED',
    });
  });

  it('treats a list issued ahead of the kiosk clock as age 0', () => {
    const { cache, list } = world();
    cache.accept(list(1, NOW_MS + 10_000));
    expect(cache.check('0123456789abcdef', at(NOW_MS))).toEqual({ ok: true, ageMs: 0 });
  });

  it('persists the signed message and re-verifies it when loaded', () => {
    const { f, cache, list } = world();
    cache.accept(list(3));
    const saved = JSON.parse(JSON.stringify(cache.toState())) as unknown;
    const reloaded = new RevocationCache({ issuerKeys: f.issuerKeys, ed: nodeEd25519 });
    expect(reloaded.accept(saved)).toEqual({ accepted: true, seq: 3 });
    const tampered = { ...(saved as Record<string, unknown>), body: (saved as { body: string }).body.replace(REVOKED, '1111111111111111') };
    expect(new RevocationCache({ issuerKeys: f.issuerKeys, ed: nodeEd25519 }).accept(tampered).accepted).toBe(false);
    expect(new RevocationCache({ issuerKeys: f.issuerKeys, ed: nodeEd25519 }).toState()).toBeNull();
  });
});
