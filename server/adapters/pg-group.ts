// SPDX-License-Identifier: Apache-2.0
// One group of units in one READ COMMITTED transaction on one connection, the units running at the
// same time so that their statements share round trips (pg-batch.ts), yet each unit behaving as if
// the units had run one at a time in submission order, as the Store port promises.
//
// How: optimistic concurrency with validation in submission order. A unit's reads run at once and
// remember the version of every key they depend on (a row, or a table for the queries that scan);
// its writes are held back. When the unit is done it waits for its turn (every earlier unit done),
// then checks that no key it read was written since by an earlier unit; if one was, it runs again,
// now alone at the head, where nothing can overtake it. Otherwise its writes go out and the next unit
// takes its turn. A unit that must see its own writes, or needs the answer of a write
// (claimOfflineUse), takes its turn at that point and runs on directly from there. A unit that threw
// has written nothing: its held writes are dropped. Anything that would leave a partial unit in the
// transaction (a failed write, or a unit that threw after writing) fails the whole group; the store
// then runs its units again, each in a transaction of its own (pg-store.ts).
//
// A group may start while the group before it is still in flight on another connection (pg-store.ts
// runs two at once: one's reads while PostgreSQL works on the other's writes and COMMIT). Its units
// then come after all of that group's, as if the two were one: no unit takes its turn before the
// earlier group has finished (committed, or run again unit by unit), and a read made before then
// that touched a key the earlier group wrote is stale, whenever the write happened (the read could
// not see an uncommitted write of another transaction), so the unit runs again at its turn. Until
// then a unit holds no lock: its reads are plain SELECTs and its writes are held, and a read that
// locks (pg-tx.ts lockThen) waits for the earlier group first, which could otherwise wait for it.
//
// This orders units of one replica. Units of other replicas are other transactions: what keeps them
// honest is in the statements (conditional writes, unique keys, row locks, pg-tx.ts).
import type pg from 'pg';
import type { StatementBatcher } from './pg-batch.ts';
import type { SqlName } from './pg-sql.ts';

export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** What a unit's StoreTx runs its statements through (pg-tx.ts). */
export interface UnitExec {
  /** A read; its result depends on `keys`, and on `derive(result)` (keys found in the answer). */
  read(
    name: SqlName,
    values: readonly unknown[],
    keys: readonly string[],
    derive?: (r: pg.QueryResult) => string[],
  ): Promise<pg.QueryResult>;
  /**
   * A write whose answer the unit does not wait for: held until the unit's turn. A write that must
   * not silently do nothing raises in the database (pg-sql.ts `must`); `mapError` turns a database
   * error into the unit's own.
   */
  write(name: SqlName, values: readonly unknown[], keys: readonly string[], mapError?: (e: unknown) => unknown): Promise<void>;
  /** A write whose answer the unit needs: the unit takes its turn first. */
  writeNow(name: SqlName, values: readonly unknown[], keys: readonly string[], mapError?: (e: unknown) => unknown): Promise<pg.QueryResult>;
  /** Fails the unit with `error` whatever it does next (a write of it went wrong). */
  fail(error: unknown): never;
  /** Resolves once the group before this one has finished; a read that takes a lock waits for it. */
  earlierDone(): Promise<void>;
}

/**
 * One group's run as the next group sees it: the keys its attempts wrote, and whether it has
 * finished (committed, or its units run again alone and settled).
 */
export class GroupTrack {
  readonly written = new Set<string>();
  done = false;
  readonly finished: Promise<void>;
  /** Resolves when the group's COMMIT has gone out (or it finished): the next group may start. */
  readonly committing: Promise<void>;
  #finish!: () => void;
  #commit!: () => void;
  constructor() {
    this.finished = new Promise((r) => {
      this.#finish = r;
    });
    this.committing = new Promise((r) => {
      this.#commit = r;
    });
  }
  commitSent(): void {
    this.#commit();
  }
  finish(): void {
    this.done = true;
    this.#commit();
    this.#finish();
  }
}

