// SPDX-License-Identifier: Apache-2.0
// Timers behind a port, so the 3-second online wait and request timeouts run on fake time in tests.
// The real adapter is the platform's setTimeout (Node and browsers alike).

/** Cancels a scheduled callback. Calling it after the callback ran, or twice, does nothing. */
export type CancelTimer = () => void;

export interface Timers {
  /** Runs `fn` once, `ms` milliseconds from now (never synchronously, even for 0). */
  after(ms: number, fn: () => void): CancelTimer;
}

export const systemTimers: Timers = {
  after(ms, fn) {
    const handle = setTimeout(fn, ms);
    return () => clearTimeout(handle);
  },
};

/** Timers that fire only when the test advances them. */
export class ManualTimers implements Timers {
  #nowMs = 0;
  #seq = 0;
  #pending = new Map<number, { atMs: number; fn: () => void }>();

  after(ms: number, fn: () => void): CancelTimer {
    const id = ++this.#seq;
    this.#pending.set(id, { atMs: this.#nowMs + Math.max(0, ms), fn });
    return () => {
      this.#pending.delete(id);
    };
  }

  /** Moves time forward and runs every callback that falls due, in order of due time. */
  advance(ms: number): void {
    const target = this.#nowMs + ms;
    for (;;) {
      let next: [number, { atMs: number; fn: () => void }] | undefined;
      for (const entry of this.#pending) if (entry[1].atMs <= target && (!next || entry[1].atMs < next[1].atMs)) next = entry;
      if (!next) break;
      this.#pending.delete(next[0]);
      this.#nowMs = next[1].atMs;
      next[1].fn();
    }
    this.#nowMs = target;
  }

  /** How many callbacks are scheduled and not yet run or cancelled. */
  get pendingCount(): number {
    return this.#pending.size;
  }
}
