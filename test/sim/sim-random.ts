// SPDX-License-Identifier: Apache-2.0
// The simulator's randomness: every choice comes from one seed (shared/random.ts seededRandom), split
// into independent streams per concern so adding a draw in one place does not reshuffle the others.
import { seededRandom, type Random } from '../../shared/random.ts';

export interface SimRandom extends Random {
  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** A new independent stream derived from this one. */
  fork(): SimRandom;
}

export function simRandom(seed: number): SimRandom {
  const r = seededRandom(seed);
  const self: SimRandom = {
    bytes: (n) => r.bytes(n),
    int: (max) => r.int(max),
    between: (lo, hi) => lo + r.int(hi - lo + 1),
    chance: (p) => p > 0 && r.nextUint32() / 2 ** 32 < p,
    pick: <T>(items: readonly T[]) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[r.int(items.length)]!;
    },
    fork: () => simRandom(r.nextUint32()),
  };
  return self;
}