/** Thrown into an attempt whose reads went stale; the group runs the unit again. */
class Rerun extends Error {
  constructor() {
    super('a unit read what an earlier unit then wrote; running it again');
  }
}

interface Held {
  name: SqlName;
  values: readonly unknown[];
  keys: readonly string[];
  mapError: ((e: unknown) => unknown) | undefined;
}

class Attempt {
  readonly reads = new Map<string, number>();
  /** Keys read before the earlier group finished: stale if it wrote any of them. */
  readonly early = new Set<string>();
  readonly held: Held[] = [];
  /** Runs at the head: statements go out at once, nothing is validated. */
  serial: boolean;
  wrote = false;
  doomed = false;
  /** A write of this attempt failed: whatever the unit does next, it has failed. */
  poison: { error: unknown } | undefined;
  /** The attempt taking its turn in the middle of the unit (#becomeSerial). */
  turn: Promise<void> | undefined;
  constructor(serial: boolean) {
    this.serial = serial;
  }
}

export class UnitGroup {
  readonly #batch: StatementBatcher;
  readonly #alone: boolean;
  readonly #own: GroupTrack | undefined;
  readonly #earlier: GroupTrack | undefined;
  #clock = 0;
  readonly #versions = new Map<string, number>();
  #head = 0;
  readonly #waiting = new Map<number, () => void>();
  #failure: { error: unknown } | undefined;
  readonly #checks: Promise<void>[] = [];
  /** Attempts run again because an earlier unit of the group wrote what they had read. */
  reruns = 0;

  /**
   * `own` collects the keys this group writes for the group after it; `earlier` is the group still in
   * flight before this one, if any (never for a group of one unit, whose unit runs serially at once).
   */
  constructor(batch: StatementBatcher, size: number, tracks: { own?: GroupTrack; earlier?: GroupTrack | undefined } = {}) {
    this.#batch = batch;
    this.#alone = size === 1;
    if (this.#alone && tracks.earlier && !tracks.earlier.done)
      throw new Error('a group of one cannot start before the group ahead of it finishes');
    this.#own = tracks.own;
    this.#earlier = tracks.earlier;
  }

  /** The earlier group is still in flight: what is read now cannot see its writes. */
  #blind(): boolean {
    return this.#earlier !== undefined && !this.#earlier.done;
  }

