// SPDX-License-Identifier: Apache-2.0
// A kiosk's disk in memory, with the durable semantics of DurableJsonAdapter (device/outbox/
// durable-json-adapter.ts): a write replaces a file whole and resolves only once it is durable; a write
// that a power loss interrupts leaves either the old or the new version, never a torn mix (the file
// adapter's temp file, fsync, rename and backup guarantee that; file-outbox-kill.test.ts shows it
// under SIGKILL). Writes take simulated time on the current boot's timers, so a power loss can land
// in the middle of one. The simulator uses this instead of real files: real fsyncs cost milliseconds
// each, and completions on libuv's thread pool would arrive in an order no seed controls.
import type { OutboxLimits } from '../../device/outbox/outbox-store.ts';
import { OUTBOX_LIMITS } from '../../device/outbox/outbox-store.ts';
import { OutboxContents, checkLimits } from '../../device/outbox/outbox-contents.ts';
import { SerialOutbox } from '../../device/outbox/serial-outbox.ts';
import type { KioskState, KioskStateStore } from '../../device/kiosk/kiosk-state.ts';
import type { SimRandom } from './sim-random.ts';
import type { SimTimers } from './sim-timers.ts';

export interface DiskFaults {
  /** Usual write latency range, ms (an SD card's fsync). */
  latencyMs: readonly [number, number];
  /** Share of writes that stall, and for how long (may exceed the checkout's storeOfflineMs). */
  stallRate: number;
  stallMs: readonly [number, number];
  /** Share of outbox writes that fail with an I/O error (the outbox then fails until reopened). */
  outboxErrorRate: number;
}

interface InFlight {
  readonly file: string;
  readonly value: unknown;
  readonly timer: unknown;
}

export type DiskFile = 'outbox' | 'state';

export class SimDisk {
  readonly #durable = new Map<DiskFile, unknown>();
  readonly #inFlight = new Set<InFlight>();
  #timers: SimTimers | undefined;
  /** Called when a write becomes durable (also for writes that land during a power loss). */
  onDurable: (file: DiskFile, value: unknown) => void = () => {};
  writes = 0;
  tornWrites = 0;

  constructor(
    private readonly rng: SimRandom,
    private readonly faults: () => DiskFaults,
  ) {}

  /** Powers the disk from a boot: its writes complete on these timers. */
  attach(timers: SimTimers): void {
    this.#timers = timers;
  }

  read(file: DiskFile): unknown {
    return this.#durable.get(file);
  }

  /** Replaces `file` with `value`; resolves when durable. Without power it never resolves. */
  write(file: DiskFile, value: unknown, fallible = false): Promise<void> {
    const timers = this.#timers;
    if (!timers) return new Promise<void>(() => {});
    const f = this.faults();
    const stall = this.rng.chance(f.stallRate);
    const delay = stall ? this.rng.between(f.stallMs[0], f.stallMs[1]) : this.rng.between(f.latencyMs[0], f.latencyMs[1]);
    const fail = fallible && this.rng.chance(f.outboxErrorRate);
    return new Promise<void>((resolve, reject) => {
      const w: InFlight = {
        file,
        value,
        timer: timers.setTimeout(() => {
          this.#inFlight.delete(w);
          if (fail) return reject(new Error('EIO: simulated disk error'));
          this.#commit(file, value);
          resolve();
        }, delay),
      };
      this.#inFlight.add(w);
    });
  }

  /** Power is cut: each write in flight lands or not (seeded); nothing in flight ever resolves. */
  powerLoss(): { landed: number; lost: number } {
    let landed = 0;
    let lost = 0;
    for (const w of this.#inFlight) {
      if (this.rng.chance(0.5)) {
        this.#commit(w.file as DiskFile, w.value);
        landed++;
      } else lost++;
    }
    this.tornWrites += this.#inFlight.size;
    this.#inFlight.clear();
    this.#timers = undefined;
    return { landed, lost };
  }

  get writesInFlight(): number {
    return this.#inFlight.size;
  }

  #commit(file: DiskFile, value: unknown): void {
    this.writes++;
    this.#durable.set(file, value);
    this.onDurable(file, value);
  }
}

/** The outbox on the simulated disk: SerialOutbox's rules, durable on SimDisk. */
export class SimDiskOutbox extends SerialOutbox {
  private constructor(
    private readonly disk: SimDisk,
    contents: OutboxContents,
    limits: OutboxLimits,
  ) {
    super(contents, limits);
  }

  /** Opens what is durable now (a first boot starts empty). */
  static open(disk: SimDisk, limits: Partial<OutboxLimits> = {}): SimDiskOutbox {
    const durable = disk.read('outbox');
    return new SimDiskOutbox(
      disk,
      durable instanceof OutboxContents ? durable : OutboxContents.empty,
      checkLimits({ ...OUTBOX_LIMITS, ...limits }),
    );
  }

  protected override persist(next: OutboxContents): Promise<void> {
    return this.disk.write('outbox', next, true);
  }

  protected override async release(): Promise<void> {}
}

/**
 * The kiosk state on the simulated disk, with KioskStateStore's public behaviour: the change is
 * visible at once, writes are serialised and coalesced, update() resolves when a write holding the
 * change is durable. (KioskStateStore itself is bound to a file path; the kiosk uses only this API.)
 */
export class SimStateStore {
  #state: KioskState;
  #writing: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;

  private constructor(
    private readonly disk: SimDisk,
    state: KioskState,
  ) {
    this.#state = state;
  }

  static open(disk: SimDisk, initial: KioskState): SimStateStore {
    const durable = disk.read('state');
    return new SimStateStore(disk, typeof durable === 'string' ? (JSON.parse(durable) as KioskState) : initial);
  }

  get state(): Readonly<KioskState> {
    return this.#state;
  }

  update(change: (s: KioskState) => KioskState): Promise<void> {
    this.#state = change(this.#state);
    const write = () => {
      this.#queued = undefined;
      return this.disk.write('state', JSON.stringify(this.#state));
    };
    this.#queued ??= this.#writing.then(write, write);
    this.#writing = this.#queued;
    return this.#queued;
  }

  async close(): Promise<void> {
    await this.#writing.catch(() => undefined);
  }

  /** The port the Kiosk is typed against (it uses state, update and close only). */
  asKioskStateStore(): KioskStateStore {
    return this as unknown as KioskStateStore;
  }
}
