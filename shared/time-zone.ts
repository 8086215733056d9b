// SPDX-License-Identifier: Apache-2.0
// The deployment's time zone (config `timeZone`): an IANA name such as Asia/Tokyo (daylight saving
// included, from the ICU data Node carries) or a fixed offset such as +09:00. One convention for
// every time the server shows: local time with its offset on screens ("2026-11-28 21:00:00 +09:00"),
// ISO 8601 with the offset in JSON and CSV ("2026-11-28T21:00:00+09:00"). Server times stay Unix
// milliseconds inside; only the edges convert.

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

const FIXED = /^([+-])(0[0-9]|1[0-4]):([0-5][0-9])$/;
const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The machine's own zone (TZ in the environment, else the system's), UTC when it cannot be told. */
export function machineTimeZone(): string {
  const name = new Intl.DateTimeFormat('en-US').resolvedOptions().timeZone;
  return name && isTimeZone(name) ? name : 'UTC';
}

/** True for a zone TimeZone.parse accepts. */
export function isTimeZone(name: unknown): name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 64) return false;
  if (FIXED.test(name)) return true;
  // An offset is ours to judge (UTC-12:00 to +14:00, as real zones go): newer ICU (Node 24 and
  // later) takes any offset up to ±23:59 as a zone, and the answer must not depend on the Node.
  if (/^[+-]/.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** `+09:00`, `-03:30`, `+00:00` for an offset in ms. */
export function offsetText(offsetMs: number): string {
  const sign = offsetMs < 0 ? '-' : '+';
  const minutes = Math.round(Math.abs(offsetMs) / 60_000);
  return `${sign}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

export class TimeZone {
  readonly name: string;
  readonly #fixedMs: number | null;
  readonly #fmt: Intl.DateTimeFormat | null;

  private constructor(name: string, fixedMs: number | null) {
    this.name = name;
    this.#fixedMs = fixedMs;
    this.#fmt =
      fixedMs !== null
        ? null
        : new Intl.DateTimeFormat('en-US', {
            timeZone: name,
            hourCycle: 'h23',
            year: 'numeric',
            month: '2-digit',
            day: '2-digit',
            hour: '2-digit',
            minute: '2-digit',
            second: '2-digit',
          });
  }

  /** An IANA name or ±HH:MM; throws naming the accepted forms otherwise. */
  static parse(name: string): TimeZone {
    const m = FIXED.exec(name);
    if (m) {
      const ms = (Number(m[2]) * 60 + Number(m[3])) * 60_000;
      return new TimeZone(name, m[1] === '-' ? -ms : ms);
    }
    if (!isTimeZone(name))
      throw new Error(`time zone must be an IANA name such as Asia/Tokyo or a fixed offset such as +09:00, not ${JSON.stringify(name)}`);
    return new TimeZone(name, null);
  }

  /** Local time minus UTC at `atMs`, in ms (+09:00 = 32_400_000). */
  offsetMs(atMs: number): number {
    if (this.#fixedMs !== null) return this.#fixedMs;
    const w = this.#wallOf(atMs);
    const wallMs = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);
    return wallMs - Math.floor(atMs / 1000) * 1000;
  }

  /** `2026-11-28T21:00:00+09:00`: ISO 8601 with the local offset, to the second (JSON and CSV). */
  iso(atMs: number): string {
    const off = this.offsetMs(atMs);
    return `${new Date(atMs + off).toISOString().slice(0, 19)}${offsetText(off)}`;
  }

  /** `2026-11-28 21:00:00 +09:00`: for people. */
  display(atMs: number): string {
    const off = this.offsetMs(atMs);
    const t = new Date(atMs + off).toISOString();
    return `${t.slice(0, 10)} ${t.slice(11, 19)} ${offsetText(off)}`;
  }

  /** The local calendar date of `atMs`, e.g. 2026-11-28. */
  localDate(atMs: number): string {
    return new Date(atMs + this.offsetMs(atMs)).toISOString().slice(0, 10);
  }

  /** The local hour (0-23) of `atMs`. */
  localHour(atMs: number): number {
    return new Date(atMs + this.offsetMs(atMs)).getUTCHours();
  }

  /**
   * The first instant (Unix ms) of a local date: its midnight, or, where daylight saving skips
   * midnight, the first minute that exists. Throws on a malformed date.
   */
  startOfDay(date: string): number {
    const m = LOCAL_DATE.exec(date);
    const u = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
    if (!m || Number.isNaN(u) || new Date(u).toISOString().slice(0, 10) !== date)
      throw new Error(`not a date (YYYY-MM-DD): ${JSON.stringify(date)}`);
    // Midnight at either offset in force around that day; keep the earliest that really is midnight there.
    const candidates = [...new Set([this.offsetMs(u - DAY_MS / 2), this.offsetMs(u), this.offsetMs(u + DAY_MS / 2)])].map((o) => u - o);
    const midnights = candidates.filter((t) => this.offsetMs(t) === u - t).sort((a, b) => a - b);
    if (midnights.length > 0) return midnights[0]!;
    // Midnight does not exist (clocks went forward at 00:00): the day starts when the gap ends.
    let lo = Math.min(...candidates),
      hi = Math.max(...candidates);
    while (hi - lo > 60_000) {
      const mid = lo + Math.floor((hi - lo) / 2 / 60_000) * 60_000;
      if (this.localDate(mid) < date) lo = mid;
      else hi = mid;
    }
    return hi;
  }

  /** The local date after `date`. */
  static nextDate(date: string): string {
    const m = LOCAL_DATE.exec(date);
    if (!m) throw new Error(`not a date (YYYY-MM-DD): ${JSON.stringify(date)}`);
    return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1)).toISOString().slice(0, 10);
  }

  /** Start of the local day that contains `atMs`. */
  dayStartOf(atMs: number): number {
    return this.startOfDay(this.localDate(atMs));
  }

  /** `Asia/Tokyo (UTC+09:00)`, or `UTC+09:00` for a fixed offset, with the offset in force at `atMs`. */
  label(atMs: number): string {
    const off = `UTC${offsetText(this.offsetMs(atMs))}`;
    return this.#fixedMs !== null ? off : `${this.name} (${off})`;
  }

  #wallOf(atMs: number): Wall {
    const parts = this.#fmt!.formatToParts(new Date(atMs));
    const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
    return { y: get('year'), mo: get('month'), d: get('day'), h: get('hour') % 24, mi: get('minute'), s: get('second') };
  }
}
