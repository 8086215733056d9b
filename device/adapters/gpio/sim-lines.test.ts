// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { linesContract } from './lines-contract.ts';
import { SIM_HISTORY_MAX, SimLines } from './sim-lines.ts';

linesContract('SimLines', async () => {
  const sim = new SimLines();
  return {
    lines: sim,
    level: async (bcm) => sim.level(bcm),
    drive: async (bcm, level) => sim.drive(bcm, level),
    hold: async (bcm, level) => sim.hold(bcm, level),
    released: async () => sim.closed && sim.claimed.length === 0,
  };
});

describe('SimLines test controls', () => {
  it('records writes in history and reports levels', () => {
    const sim = new SimLines();
    const a = sim.output(4, 1);
    a.write(0);
    a.write(1);
    expect(sim.history).toEqual([
      { bcm: 4, level: 0 },
      { bcm: 4, level: 1 },
    ]);
    expect(sim.level(4)).toBe(1);
    expect(sim.level(9)).toBeUndefined();
  });

  it('press/release drive pull-up buttons low/high; instances do not share state', () => {
    const a = new SimLines();
    const b = new SimLines();
    const got: number[] = [];
    a.input(22, 'both').onEdge((l) => got.push(l));
    b.input(22, 'both');
    expect(a.level(22)).toBe(1);
    a.press(22);
    a.press(22); // no edge: already low
    a.release(22);
    expect(got).toEqual([0, 1]);
    expect(b.level(22)).toBe(1);
    expect(() => a.drive(4, 1)).toThrow(/not an input/);
  });

  it('tells onWrite listeners of each write until they unsubscribe, and keeps a bounded history', () => {
    const sim = new SimLines();
    const out = sim.output(4);
    const seen: Array<{ bcm: number; level: number }> = [];
    const off = sim.onWrite((w) => seen.push(w));
    out.write(1);
    off();
    out.write(0);
    expect(seen).toEqual([{ bcm: 4, level: 1 }]);
    for (let i = 0; i < SIM_HISTORY_MAX + 5; i++) out.write(i % 2 === 0 ? 1 : 0);
    expect(sim.history).toHaveLength(SIM_HISTORY_MAX);
    expect(sim.history.at(-1)).toEqual({ bcm: 4, level: (SIM_HISTORY_MAX + 4) % 2 === 0 ? 1 : 0 });
  });
});