  /**
   * Runs the units; `failed` when the transaction holds a partial unit and must be rolled back. The
   * last units' writes may still be on their way: see `written`.
   */
  async run(fns: ReadonlyArray<(x: UnitExec) => Promise<unknown>>): Promise<{ outcomes: Outcome[] } | { failed: unknown }> {
    const outcomes = await Promise.all(fns.map((fn, i) => this.#unit(fn, i)));
    return this.#failure === undefined ? { outcomes } : { failed: this.#failure.error };
  }

  /** Resolves once every write sent has been answered: with the error that failed the group, if one did. */
  async written(): Promise<{ error: unknown } | undefined> {
    await Promise.all(this.#checks);
    return this.#failure;
  }

  async #unit(fn: (x: UnitExec) => Promise<unknown>, index: number): Promise<Outcome> {
    for (let serial = this.#alone; ; serial = true) {
      const a = new Attempt(serial);
      let outcome: Outcome;
      try {
        outcome = { ok: true, value: await fn(this.#exec(a, index)) };
      } catch (error) {
        outcome = { ok: false, error };
      }
      if (a.poison) outcome = { ok: false, error: a.poison.error };
      if (this.#failure !== undefined) return outcome;
      if (a.doomed) continue;
      if (!a.serial) {
        if (!(await this.#turn(index))) return outcome;
        if (!this.#valid(a)) {
          this.reruns++;
          continue;
        }
        if (outcome.ok) this.#flush(a);
      } else if (!outcome.ok && a.wrote && !this.#alone) {
        // Its writes are in the transaction and cannot be taken out alone.
        this.#fail(outcome.error);
      }
      this.#head = index + 1;
      this.#waiting.get(index + 1)?.();
      return outcome;
    }
  }

  /** Resolves true when every earlier unit (of this group and the one before) is done, false when the group failed meanwhile. */
  async #turn(index: number): Promise<boolean> {
    if (this.#blind()) await this.#earlier!.finished;
    if (this.#head < index && this.#failure === undefined) await new Promise<void>((r) => this.#waiting.set(index, r));
    return this.#failure === undefined;
  }

  #valid(a: Attempt): boolean {
    for (const [key, seen] of a.reads) if ((this.#versions.get(key) ?? 0) !== seen) return false;
    for (const key of a.early) if (this.#earlier!.written.has(key)) return false;
    return true;
  }

  #fail(error: unknown): void {
    this.#failure ??= { error };
    for (const wake of this.#waiting.values()) wake();
  }

  /** Sends a write; later readers of its keys see a new version. */
  #send(name: SqlName, values: readonly unknown[], keys: readonly string[]): Promise<pg.QueryResult> {
    const stamp = ++this.#clock;
    for (const k of keys) {
      this.#versions.set(k, stamp);
      this.#own?.written.add(k);
    }
    return this.#batch.run(name, values);
  }

  #flush(a: Attempt): void {
    for (const w of a.held.splice(0)) {
      a.wrote = true;
      this.#checks.push(
        this.#send(w.name, w.values, w.keys).then(
          () => {},
          (error: unknown) => this.#fail(w.mapError ? w.mapError(error) : error),
        ),
      );
    }
  }

  /**
   * Takes the unit's turn once per attempt. A unit may have two statements in flight (a lock and the
   * read behind it) that both need the turn: they share it. Taken twice, the second would wait in
   * the place of the first, which then never woke (the group hung), or would validate again and find
   * the unit's own writes newer than its reads, and run the unit again inside the transaction that
   * already held those writes.
   */
  #becomeSerial(a: Attempt, index: number): Promise<void> {
    a.turn ??= this.#takeTurn(a, index);
    return a.turn;
  }

  async #takeTurn(a: Attempt, index: number): Promise<void> {
    if (!(await this.#turn(index))) throw this.#failure!.error;
    if (!this.#valid(a)) {
      this.reruns++;
      a.doomed = true;
      throw new Rerun();
    }
    this.#flush(a);
    a.serial = true;
  }

  #exec(a: Attempt, index: number): UnitExec {
    const live = () => {
      if (this.#failure !== undefined) throw this.#failure.error;
      if (a.doomed) throw new Rerun();
    };
    /** A failed statement: the unit has failed, and a transaction shared with others is lost. */
    const failed = (error: unknown): never => {
      a.poison ??= { error };
      if (!this.#alone) this.#fail(error);
      throw error;
    };
    return {
      read: async (name, values, keys, derive) => {
        live();
        if (!a.serial && a.held.length > 0) await this.#becomeSerial(a, index);
        const stamp = this.#clock;
        const blind = !a.serial && this.#blind();
        if (!a.serial) for (const k of keys) if (!a.reads.has(k)) a.reads.set(k, this.#versions.get(k) ?? 0);
        if (blind) for (const k of keys) a.early.add(k);
        const r = await this.#batch.run(name, values).catch(failed);
        live();
        for (const k of derive?.(r) ?? []) {
          const v = this.#versions.get(k) ?? 0;
          if (!a.serial && !a.reads.has(k)) a.reads.set(k, v > stamp ? -1 : v);
          if (blind) a.early.add(k);
        }
        return r;
      },
      write: async (name, values, keys, mapError) => {
        live();
        if (!a.serial) {
          a.held.push({ name, values, keys, mapError });
          return;
        }
        a.wrote = true;
        await this.#send(name, values, keys).catch((e: unknown) => failed(mapError ? mapError(e) : e));
      },
      writeNow: async (name, values, keys, mapError) => {
        live();
        if (!a.serial) await this.#becomeSerial(a, index);
        a.wrote = true;
        return this.#send(name, values, keys).catch((e: unknown) => failed(mapError ? mapError(e) : e));
      },
      fail: failed,
      earlierDone: async () => {
        if (this.#blind()) await this.#earlier!.finished;
      },
    };
  }
}
