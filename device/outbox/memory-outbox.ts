// SPDX-License-Identifier: Apache-2.0
// The simulated outbox, for tests and the simulator: same rules as the file adapter, "durable" in
// memory. Test controls: failNextWrite() simulates a disk error, reopen() simulates a restart (the
// new store sees exactly what was durable), and writes counts persisted changes.
import { OUTBOX_LIMITS, type OutboxLimits } from './outbox-store.ts';
import { OutboxContents, checkLimits } from './outbox-contents.ts';
import { SerialOutbox } from './serial-outbox.ts';

export class MemoryOutbox extends SerialOutbox {
  #durable: OutboxContents;
  #failNext: Error | undefined;
  #writes = 0;

  constructor(limits: Partial<OutboxLimits> = {}, contents: OutboxContents = OutboxContents.empty) {
    const checked = checkLimits({ ...OUTBOX_LIMITS, ...limits });
    super(contents, checked);
    this.#durable = contents;
  }

  /** Persisted changes so far. */
  get writes(): number {
    return this.#writes;
  }

  /** The next write fails with `error` (and the store fails, as the file adapter does). */
  failNextWrite(error = new Error('simulated disk error')): void {
    this.#failNext = error;
  }

  /** A new store over what is durable now, as after a crash and restart. */
  reopen(): MemoryOutbox {
    return new MemoryOutbox(this.limits, this.#durable);
  }

  protected override async persist(next: OutboxContents): Promise<void> {
    if (this.#failNext) {
      const e = this.#failNext;
      this.#failNext = undefined;
      throw e;
    }
    this.#durable = next;
    this.#writes++;
  }

  protected override async release(): Promise<void> {}
}
