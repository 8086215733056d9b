// SPDX-License-Identifier: Apache-2.0
// The bound on a store's queue of units waiting to run. Past it a store refuses a new unit at once
// with StoreBusyError (RATE_LIMITED, with a machine-readable wait) instead of queueing without limit:
// a flood then costs its senders a retry, not every client unbounded memory and latency. A refused
// unit never ran, so nothing of it was written.
import { KioskpayError } from '../../shared/errors.ts';

export const STORE_QUEUE_DEFAULTS = Object.freeze({
  /** Units waiting (not counting the group being committed) before new ones are refused. */
  queuedUnitsMax: 10_000,
  /** The wait a refused caller is told, in ms. */
  busyRetryAfterMs: 200,
});

export class StoreBusyError extends KioskpayError<'RATE_LIMITED'> {
  constructor(
    readonly queued: number,
    retryAfterMs: number = STORE_QUEUE_DEFAULTS.busyRetryAfterMs,
  ) {
    super('RATE_LIMITED', `the server is busy (${queued} store units waiting); retry after ${retryAfterMs} ms`, { retryAfterMs });
  }
}

/** The refusal for a unit arriving when `queued` units wait and at most `max` may. */
export function storeBusy(queued: number, max: number): StoreBusyError | undefined {
  return queued >= max ? new StoreBusyError(queued) : undefined;
}
