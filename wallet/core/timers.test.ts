// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { ManualTimers, systemTimers } from './timers.ts';

describe('ManualTimers', () => {
  it('fires due callbacks in due order, once, and never a cancelled one', () => {
    const t = new ManualTimers();
    const fired: string[] = [];
    t.after(300, () => fired.push('c'));
    const cancelB = t.after(200, () => fired.push('b'));
    t.after(100, () => {
      fired.push('a');
      t.after(50, () => fired.push('a2'));
    });
    cancelB();
    t.advance(99);
    expect(fired).toEqual([]);
    t.advance(101);
    expect(fired).toEqual(['a', 'a2']);
    t.advance(99);
    expect(fired).toEqual(['a', 'a2']);
    t.advance(1);
    expect(fired).toEqual(['a', 'a2', 'c']);
    t.advance(1_000);
    expect(fired).toEqual(['a', 'a2', 'c']);
    expect(t.pendingCount).toBe(0);
  });
});

describe('systemTimers', () => {
  it('runs a 0 ms callback asynchronously, and a cancel stops it', async () => {
    const fired: string[] = [];
    systemTimers.after(0, () => fired.push('run'));
    systemTimers.after(0, () => fired.push('cancelled'))();
    expect(fired).toEqual([]);
    // Barrier: timers of the same delay fire in the order they were set, so a later one proves the
    // cancelled one's turn has passed.
    await new Promise<void>((r) => systemTimers.after(0, r));
    expect(fired).toEqual(['run']);
  });
});
