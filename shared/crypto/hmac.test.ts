// SPDX-License-Identifier: Apache-2.0
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../bytes.ts';
import { seededRandom } from '../random.ts';
import { hmacSha512 } from './hmac.ts';

const fill = (n: number, byte: number) => new Uint8Array(n).fill(byte);

// RFC 4231, section 4: HMAC-SHA-512 test cases 1-7 (case 5 is truncated to 128 bits).
const RFC4231: { name: string; key: Uint8Array; data: Uint8Array; hmac: string }[] = [
  {
    name: '1',
    key: fill(20, 0x0b),
    data: utf8('Hi There'),
    hmac: '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854',
  },
  {
    name: '2',
    key: utf8('Jefe'),
    data: utf8('what do ya want for nothing?'),
    hmac: '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
  },
  {
    name: '3',
    key: fill(20, 0xaa),
    data: fill(50, 0xdd),
    hmac: 'fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb',
  },
  {
    name: '4',
    key: fromHex('0102030405060708090a0b0c0d0e0f10111213141516171819')!,
    data: fill(50, 0xcd),
    hmac: 'b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd',
  },
  { name: '5 (truncated)', key: fill(20, 0x0c), data: utf8('Test With Truncation'), hmac: '415fad6271580a531d4179bc891d87a6' },
  {
    name: '6 (key larger than a block)',
    key: fill(131, 0xaa),
    data: utf8('Test Using Larger Than Block-Size Key - Hash Key First'),
    hmac: '80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598',
  },
  {
    name: '7 (key and data larger than a block)',
    key: fill(131, 0xaa),
    data: utf8(
      'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
    ),
    hmac: 'e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58',
  },
];

describe('hmacSha512', () => {
  for (const v of RFC4231) {
    it(`matches RFC 4231 test case ${v.name}`, () => {
      expect(toHex(hmacSha512(v.key, v.data)).slice(0, v.hmac.length)).toBe(v.hmac);
    });
  }

  it('matches node:crypto for keys around the block size (0..300 bytes) and random messages', () => {
    const r = seededRandom(4);
    for (const keyBytes of [0, 1, 16, 32, 63, 64, 65, 127, 128, 129, 200, 300]) {
      for (let i = 0; i < 5; i++) {
        const key = r.bytes(keyBytes);
        const data = r.bytes(r.int(300));
        expect(toHex(hmacSha512(key, data))).toBe(createHmac('sha512', key).update(data).digest('hex'));
      }
    }
  });

  it('returns 64 fresh bytes and leaves its inputs unchanged', () => {
    const key = fill(10, 1),
      data = fill(10, 2);
    const mac = hmacSha512(key, data);
    expect(mac.length).toBe(64);
    expect(mac.buffer.byteLength).toBe(64);
    expect(key).toEqual(fill(10, 1));
    expect(data).toEqual(fill(10, 2));
  });
});
