// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../shared/random.ts';
import { newPaymentId } from './ids.ts';

describe('newPaymentId', () => {
  it('sorts by creation time, so new payments add their keys at the end of every index on the id', () => {
    const random = seededRandom(7);
    const times = [0, 1, 255, 256, 1_795_867_200_000, 1_795_867_200_001, 2 ** 47 - 1];
    const ids = times.map((t) => newPaymentId(t, random));
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(/^pay_[0-9a-f]{32}$/);
    expect(ids[4]!.slice(4, 16)).toBe((1_795_867_200_000).toString(16).padStart(12, '0'));
  });

  it('keeps 80 random bits: ids made in the same millisecond differ', () => {
    const random = seededRandom(8);
    const ids = new Set(Array.from({ length: 1000 }, () => newPaymentId(1_795_867_200_000, random)));
    expect(ids.size).toBe(1000);
  });
});
