// SPDX-License-Identifier: Apache-2.0
// Timers behind a tiny port for the whole kiosk (buzzer patterns, relay pulses, debounce, scanner
// reconnects, the LCD, the checkout's deadlines, telemetry), so all of it is testable without real
// time passing (and without vitest's global fake timers). The wallet has its own (wallet/core).

export type TimerHandle = { readonly __timer: unique symbol } | object;

export interface Timers {
  /** Monotonic milliseconds from an arbitrary origin. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** Timers that fire only when `advance()` is called; for tests and the simulator. */
export class ManualTimers implements Timers {
  #now = 0;
  #seq = 0;
  #pending = new Set<ManualTimer>();

  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: ManualTimer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#pending.add(t);
    return t;
  }
  clearTimeout(handle: TimerHandle): void {
    this.#pending.delete(handle as ManualTimer);
  }
  /** How many timers are waiting. */
  get pending(): number {
    return this.#pending.size;
  }
  /** Moves time forward by `ms`, firing due timers in time order (timers they set also fire if due). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.#pending) {
        if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.#pending.delete(next);
      this.#now = next.at;
      next.fn();
    }
    this.#now = end;
  }
}
