// SPDX-License-Identifier: Apache-2.0
// The shared wait helpers, on vitest's fake clock: what they resolve with, and what their timeouts say.
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { eventually, nextEvent, turns, WAIT_MS, within } from './wait.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** What a promise came to, with a handler attached at once (a timeout may reject before the test looks). */
function outcome<T>(p: Promise<T>): Promise<{ value?: T; error?: Error }> {
  return p.then(
    (value) => ({ value }),
    (error: Error) => ({ error }),
  );
}

describe('eventually', () => {
  it('resolves with the first answer that is not undefined, null or false', async () => {
    const answers = [undefined, null, false, 0, 1];
    const got = outcome(eventually(() => answers.shift(), { what: 'an answer' }));
    await vi.advanceTimersByTimeAsync(100);
    expect(await got).toEqual({ value: 0 });
  });

  it('takes an async probe, and counts a throw as "not yet"', async () => {
    let calls = 0;
    const got = outcome(
      eventually(
        async () => {
          calls++;
          if (calls < 3) throw new Error('not listening yet');
          return 'up';
        },
        { what: 'the server' },
      ),
    );
    await vi.advanceTimersByTimeAsync(100);
    expect(await got).toEqual({ value: 'up' });
  });

  it('fails after the bound, naming what it waited for and the last error', async () => {
    const got = outcome(
      eventually(
        () => {
          throw new Error('connection refused');
        },
        { what: 'the kiosk screen', timeoutMs: 500 },
      ),
    );
    await vi.advanceTimersByTimeAsync(600);
    expect((await got).error?.message).toBe('timed out after 500 ms waiting for the kiosk screen (last error: connection refused)');
  });

  it('is bounded by WAIT_MS unless told otherwise', async () => {
    const got = outcome(eventually(() => false, { what: 'nothing' }));
    await vi.advanceTimersByTimeAsync(WAIT_MS - 100);
    await vi.advanceTimersByTimeAsync(200);
    expect((await got).error?.message).toBe(`timed out after ${WAIT_MS} ms waiting for nothing`);
  });
});

describe('within', () => {
  it('passes on what the promise came to', async () => {
    expect(await within(Promise.resolve(7), { what: 'seven' })).toBe(7);
    await expect(within(Promise.reject(new Error('refused')), { what: 'a refusal' })).rejects.toThrow('refused');
  });

  it('rejects naming what it waited for once the bound passes', async () => {
    const got = outcome(within(new Promise(() => {}), { what: 'the CONNACK', timeoutMs: 2_000 }));
    await vi.advanceTimersByTimeAsync(2_000);
    expect((await got).error?.message).toBe('timed out after 2000 ms waiting for the CONNACK');
  });
});

describe('nextEvent', () => {
  it('resolves with the arguments of the next matching event and stops listening', async () => {
    const e = new EventEmitter();
    const got = nextEvent<[string, number]>(e, 'status', (s) => s === 'ready');
    e.emit('status', 'opening', 1);
    e.emit('status', 'ready', 2);
    expect(await got).toEqual(['ready', 2]);
    expect(e.listenerCount('status')).toBe(0);
  });

  it('rejects after the bound, naming the event or what it was told, and leaves no listener', async () => {
    const e = new EventEmitter();
    const plain = outcome(nextEvent(e, 'scan', undefined, { timeoutMs: 1_000 }));
    const told = outcome(nextEvent(e, 'scan', undefined, { timeoutMs: 1_000, what: 'the second scan' }));
    await vi.advanceTimersByTimeAsync(1_000);
    expect((await plain).error?.message).toBe("timed out after 1000 ms waiting for the event 'scan'");
    expect((await told).error?.message).toBe('timed out after 1000 ms waiting for the second scan');
    expect(e.listenerCount('scan')).toBe(0);
  });
});

describe('turns', () => {
  it('lets immediates queued by immediates run, without any timer', async () => {
    vi.useRealTimers();
    const ran: number[] = [];
    setImmediate(() => setImmediate(() => ran.push(2)));
    await turns(3);
    expect(ran).toEqual([2]);
  });
});
