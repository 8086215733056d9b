// SPDX-License-Identifier: Apache-2.0
// What an outbox holds, and the rules for changing it, as immutable values. Both adapters share
// these rules, so they differ only in how a new value is made durable.
import { assert } from '../../shared/assert.ts';
import { addMinor } from '../../shared/money.ts';
import { OutboxError, outboxEntrySchema, type OutboxEntry, type OutboxLimits, type OutboxStats } from './outbox-store.ts';

/** The replay key of an offline code. */
export function counterKey(credentialId: string, counter: number): string {
  return `${credentialId}:${counter}`;
}

export class OutboxContents {
  static readonly empty = new OutboxContents([], []);

  readonly #txIds: ReadonlySet<string>;
  readonly #counters: ReadonlySet<string>;

  /**
   * @param entries stored payments, oldest first
   * @param settledCounters counterKey()s of recently settled entries, oldest first
   */
  constructor(
    readonly entries: readonly OutboxEntry[],
    readonly settledCounters: readonly string[],
  ) {
    this.#txIds = new Set(entries.map((e) => e.txId));
    assert(this.#txIds.size === entries.length, 'outbox entries have duplicate txIds');
    this.#counters = new Set([...settledCounters, ...entries.map((e) => counterKey(e.credentialId, e.counter))]);
  }

  has(txId: string): boolean {
    return this.#txIds.has(txId);
  }

  hasCounter(credentialId: string, counter: number): boolean {
    return this.#counters.has(counterKey(credentialId, counter));
  }

  /** The contents after storing `entry`; throws a typed OutboxError when it must be refused. */
  withAppended(entry: OutboxEntry, limits: OutboxLimits): OutboxContents {
    const checked = outboxEntrySchema.safeParse(entry);
    assert(checked.success, `invalid outbox entry: ${checked.error?.issues[0]?.path.join('.')} ${checked.error?.issues[0]?.message}`);
    if (this.#txIds.has(entry.txId)) throw new OutboxError('DUPLICATE_TX', { txId: entry.txId });
    if (this.hasCounter(entry.credentialId, entry.counter)) {
      throw new OutboxError('COUNTER_SEEN', { credentialId: entry.credentialId, counter: entry.counter });
    }
    if (this.entries.length >= limits.entriesMax) {
      throw new OutboxError('OUTBOX_FULL', { count: this.entries.length, entriesMax: limits.entriesMax });
    }
    // A copy of exactly the stored fields: callers may not mutate what we keep.
    const e = checked.data;
    const copy: OutboxEntry = Object.freeze({
      txId: e.txId,
      code: e.code,
      amount: Object.freeze({ value: e.amount.value, currency: e.amount.currency }),
      capturedAt: e.capturedAt,
      credentialId: e.credentialId,
      counter: e.counter,
      ...(e.lines === undefined
        ? {}
        : { lines: Object.freeze(e.lines.map((l) => Object.freeze({ ...l, unitPrice: Object.freeze({ ...l.unitPrice }) }))) }),
    });
    return new OutboxContents([...this.entries, copy], this.settledCounters);
  }

  /** The contents without `txIds`, or undefined when none of them is stored (nothing to write). */
  withAcknowledged(txIds: readonly string[], limits: OutboxLimits): OutboxContents | undefined {
    const gone = new Set(txIds.filter((t) => this.#txIds.has(t)));
    if (gone.size === 0) return undefined;
    const kept = this.entries.filter((e) => !gone.has(e.txId));
    const settled = [
      ...this.settledCounters,
      ...this.entries.filter((e) => gone.has(e.txId)).map((e) => counterKey(e.credentialId, e.counter)),
    ].slice(-limits.settledCountersMax);
    return new OutboxContents(kept, settled);
  }

  stats(): OutboxStats {
    const amountByCurrency: OutboxStats['amountByCurrency'] = {};
    let oldest: number | null = null;
    for (const e of this.entries) {
      amountByCurrency[e.amount.currency] = addMinor(amountByCurrency[e.amount.currency] ?? 0, e.amount.value);
      if (oldest === null || e.capturedAt < oldest) oldest = e.capturedAt;
    }
    return { count: this.entries.length, amountByCurrency, oldestCapturedAt: oldest };
  }
}

export function checkLimits(limits: OutboxLimits): OutboxLimits {
  assert(Number.isSafeInteger(limits.entriesMax) && limits.entriesMax >= 1, 'entriesMax must be a positive integer');
  assert(
    Number.isSafeInteger(limits.settledCountersMax) && limits.settledCountersMax >= 0,
    'settledCountersMax must be a non-negative integer',
  );
  return Object.freeze({ ...limits });
}
