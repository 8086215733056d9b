// SPDX-License-Identifier: Apache-2.0
// Test support: a fake of onoff's Gpio class that records what SysfsLines does with it. State lives
// on the FakeOnoff instance (one per test), not in a module-global registry.
import type { BinaryValue, Direction, Edge, ValueCallback } from 'onoff';
import type { OnoffGpioClass, OnoffGpioLike } from './sysfs-lines.ts';

export interface FakeGpioRecord {
  readonly gpio: number;
  readonly direction: Direction;
  readonly edge: Edge | undefined;
  /** Values written with writeSync, in order. */
  readonly writes: BinaryValue[];
  readonly watchers: ValueCallback[];
  unexported: boolean;
}

export class FakeOnoff {
  /** Every Gpio constructed, in order. */
  readonly created: FakeGpioRecord[] = [];
  /** What readSync returns per sysfs number (an input's level); 0 when not set. */
  readonly levels = new Map<number, BinaryValue>();
  /** sysfs numbers whose constructor should throw (like EINVAL for a wrong base). */
  readonly failOn = new Set<number>();
  readonly Gpio: OnoffGpioClass;

  constructor() {
    const created = this.created;
    const failOn = this.failOn;
    const levels = this.levels;
    this.Gpio = class FakeGpio implements OnoffGpioLike {
      readonly #rec: FakeGpioRecord;
      constructor(gpio: number, direction: Direction, edge?: Edge) {
        if (failOn.has(gpio)) throw Object.assign(new Error(`EINVAL: invalid argument, write '${gpio}'`), { code: 'EINVAL' });
        this.#rec = { gpio, direction, edge, writes: [], watchers: [], unexported: false };
        created.push(this.#rec);
      }
      readSync(): BinaryValue {
        if (this.#rec.unexported) throw new Error('EBADF: gpio unexported');
        return this.#rec.writes.at(-1) ?? levels.get(this.#rec.gpio) ?? 0;
      }
      writeSync(value: BinaryValue): void {
        if (this.#rec.unexported) throw new Error('EBADF: gpio unexported');
        this.#rec.writes.push(value);
      }
      watch(callback: ValueCallback): void {
        this.#rec.watchers.push(callback);
      }
      unwatchAll(): void {
        this.#rec.watchers.length = 0;
      }
      unexport(): void {
        this.#rec.unexported = true;
      }
    };
  }

  /** The live (not unexported) Gpio for a sysfs number. */
  get(gpio: number): FakeGpioRecord | undefined {
    return this.created.find((r) => r.gpio === gpio && !r.unexported);
  }

  /**
   * Delivers a value to the watchers of a sysfs number, as onoff's epoll callback would; like the
   * kernel, only for an edge of the line's configured kind.
   */
  emit(gpio: number, value: BinaryValue): void {
    const rec = this.get(gpio);
    if (!rec) throw new Error(`FakeOnoff: no live gpio ${gpio}`);
    if (rec.edge === 'none' || (rec.edge === 'rising' && value !== 1) || (rec.edge === 'falling' && value !== 0)) return;
    for (const cb of [...rec.watchers]) cb(null, value);
  }

  /** The level of a sysfs output: its last write, else its initial direction. */
  level(gpio: number): BinaryValue | undefined {
    const rec = this.get(gpio);
    if (!rec) return undefined;
    const last = rec.writes.at(-1);
    if (last !== undefined) return last;
    return rec.direction === 'high' ? 1 : rec.direction === 'low' ? 0 : undefined;
  }
}
