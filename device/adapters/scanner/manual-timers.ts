// SPDX-License-Identifier: Apache-2.0
// Timers that fire only when told to, for reconnect/backoff tests (Timers from scanner.ts).
import type { Timers } from './scanner.ts';

export class ManualTimers implements Timers {
  #next = 1;
  readonly #pending = new Map<number, { fn: () => void; ms: number }>();
  /** Every delay ever scheduled, in order. */
  readonly delays: number[] = [];

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#pending.set(id, { fn, ms });
    this.delays.push(ms);
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
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
