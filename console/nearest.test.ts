// SPDX-License-Identifier: Apache-2.0
// "Did you mean …?": edit distance, the nearest known names, and the unknown-kiosk message in each
// of its three cases (near ids, no near id, no kiosk at all), from the shell and at the prompt.
import { describe, expect, it } from 'vitest';
import { promptCommand, shellCommand, unknownKioskMessage } from './format.ts';
import { editDistance, nearest, orList } from './nearest.ts';

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and neighbour swaps as one edit each', () => {
    expect(editDistance('kiosk-1', 'kiosk-1')).toBe(0);
    expect(editDistance('kiosk1', 'kiosk-1')).toBe(1);
    expect(editDistance('kiosk-12', 'kiosk-1')).toBe(1);
    expect(editDistance('kiosk-7', 'kiosk-1')).toBe(1);
    expect(editDistance('kisok-1', 'kiosk-1')).toBe(1);
    expect(editDistance('', 'k1')).toBe(2);
    expect(editDistance('lobby', 'kiosk-1')).toBe(6); // only the 'o' lines up
  });

  it('does not compare words longer than any id character by character', () => {
    expect(editDistance('x'.repeat(10_000), 'kiosk-1')).toBe(10_000);
  });
});

describe('nearest', () => {
  const fleet = ['kiosk-1', 'kiosk-2', 'kiosk-10', 'lobby-east', 'k1'];
  it('gives the close names, nearest first, at most three', () => {
    expect(nearest('kiosk1', fleet)).toEqual(['kiosk-1', 'kiosk-2', 'kiosk-10']); // ties in the order given
    expect(nearest('lobby-aest', fleet)).toEqual(['lobby-east']);
    expect(nearest('k9', fleet)).toEqual(['k1']);
  });

  it('gives nothing for a name close to none, or the name itself', () => {
    expect(nearest('zz', ['k1', 'k2'])).toEqual([]);
    expect(nearest('vending-west', fleet)).toEqual([]);
    expect(nearest('k1', ['k1'])).toEqual([]);
  });

  it('joins names as a person would', () => {
    expect([orList(['a']), orList(['a', 'b']), orList(['a', 'b', 'c'])]).toEqual(['a', 'a or b', 'a, b or c']);
  });
});

describe('unknownKioskMessage', () => {
  it('names the nearest ids and the command that lists them all', () => {
    expect(unknownKioskMessage('kiosk-9', ['kiosk-1', 'kiosk-2'], ['kiosk-1', 'kiosk-2'], shellCommand)).toBe(
      'unknown kiosk kiosk-9; did you mean kiosk-1 or kiosk-2? (kioskpay console list shows every kiosk)',
    );
    expect(unknownKioskMessage('kiosk-9', ['kiosk-1'], ['kiosk-1'], promptCommand)).toBe(
      'unknown kiosk kiosk-9; did you mean kiosk-1? (list shows every kiosk)',
    );
  });

  it('lists some kiosks when none is near', () => {
    const many = Array.from({ length: 8 }, (_, i) => `k${i}`);
    expect(unknownKioskMessage('lobby', many, [], shellCommand)).toBe(
      'unknown kiosk lobby; the kiosks are k0, k1, k2, k3, k4 and 3 more (kioskpay console list shows them all)',
    );
  });

  it('with no kiosk at all, suspects the broker', () => {
    expect(unknownKioskMessage('kiosk-1', [], [], shellCommand, 'mqtt://127.0.0.1:1884')).toBe(
      "unknown kiosk kiosk-1: no kiosk has published a status on mqtt://127.0.0.1:1884; start it (kioskpay kiosk --config FILE), or give the kiosks' broker with --url",
    );
  });
});
