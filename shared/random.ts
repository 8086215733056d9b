// SPDX-License-Identifier: Apache-2.0
// Randomness behind a port: real code uses the platform CSPRNG (Web Crypto, in Node and browsers);
// tests and the simulator use a seeded generator so every run replays exactly.

export interface Random {
  /** n fresh random bytes. */
  bytes(n: number): Uint8Array;
}

export const cryptoRandom: Random = {
  bytes(n) {
    const out = new Uint8Array(n);
    // getRandomValues fills at most 65,536 bytes per call.
    for (let i = 0; i < n; i += 65_536) globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65_536)));
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
