// SPDX-License-Identifier: Apache-2.0
// The part both adapters share: changes run one at a time (the checkout appends while the forwarder
// acknowledges), each new value is persisted before it becomes visible, and a failed write stops
// the store (fail-stop: memory and disk may disagree, so only a reopen may continue).
import { OutboxError, type OutboxEntry, type OutboxLimits, type OutboxStats, type OutboxStore } from './outbox-store.ts';
import type { OutboxContents } from './outbox-contents.ts';

export abstract class SerialOutbox implements OutboxStore {
  #contents: OutboxContents;
  #tail: Promise<unknown> = Promise.resolve();
  #failure: string | undefined;
  #closing: Promise<void> | undefined;

  protected constructor(
    contents: OutboxContents,
    protected readonly limits: OutboxLimits,
  ) {
    this.#contents = contents;
  }

  /** Makes `next` durable; resolves only when it is. A rejection fails the store. */
  protected abstract persist(next: OutboxContents): Promise<void>;

  /** Releases resources once pending writes are done. */
  protected abstract release(): Promise<void>;

  append(entry: OutboxEntry): Promise<void> {
    return this.#change(() => this.#contents.withAppended(entry, this.limits));
  }

  acknowledge(txIds: readonly string[]): Promise<void> {
    return this.#change(() => this.#contents.withAcknowledged(txIds, this.limits));
  }

  list(): readonly OutboxEntry[] {
    return this.#contents.entries;
  }

  stats(): OutboxStats {
    return this.#contents.stats();
  }

  hasCounter(credentialId: string, counter: number): boolean {
    return this.#contents.hasCounter(credentialId, counter);
  }

  /** True once a write failed; every later call rejects with STORE_FAILED. */
  get failed(): boolean {
    return this.#failure !== undefined;
  }

  close(): Promise<void> {
    this.#closing ??= this.#tail.then(
      () => this.release(),
      () => this.release(),
    );
    return this.#closing;
  }

  #change(plan: () => OutboxContents | undefined): Promise<void> {
    if (this.#closing) return Promise.reject(new OutboxError('STORE_CLOSED', {}));
    const run = this.#tail.then(async () => {
      if (this.#failure !== undefined) throw new OutboxError('STORE_FAILED', { cause: this.#failure });
      // Planned against the latest committed value, inside the queue, so no change is lost.
      const next = plan();
      if (next === undefined) return;
      try {
        await this.persist(next);
      } catch (e) {
        this.#failure = e instanceof Error ? e.message : String(e);
        throw new OutboxError('STORE_FAILED', { cause: this.#failure });
      }
      this.#contents = next;
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
