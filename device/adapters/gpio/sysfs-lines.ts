// SPDX-License-Identifier: Apache-2.0
// GpioLines on the kernel's sysfs GPIO interface, through onoff.
//
// On kernel 6.6+ sysfs numbers are offset: BCM n is `base + n`, base 512 on a Pi 4
// (pinctrl-bcm2711) and 571 on a Pi 5 (pinctrl-rp1); older kernels use base 0. The base is read from
// `<sysfsRoot>/class/gpio/gpiochip*/base` and `label` (findGpioBase, pure over a directory so tests
// use a fake tree). onoff itself always writes /sys/class/gpio, so the onoff part is a thin wrapper
// over an injectable Gpio class. Lines are unexported on close.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BinaryValue, Direction, Edge as OnoffEdge, ValueCallback } from 'onoff';
import { chooseMainChip, MAIN_GPIO_LABELS } from './gpio-chips.ts';
import { claimLine, GpioLineError, type Edge, type GpioLines, type InLine, type InputOptions, type Level, type OutLine } from './lines.ts';

export { chooseMainChip, MAIN_GPIO_LABELS } from './gpio-chips.ts';

export interface GpioChipInfo {
  /** Directory name, e.g. gpiochip512. */
  readonly name: string;
  readonly label: string;
  readonly base: number;
  readonly ngpio: number | undefined;
}

/** Reads every `<sysfsRoot>/class/gpio/gpiochip*` entry. A missing directory gives []. */
export async function readGpioChips(sysfsRoot = '/sys'): Promise<GpioChipInfo[]> {
  const dir = join(sysfsRoot, 'class', 'gpio');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const chips: GpioChipInfo[] = [];
  for (const name of names.filter((n) => /^gpiochip\d+$/.test(n)).sort()) {
    const read = async (f: string): Promise<string | undefined> => {
      try {
        return (await readFile(join(dir, name, f), 'utf8')).trim();
      } catch {
        return undefined;
      }
    };
    const base = Number(await read('base'));
    const label = (await read('label')) ?? '';
    const ngpioText = await read('ngpio');
    if (!Number.isInteger(base) || base < 0) continue;
    chips.push({ name, label, base, ngpio: ngpioText === undefined ? undefined : Number(ngpioText) });
  }
  return chips;
}

/** Finds the sysfs number of BCM 0. Throws GpioLineError(UNAVAILABLE) naming what it saw. */
export async function findGpioBase(sysfsRoot = '/sys'): Promise<GpioChipInfo> {
  const chips = await readGpioChips(sysfsRoot);
  const chip = chooseMainChip(chips);
  if (chip) return chip;
  const seen = chips.length === 0 ? 'no gpiochip entries' : chips.map((c) => `${c.name} (${c.label || 'no label'})`).join(', ');
  throw new GpioLineError(
    `sysfs GPIO: no Raspberry Pi GPIO controller under ${join(sysfsRoot, 'class', 'gpio')} (${seen}); ` +
      `expected a label among ${MAIN_GPIO_LABELS.join(', ')}. Use the gpiod adapter if sysfs GPIO is absent.`,
    'UNAVAILABLE',
  );
}

/** The part of onoff's Gpio this adapter uses (onoff's class satisfies it). */
export interface OnoffGpioLike {
  readSync(): BinaryValue;
  writeSync(value: BinaryValue): void;
  watch(callback: ValueCallback): void;
  unwatchAll(): void;
  unexport(): void;
}
export type OnoffGpioClass = new (gpio: number, direction: Direction, edge?: OnoffEdge) => OnoffGpioLike;

export interface SysfsLinesOptions {
  /** sysfs number of BCM 0 (from findGpioBase). */
  base: number;
  /** onoff's Gpio class, or a fake in tests. */
  Gpio: OnoffGpioClass;
  /** Reports errors from watch callbacks and failed unexports. */
  onError?: (err: unknown) => void;
}

