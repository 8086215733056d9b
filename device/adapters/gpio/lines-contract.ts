// SPDX-License-Identifier: Apache-2.0
// The contract every GpioLines backend passes (sim, sysfs with a fake onoff Gpio, gpiod with fake
// tools), in the style of MQTT.js abstractStoreTest. The failure semantics are on GpioLines (lines.ts).
import { describe, expect, it } from 'vitest';
import { GpioLineError, type GpioLines, type Level } from './lines.ts';
import { turns, WAIT_MS } from '../../../shared/testing/wait.ts';

export interface LinesUnderTest {
  lines: GpioLines;
  /** The level the backend is driving on an output pin right now (as the hardware would see it). */
  level(bcm: number): Promise<Level | undefined>;
  /** Makes the outside world drive an input pin to `level` (one edge). */
  drive(bcm: number, level: Level): Promise<void>;
  /** Makes the outside world hold a pin at `level` before it is claimed (a button held at boot). */
  hold(bcm: number, level: Level): Promise<void>;
  /**
   * Resolves once edges on input `bcm` are watched (a real backend misses edges before that, as the
   * kernel does before a line is requested). Omitted where watching starts at once.
   */
  watching?(bcm: number): Promise<void>;
  /** True once nothing is held any more: no exported line, no child process, no claim. */
  released(): Promise<boolean>;
  /** Extra cleanup after the test (temp dirs, ...). */
  cleanup?(): Promise<void>;
}

const POLL = { timeout: WAIT_MS, interval: 10 };
const PULL_UP = { bias: 'pull-up' } as const;

export function linesContract(name: string, make: () => Promise<LinesUnderTest>): void {
  describe(`GpioLines contract: ${name}`, () => {
    const withLines = (fn: (u: LinesUnderTest) => Promise<void>) => async () => {
      const u = await make();
      try {
        await fn(u);
      } finally {
        await u.lines.close();
        await u.cleanup?.();
      }
    };

    it(
      'an output starts at its initial level and writes land on the pin',
      withLines(async (u) => {
        const a = u.lines.output(17);
        u.lines.output(27, 1);
        await expect.poll(() => u.level(17), POLL).toBe(0);
        await expect.poll(() => u.level(27), POLL).toBe(1);
        a.write(1);
        await expect.poll(() => u.level(17), POLL).toBe(1);
        a.write(0);
        await expect.poll(() => u.level(17), POLL).toBe(0);
      }),
    );

    it(
      'input edges are delivered with their level, per edge kind',
      withLines(async (u) => {
        const both: Level[] = [];
        const falling: Level[] = [];
        u.lines.input(22, 'both', PULL_UP).onEdge((l) => both.push(l));
        u.lines.input(23, 'falling', PULL_UP).onEdge((l) => falling.push(l));
        await u.watching?.(22);
        await u.watching?.(23);
        await u.drive(22, 0);
        await expect.poll(() => both, POLL).toEqual([0]);
        await u.drive(22, 1);
        await expect.poll(() => both, POLL).toEqual([0, 1]);
        await u.drive(23, 0);
        await u.drive(23, 1);
        await u.drive(23, 0);
        await expect.poll(() => falling, POLL).toEqual([0, 0]);
      }),
    );

    it(
      'an unsubscribed listener gets nothing more',
      withLines(async (u) => {
        const kept: Level[] = [];
        const dropped: Level[] = [];
        const line = u.lines.input(22, 'both', PULL_UP);
        line.onEdge((l) => kept.push(l));
        const off = line.onEdge((l) => dropped.push(l));
        await u.watching?.(22);
        await u.drive(22, 0);
        await expect.poll(() => dropped, POLL).toEqual([0]);
        off();
        await u.drive(22, 1);
        await expect.poll(() => kept, POLL).toEqual([0, 1]);
        expect(dropped).toEqual([0]);
      }),
    );

    it(
      'an input reports the level it had when claimed',
      withLines(async (u) => {
        await u.hold(24, 0);
        await u.hold(25, 1);
        expect(await u.lines.input(24, 'both', PULL_UP).initial).toBe(0);
        expect(await u.lines.input(25, 'both').initial).toBe(1);
      }),
    );

    it(
      'refuses a bad BCM number and a line claimed twice',
      withLines(async (u) => {
        for (const bad of [-1, 28, 3.5, Number.NaN]) {
          expect(() => u.lines.output(bad)).toThrow(GpioLineError);
        }
        u.lines.output(5);
        expect(() => u.lines.output(5)).toThrow(/already claimed/);
        expect(() => u.lines.input(5, 'both')).toThrow(/already claimed/);
      }),
    );

    it(
      'close releases everything, is idempotent, and nothing works or fires afterwards',
      withLines(async (u) => {
        const out = u.lines.output(17, 1);
        const got: Level[] = [];
        u.lines.input(22, 'both', PULL_UP).onEdge((l) => got.push(l));
        await expect.poll(() => u.level(17), POLL).toBe(1);
        await u.watching?.(22);
        await u.lines.close();
        expect(await u.released()).toBe(true);
        await u.lines.close();
        expect(() => out.write(0)).toThrow(GpioLineError);
        expect(() => u.lines.output(4)).toThrow(/closed/);
        expect(() => u.lines.input(4, 'both')).toThrow(/closed/);
        await u.drive(22, 0).catch(() => {});
        // Nothing is left to deliver an edge (released: no watcher, no child process, no claim);
        // the in-process backends would deliver within turns of the event loop, so look after them.
        await turns();
        expect(got).toEqual([]);
      }),
    );
  });
}
