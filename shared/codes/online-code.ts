// SPDX-License-Identifier: Apache-2.0
// Online one-time code: 20 digits, "31" + 17 random digits + Luhn check digit. The server issues it
// and stores it; it carries no meaning of its own. 17 random digits give 10^17 (about 2^56) values.
import { assert } from '../assert.ts';
import type { Random } from '../random.ts';
import { luhnCheckDigit } from './luhn.ts';

export const ONLINE_CODE_PREFIX = '31';
export const ONLINE_CODE_DIGITS = 20;
const RANDOM_DIGITS = ONLINE_CODE_DIGITS - ONLINE_CODE_PREFIX.length - 1;

/**
 * Random decimal digits without bias: bytes 0..249 map to byte % 10, bytes 250..255 are discarded
 * (rejection sampling). Bytes are consumed strictly in order, so the digits depend only on the
 * byte stream, not on how `random.bytes` chunks it (docs/vectors/online-codes.json relies on this).
 */
export function randomDigits(random: Random, count: number): string {
  assert(Number.isSafeInteger(count) && count >= 0 && count <= 1024, 'digit count must be an integer in [0, 1024]');
  let out = '';
  for (let rounds = 0; out.length < count; rounds++) {
    // A working generator discards 6/256 of its bytes and needs a round or two; 64 means it is broken.
    assert(rounds < 64, 'random source keeps returning bytes >= 250');
    const bytes = random.bytes(count - out.length);
    for (const b of bytes) if (b < 250) out += String(b % 10);
  }
  return out;
}

export function makeOnlineCode(random: Random): string {
  const body = ONLINE_CODE_PREFIX + randomDigits(random, RANDOM_DIGITS);
  return body + luhnCheckDigit(body);
}
