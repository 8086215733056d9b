// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { toHex } from './bytes.ts';
import { cryptoRandom } from './random.ts';

describe('cryptoRandom', () => {
  it('gives the length asked for, and never the same bytes twice, across refills of its pool', () => {
    const seen = new Set<string>();
    // 12-byte ids (as the server mints them) over several 4 KiB refills, a size that straddles a refill, and large requests.
    for (let i = 0; i < 1_000; i++) seen.add(toHex(cryptoRandom.bytes(12)));
    for (const n of [1, 255, 256, 257, 4096, 70_000]) {
      const b = cryptoRandom.bytes(n);
      expect(b).toHaveLength(n);
      if (n >= 16) seen.add(toHex(b));
    }
    expect(seen.size).toBe(1_000 + 5);
    expect(cryptoRandom.bytes(0)).toHaveLength(0);
  });

  it('fills every byte: no zeros left over from the pool (a zero run of 32 bytes has odds of 2^-256)', () => {
    for (let i = 0; i < 300; i++) expect(cryptoRandom.bytes(32).some((x) => x !== 0)).toBe(true);
  });
});
