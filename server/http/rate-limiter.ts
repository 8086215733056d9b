// SPDX-License-Identifier: Apache-2.0
// Token buckets per client key, with a bounded number of tracked keys (oldest forgotten first).
import type { Clock } from '../../shared/clock.ts';

const KEYS_MAX = 10_000;

export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly clock: Clock,
    private readonly ratePerSec: number,
    private readonly burst: number,
  ) {}

  /** Takes one token for `key`; false when the bucket is empty. */
  take(key: string): boolean {
    const now = this.clock.monotonicMs();
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size >= KEYS_MAX) this.#buckets.delete(this.#buckets.keys().next().value as string);
      b = { tokens: this.burst, at: now };
      this.#buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSec);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** True when `key` still has at least one token, without taking it. */
  peek(key: string): boolean {
    const b = this.#buckets.get(key);
    if (!b) return true;
    const now = this.clock.monotonicMs();
    return Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSec) >= 1;
  }
}
