// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { Debouncer } from './debounce.ts';

function clock() {
  let t = 1000;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

describe('Debouncer', () => {
  it('accepts a level only after it held for the window', () => {
    const c = clock();
    const d = new Debouncer(30, c.now, 1);
    expect(d.feed(0)).toBeNull();
    expect(d.deadline()).toBe(1030);
    c.advance(29);
    expect(d.settle()).toBeNull();
    c.advance(1);
    expect(d.settle()).toBe(0);
    expect(d.stable).toBe(0);
    expect(d.deadline()).toBeNull();
    expect(d.settle()).toBeNull();
  });

  it('restarts the window on every bounce', () => {
    const c = clock();
    const d = new Debouncer(30, c.now, 1);
    d.feed(0);
    c.advance(5);
    d.feed(1);
    c.advance(5);
    d.feed(0);
    expect(d.deadline()).toBe(1040);
    c.advance(29);
    expect(d.settle()).toBeNull();
    c.advance(1);
    expect(d.settle()).toBe(0);
  });

  it('ignores a glitch that returns to the stable level within the window', () => {
    const c = clock();
    const d = new Debouncer(30, c.now, 1);
    d.feed(0);
    c.advance(10);
    expect(d.feed(1)).toBeNull();
    expect(d.deadline()).toBeNull();
    c.advance(100);
    expect(d.settle()).toBeNull();
    expect(d.stable).toBe(1);
  });

  it('repeated feeds of the same raw level do not restart the window', () => {
    const c = clock();
    const d = new Debouncer(30, c.now, 1);
    d.feed(0);
    c.advance(20);
    d.feed(0);
    c.advance(10);
    expect(d.settle()).toBe(0);
  });

  it('with a zero window a change is accepted at once', () => {
    const c = clock();
    const d = new Debouncer(0, c.now, 1);
    expect(d.feed(0)).toBe(0);
    expect(d.feed(1)).toBe(1);
  });

  it('refuses a negative or NaN window', () => {
    const c = clock();
    expect(() => new Debouncer(-1, c.now, 1)).toThrow(RangeError);
    expect(() => new Debouncer(Number.NaN, c.now, 1)).toThrow(RangeError);
  });
});
