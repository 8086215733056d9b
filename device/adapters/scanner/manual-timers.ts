// SPDX-License-Identifier: Apache-2.0
// Timers that fire only when told to, for reconnect/backoff tests: fireAll() runs what is pending
// now, whatever its delay (the device's ManualTimers in device/timers.ts advances a clock instead).
import type { TimerHandle, Timers } from '../../timers.ts';

export class ManualTimers implements Pick<Timers, 'setTimeout' | 'clearTimeout'> {
  #next = 1;
  readonly #pending = new Map<TimerHandle, { fn: () => void; ms: number }>();
  /** Every delay ever scheduled, in order. */
  readonly delays: number[] = [];

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id: TimerHandle = { id: this.#next++ };
    this.#pending.set(id, { fn, ms });
    this.delays.push(ms);
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#pending.delete(handle);
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Fires the timers pending now (not ones they schedule); returns how many fired. */
  fireAll(): number {
    const due = [...this.#pending.entries()];
    this.#pending.clear();
    for (const [, t] of due) t.fn();
    return due.length;
  }
}
