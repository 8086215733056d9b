// SPDX-License-Identifier: Apache-2.0
// One contract suite, run against both Ed25519 adapters.
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../bytes.ts';
import { seededRandom } from '../random.ts';
import { hasCanonicalS, isSmallOrderPublicKey, type Ed25519 } from './ed25519.ts';
import { naclEd25519 } from './ed25519-nacl.ts';
import { nodeEd25519, PUBLIC_KEY_CACHE_ENTRIES_MAX } from './ed25519-node.ts';

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const leToBig = (b: Uint8Array) => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
const bigToLe = (n: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
/** The same signature with S replaced by S + k*L: equal mod L, so lax verifiers accept it. */
function withSPlus(sig: Uint8Array, k: bigint): Uint8Array {
  const out = sig.slice();
  out.set(bigToLe(leToBig(sig.subarray(32)) + k * L), 32);
  return out;
}

// RFC 8032, section 7.1, TEST 1 and TEST 2.
const RFC8032 = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];

/** libsodium's blocklist (y with the sign bit cleared), each also with the sign bit set. */
const SMALL_ORDER_KEYS = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].flatMap((hex) => {
  const b = fromHex(hex)!;
  const signed = b.slice();
  signed[31]! |= 0x80;
  return [b, signed];
});

for (const [name, ed] of [
  ['nodeEd25519', nodeEd25519],
  ['naclEd25519', naclEd25519],
] as [string, Ed25519][]) {
  describe(`${name} (Ed25519 contract)`, () => {
    it('reproduces the RFC 8032 test vectors', () => {
      for (const v of RFC8032) {
        const kp = ed.keyPairFromSeed(fromHex(v.seed)!);
        expect(toHex(kp.publicKey)).toBe(v.publicKey);
        expect(toHex(kp.secretKey)).toBe(v.seed + v.publicKey);
        expect(toHex(ed.sign(fromHex(v.message)!, kp.secretKey))).toBe(v.signature);
        expect(ed.verify(fromHex(v.message)!, fromHex(v.signature)!, kp.publicKey)).toBe(true);
      }
    });

    it('rejects a changed message, signature or key', () => {
      const kp = ed.keyPairFromSeed(new Uint8Array(32).fill(5));
      const other = ed.keyPairFromSeed(new Uint8Array(32).fill(6));
      const msg = utf8('kioskpay');
      const sig = ed.sign(msg, kp.secretKey);
      expect(ed.verify(msg, sig, kp.publicKey)).toBe(true);
      expect(ed.verify(utf8('kioskpaY'), sig, kp.publicKey)).toBe(false);
      expect(ed.verify(msg, sig, other.publicKey)).toBe(false);
      for (const i of [0, 31, 32, 63]) {
        const bad = sig.slice();
        bad[i]! ^= 1;
        expect(ed.verify(msg, bad, kp.publicKey)).toBe(false);
      }
    });

    it('verify answers false, never throws, on wrong lengths and wrong types', () => {
      const kp = ed.keyPairFromSeed(new Uint8Array(32).fill(5));
      const msg = utf8('x');
      const sig = ed.sign(msg, kp.secretKey);
      expect(ed.verify(msg, sig.subarray(0, 63), kp.publicKey)).toBe(false);
      expect(ed.verify(msg, new Uint8Array([...sig, 0]), kp.publicKey)).toBe(false);
      expect(ed.verify(msg, sig, kp.publicKey.subarray(0, 31))).toBe(false);
      expect(ed.verify(msg, sig, new Uint8Array(33))).toBe(false);
      const junk = [undefined, null, 'abc', 42, {}, [1, 2, 3]] as unknown as Uint8Array[];
      for (const j of junk) {
        expect(ed.verify(j, sig, kp.publicKey)).toBe(false);
        expect(ed.verify(msg, j, kp.publicKey)).toBe(false);
        expect(ed.verify(msg, sig, j)).toBe(false);
      }
      expect(ed.verify(msg, new Uint8Array(64).fill(0xff), new Uint8Array(32).fill(0xff))).toBe(false);
    });

    it('rejects a signature whose S is not reduced (S + L, S + 2L), which tweetnacl alone accepts', () => {
      const kp = ed.keyPairFromSeed(new Uint8Array(32).fill(7));
      const msg = utf8('malleable');
      const sig = ed.sign(msg, kp.secretKey);
      expect(hasCanonicalS(sig)).toBe(true);
      for (const k of [1n, 2n]) {
        const mauled = withSPlus(sig, k);
        expect(hasCanonicalS(mauled)).toBe(false);
        expect(nacl.sign.detached.verify(msg, mauled, kp.publicKey)).toBe(true); // why the check exists
        expect(ed.verify(msg, mauled, kp.publicKey)).toBe(false);
      }
    });

    it('rejects every small-order public key, for which OpenSSL alone accepts forgeries', () => {
      const r = seededRandom(8);
      for (const pk of SMALL_ORDER_KEYS) {
        expect(isSmallOrderPublicKey(pk)).toBe(true);
        // R = the key itself, S = 0: passes a plain RFC 8032 check for about 1 message in 8.
        const forged = new Uint8Array(64);
        forged.set(pk, 0);
        for (let i = 0; i < 16; i++) expect(ed.verify(r.bytes(16), forged, pk)).toBe(false);
      }
      // Why the check exists: OpenSSL 3.0 (Node 20) accepts this forgery by the all-zero key; OpenSSL
      // 3.5 (Node 26) refuses it. Ours refuses it whichever OpenSSL runs underneath.
      expect(ed.verify(new Uint8Array(3), new Uint8Array(64), new Uint8Array(32))).toBe(false);
    });

    it("sign refuses a secret key whose public half is not the seed's public key", () => {
      const kp = ed.keyPairFromSeed(new Uint8Array(32).fill(9));
      const other = ed.keyPairFromSeed(new Uint8Array(32).fill(10));
      const forged = kp.secretKey.slice();
      forged.set(other.publicKey, 32);
      expect(() => ed.sign(utf8('m'), forged)).toThrow(/public half/);
      // An array that was checked once and then overwritten is checked again.
      const mutable = ed.keyPairFromSeed(new Uint8Array(32).fill(9)).secretKey;
      ed.sign(utf8('m'), mutable);
      mutable.set(other.publicKey, 32);
      expect(() => ed.sign(utf8('m'), mutable)).toThrow(/public half/);
    });

    it('throws on wrong seed and secret key lengths (programmer errors)', () => {
      expect(() => ed.keyPairFromSeed(new Uint8Array(31))).toThrow();
      expect(() => ed.sign(utf8('m'), new Uint8Array(32))).toThrow();
    });

    it('returns fresh arrays the caller owns', () => {
      const s = new Uint8Array(32).fill(11);
      const a = ed.keyPairFromSeed(s),
        b = ed.keyPairFromSeed(s);
      expect(a.publicKey).not.toBe(b.publicKey);
      expect(a.publicKey.buffer.byteLength).toBe(32);
      expect(a.secretKey.buffer.byteLength).toBe(64);
      const sig = ed.sign(utf8('m'), a.secretKey);
      expect(sig.buffer.byteLength).toBe(64);
      a.publicKey.fill(0);
      expect(b.publicKey).not.toEqual(a.publicKey);
    });
  });
}

describe('nodeEd25519 public key cache', () => {
  it('keeps verifying correctly after more distinct keys than the cache holds', () => {
    const kp = nodeEd25519.keyPairFromSeed(new Uint8Array(32).fill(12));
    const msg = utf8('cached');
    const sig = nodeEd25519.sign(msg, kp.secretKey);
    expect(nodeEd25519.verify(msg, sig, kp.publicKey)).toBe(true);
    const r = seededRandom(13);
    for (let i = 0; i < PUBLIC_KEY_CACHE_ENTRIES_MAX + 100; i++) expect(nodeEd25519.verify(msg, sig, r.bytes(32))).toBe(false);
    expect(nodeEd25519.verify(msg, sig, kp.publicKey)).toBe(true);
  });
});
