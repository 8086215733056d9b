// SPDX-License-Identifier: Apache-2.0
// Button debounce as pure logic with an injected clock: a level counts only once it has been stable
// for `windowMs`. The caller feeds raw levels from edges and calls `settle()` when `deadline()` is due
// (KioskGpio arms a timer for it); no timers live here.
import type { Level } from './lines.ts';

export class Debouncer {
  #stable: Level;
  #raw: Level;
  #rawSince: number;

  constructor(
    readonly windowMs: number,
    private readonly now: () => number,
    initial: Level,
  ) {
    if (!(windowMs >= 0)) throw new RangeError(`debounce window must be >= 0, got ${windowMs}`);
    this.#stable = initial;
    this.#raw = initial;
    this.#rawSince = now();
  }

  /** The debounced level. */
  get stable(): Level {
    return this.#stable;
  }

  /** Records a raw level (from an edge). Returns the new stable level if it changed right away (window 0). */
  feed(level: Level): Level | null {
    if (level !== this.#raw) {
      this.#raw = level;
      this.#rawSince = this.now();
    }
    return this.settle();
  }

  /** When `settle()` may next report a change, or null if the raw level equals the stable one. */
  deadline(): number | null {
    return this.#raw === this.#stable ? null : this.#rawSince + this.windowMs;
  }

  /** Returns the new stable level if the raw level has now held for the window, else null. */
  settle(): Level | null {
    if (this.#raw === this.#stable) return null;
    if (this.now() - this.#rawSince < this.windowMs) return null;
    this.#stable = this.#raw;
    return this.#stable;
  }
}
