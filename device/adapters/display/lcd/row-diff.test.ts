// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { changedSpan } from './row-diff.ts';

describe('changedSpan', () => {
  it('is undefined for an unchanged row', () => {
    expect(changedSpan('Welcome   ', 'Welcome   ')).toBeUndefined();
  });

  it('covers from the first to the last differing cell', () => {
    expect(changedSpan('Total ¥1,200        ', 'Total ¥1,350        ')).toEqual({ start: 9, end: 11 });
    expect(changedSpan('             OFFLINE', '                    ')).toEqual({ start: 13, end: 20 });
    expect(changedSpan('a         ', 'b        c')).toEqual({ start: 0, end: 10 });
  });
});
