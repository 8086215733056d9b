// SPDX-License-Identifier: Apache-2.0
// The operator's day: a fixed UTC offset (config `ops.utcOffset`, default +09:00) turns server
// time into local days and hours. A fixed offset, not a time-zone name: no daylight saving.

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** `+09:00` -> 32_400_000; throws on anything else (config validates the form first). */
export function parseUtcOffset(text: string): number {
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(text);
  if (!m) throw new Error(`UTC offset must look like +09:00, not ${JSON.stringify(text)}`);
  const ms = (Number(m[2]) * 60 + Number(m[3])) * 60_000;
  return m[1] === '-' ? -ms : ms;
}

/** Start (server time, Unix ms) of the local day that contains `nowMs`. */
export function dayStartMs(nowMs: number, utcOffsetMs: number): number {
  const local = nowMs + utcOffsetMs;
  return local - (((local % DAY_MS) + DAY_MS) % DAY_MS) - utcOffsetMs;
}

/** The local calendar date of `nowMs`, e.g. 2026-11-28. */
export function localDate(nowMs: number, utcOffsetMs: number): string {
  return new Date(nowMs + utcOffsetMs).toISOString().slice(0, 10);
}
