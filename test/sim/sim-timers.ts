// SPDX-License-Identifier: Apache-2.0
// Timers on simulated time for one kiosk boot. Like ManualTimers (device/timers.ts),
// but they also say when the next one is due, so the simulator can jump straight to the next event
// instead of ticking. A power loss simply abandons the instance: its timers never fire again.
import type { TimerHandle, Timers } from '../../device/timers.ts';

interface SimTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

export class SimTimers implements Timers {
  #now: number;
  #seq = 0;
  readonly #pending = new Set<SimTimer>();

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: SimTimer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#pending.add(t);
    return t;
  }

  clearTimeout(handle: TimerHandle | unknown): void {
    this.#pending.delete(handle as SimTimer);
  }

  /** When the earliest timer is due (in this clock's time), or undefined when none waits. */
  nextDueMs(): number | undefined {
    let next: number | undefined;
    for (const t of this.#pending) if (next === undefined || t.at < next) next = t.at;
    return next;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Moves time to `toMs` (never backwards), firing due timers in time order, then insertion order. */
  advanceTo(toMs: number): void {
    const end = Math.max(this.#now, toMs);
    for (;;) {
      let next: SimTimer | undefined;
      for (const t of this.#pending) {
        if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.#pending.delete(next);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = end;
  }
}
