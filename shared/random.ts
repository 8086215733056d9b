// SPDX-License-Identifier: Apache-2.0
// Randomness behind a port: real code uses the platform CSPRNG (Web Crypto, in Node and browsers);
// tests and the simulator use a seeded generator so every run replays exactly.

export interface Random {
  /** n fresh random bytes. */
  bytes(n: number): Uint8Array;
}

/**
 * Small requests are served from 4 KiB of CSPRNG output fetched at once: the server mints a random
 * id for every payment, and one getRandomValues call costs far more than copying 12 bytes. Bytes
 * handed out are zeroed in the pool, so it never holds a copy of what it gave.
 */
const POOL_BYTES = 4096;
const POOLED_MAX = 256;
let pool = new Uint8Array(0);
let used = 0;

export const cryptoRandom: Random = {
  bytes(n) {
    const out = new Uint8Array(n);
    if (n > POOLED_MAX) {
      // getRandomValues fills at most 65,536 bytes per call.
      for (let i = 0; i < n; i += 65_536) globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65_536)));
      return out;
    }
    if (used + n > pool.length) {
      pool = globalThis.crypto.getRandomValues(new Uint8Array(POOL_BYTES));
      used = 0;
    }
    out.set(pool.subarray(used, used + n));
    pool.fill(0, used, used + n);
    used += n;
    return out;
  },
};

/** sfc32 seeded through splitmix32: fast, well distributed, NOT for secrets. */
export function seededRandom(seed: number): Random & { nextUint32(): number; int(maxExclusive: number): number } {
  let s = seed >>> 0;
  const splitmix = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix(),
    b = splitmix(),
    c = splitmix(),
    d = splitmix();
  const nextUint32 = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  return {
    nextUint32,
    int: (maxExclusive) => Math.floor((nextUint32() / 2 ** 32) * maxExclusive),
    bytes(n) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = nextUint32() & 0xff;
      return out;
    },
  };
}