export class SysfsLines implements GpioLines {
  readonly #base: number;
  readonly #Gpio: OnoffGpioClass;
  readonly #onError: (err: unknown) => void;
  readonly #claimed = new Set<number>();
  readonly #open: OnoffGpioLike[] = [];
  #closed = false;

  constructor(opts: SysfsLinesOptions) {
    this.#base = opts.base;
    this.#Gpio = opts.Gpio;
    this.#onError = opts.onError ?? (() => {});
  }

  #open1(bcm: number, direction: Direction, edge?: OnoffEdge): OnoffGpioLike {
    claimLine(this.#claimed, bcm, this.#closed);
    try {
      const g = edge === undefined ? new this.#Gpio(this.#base + bcm, direction) : new this.#Gpio(this.#base + bcm, direction, edge);
      this.#open.push(g);
      return g;
    } catch (err) {
      this.#claimed.delete(bcm);
      throw new GpioLineError(`sysfs GPIO ${this.#base + bcm} (BCM ${bcm}): ${(err as Error).message}`, 'IO', { cause: err });
    }
  }

  output(bcm: number, initial: Level = 0): OutLine {
    // 'high'/'low' set direction and initial value in one write: no glitch on the relay.
    const g = this.#open1(bcm, initial === 1 ? 'high' : 'low');
    return {
      bcm,
      write: (level: Level): void => {
        if (this.#closed) throw new GpioLineError(`BCM ${bcm}: GPIO lines are closed`, 'CLOSED');
        try {
          g.writeSync(level);
        } catch (err) {
          throw new GpioLineError(`BCM ${bcm}: write failed: ${(err as Error).message}`, 'IO', { cause: err });
        }
      },
    };
  }

  /** `opts.bias` is ignored: sysfs cannot set a pull; the firmware's `gpio=` line does. */
  input(bcm: number, edge: Edge, _opts?: InputOptions): InLine {
    const g = this.#open1(bcm, 'in', edge);
    let initial: Promise<Level>;
    try {
      initial = Promise.resolve(g.readSync() === 1 ? 1 : 0);
    } catch (err) {
      initial = Promise.reject(new GpioLineError(`BCM ${bcm}: cannot read its level: ${(err as Error).message}`, 'IO', { cause: err }));
      initial.catch(() => {});
    }
    const listeners = new Set<(level: Level) => void>();
    g.watch((err, value) => {
      if (this.#closed) return;
      if (err) {
        this.#onError(err);
        return;
      }
      for (const fn of [...listeners]) fn(value === 1 ? 1 : 0);
    });
    return {
      bcm,
      initial,
      onEdge: (fn) => {
        const wrapped = (l: Level): void => fn(l);
        listeners.add(wrapped);
        return () => void listeners.delete(wrapped);
      },
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const g of this.#open.splice(0)) {
      try {
        g.unwatchAll();
        g.unexport();
      } catch (err) {
        this.#onError(err);
      }
    }
    this.#claimed.clear();
  }
}

/**
 * Opens sysfs GPIO lines on this machine: finds the base, loads onoff (only here, so importing this
 * module never loads its native epoll binding) unless `Gpio` is given.
 */
export async function openSysfsLines(
  opts: { sysfsRoot?: string; Gpio?: OnoffGpioClass; onError?: (err: unknown) => void } = {},
): Promise<SysfsLines> {
  const chip = await findGpioBase(opts.sysfsRoot ?? '/sys');
  let Gpio = opts.Gpio;
  if (!Gpio) {
    const onoff = await import('onoff');
    if (!onoff.Gpio.accessible) {
      throw new GpioLineError('sysfs GPIO is not accessible here (onoff Gpio.accessible is false)', 'UNAVAILABLE');
    }
    Gpio = onoff.Gpio;
  }
  return new SysfsLines({ base: chip.base, Gpio, ...(opts.onError ? { onError: opts.onError } : {}) });
}
