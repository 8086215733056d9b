// SPDX-License-Identifier: Apache-2.0
// Time behind a port, so every rule that depends on time is testable with a fake clock.

export interface Clock {
  /** Wall-clock time in Unix milliseconds (may jump when the system clock is set). */
  nowMs(): number;
  /** Monotonic milliseconds from an arbitrary origin, for timeouts and durations. */
  monotonicMs(): number;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
};

/** A clock that moves only when told to; for tests and the simulator. */
export class ManualClock implements Clock {
  #wall: number;
  #mono = 0;
  constructor(startMs: number) {
    this.#wall = startMs;
  }
  nowMs(): number {
    return this.#wall;
  }
  monotonicMs(): number {
    return this.#mono;
  }
  advance(ms: number): void {
    this.#wall += ms;
    this.#mono += ms;
  }
  /** Sets the wall clock only (a clock jump); monotonic time does not move. */
  setWall(ms: number): void {
    this.#wall = ms;
  }
}

/** A clock offset from another one: the wallet's view of server time. */
export function offsetClock(base: Clock, offsetMs: () => number): Clock {
  return { nowMs: () => base.nowMs() + offsetMs(), monotonicMs: () => base.monotonicMs() };
}
