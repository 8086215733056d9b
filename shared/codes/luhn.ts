// SPDX-License-Identifier: Apache-2.0
// The Luhn check digit (ISO/IEC 7812-1, annex B): catches every single-digit error and most
// adjacent transpositions, which is what a shopper typing a code at a kiosk gets wrong.
import { assert } from '../assert.ts';

const DIGITS = /^[0-9]+$/;

/** Luhn sum of a digit string, doubling every second digit counted from the right, starting with the rightmost when `doubleRightmost`. */
function luhnSum(digits: string, doubleRightmost: boolean): number {
  let sum = 0;
  let double = doubleRightmost;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum;
}

/** The digit to append to `digits` (one or more ASCII digits) so that the result passes luhnValid. */
export function luhnCheckDigit(digits: string): string {
  assert(typeof digits === 'string' && DIGITS.test(digits), 'luhnCheckDigit takes one or more ASCII digits');
  return String((10 - (luhnSum(digits, true) % 10)) % 10);
}

/** True when `digits` is at least two ASCII digits whose last digit is the Luhn check digit. Never throws. */
export function luhnValid(digits: string): boolean {
  if (typeof digits !== 'string' || digits.length < 2 || !DIGITS.test(digits)) return false;
  return luhnSum(digits, false) % 10 === 0;
}
