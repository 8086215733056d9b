// SPDX-License-Identifier: Apache-2.0
// Bounded waits for tests, one set for every package (a test kit: no production code imports it).
// A test that waits on real time (sockets, child processes, a browser) waits for the event or state
// that proves the system got there, never for a duration; every wait has a bound and says on
// timeout what it waited for. The bounds stop a hang on a loaded machine: they claim no speed.
// Nothing here imports node: modules, so any folder's tests may use it (test/boundaries.test.ts).

/** The default bound of a real-time wait: generous, as the machine running the suite may be busy. */
export const WAIT_MS = 10_000;

export interface WaitOptions {
  /** What is awaited, as the failure names it: "timed out after 10000 ms waiting for <what>". */
  readonly what: string;
  /** The bound in real milliseconds (default WAIT_MS). */
  readonly timeoutMs?: number;
}

export interface PollOptions extends WaitOptions {
  /** How long to wait between two asks (default 10 ms). */
  readonly intervalMs?: number;
}

/** What `eventually` asks: a value when there, `undefined`, `null` or `false` while not yet. */
export type Probe<T> = () => T | undefined | null | false | Promise<T | undefined | null | false>;

const timedOut = (o: WaitOptions, ms: number, detail = '') => new Error(`timed out after ${ms} ms waiting for ${o.what}${detail}`);

/**
 * Asks `probe` until it answers (anything but undefined, null or false) and resolves with the
 * answer. A probe that throws counts as "not yet" (a server still starting refuses a fetch); the
 * last error is in the timeout's message.
 */
export async function eventually<T>(probe: Probe<T>, o: PollOptions): Promise<T> {
  const ms = o.timeoutMs ?? WAIT_MS;
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= end) throw timedOut(o, ms, last === undefined ? '' : ` (last error: ${(last as Error)?.message ?? String(last)})`);
    await new Promise<void>((r) => setTimeout(r, o.intervalMs ?? 10));
  }
}

/** Resolves or rejects as `promise` does; rejects naming `what` once the bound passes. */
export function within<T>(promise: Promise<T>, o: WaitOptions): Promise<T> {
  const ms = o.timeoutMs ?? WAIT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut(o, ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** An emitter whose events are typed by a map of event name to arguments (the ports' events). */
export interface TypedListenable<M> {
  on<E extends keyof M>(event: E, listener: (...args: M[E] & unknown[]) => void): unknown;
  off<E extends keyof M>(event: E, listener: (...args: M[E] & unknown[]) => void): unknown;
}

/** Anything else with on/off listeners: Node's EventEmitter, a child process, an MQTT client. */
export interface Listenable<A extends unknown[]> {
  on(event: string, listener: (...args: A) => void): unknown;
  off(event: string, listener: (...args: A) => void): unknown;
}

/**
 * Resolves with the arguments of the next `event` whose arguments satisfy `pred` (every one by
 * default); rejects after the bound (`what` defaults to the event's name), leaving no listener.
 */
export function nextEvent<M, E extends keyof M & string>(
  emitter: TypedListenable<M>,
  event: E,
  pred?: (...args: M[E] & unknown[]) => boolean,
  o?: Partial<WaitOptions>,
): Promise<M[E]>;
export function nextEvent<A extends unknown[] = unknown[]>(
  emitter: Listenable<A>,
  event: string,
  pred?: (...args: A) => boolean,
  o?: Partial<WaitOptions>,
): Promise<A>;
export function nextEvent(
  emitter: Listenable<unknown[]>,
  event: string,
  pred: (...args: unknown[]) => boolean = () => true,
  o: Partial<WaitOptions> = {},
): Promise<unknown[]> {
  const ms = o.timeoutMs ?? WAIT_MS;
  return new Promise((resolve, reject) => {
    const listener = (...args: unknown[]) => {
      if (!pred(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(timedOut({ what: o.what ?? `the event '${event}'` }, ms));
    }, ms);
    emitter.on(event, listener);
  });
}

/**
 * Lets `rounds` turns of the event loop pass (no timers, no real time): enough for in-process fakes
 * whose work is promise callbacks and immediates. Never enough for real I/O: wait for its event.
 */
export async function turns(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}
