// SPDX-License-Identifier: Apache-2.0
// The deployment time zone: offsets with and without daylight saving, the screen and ISO forms,
// local days that are 23 or 25 hours long, and a day whose midnight does not exist.
import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS, TimeZone, isTimeZone, machineTimeZone, offsetText } from './time-zone.ts';

const T = Date.UTC(2026, 10, 28, 12, 0, 0); // 21:00 in Tokyo

describe('TimeZone', () => {
  it('formats one instant as ISO 8601 with offset and for the screen, in a zone without daylight saving', () => {
    const tokyo = TimeZone.parse('Asia/Tokyo');
    expect(tokyo.offsetMs(T)).toBe(9 * HOUR_MS);
    expect(tokyo.iso(T)).toBe('2026-11-28T21:00:00+09:00');
    expect(tokyo.display(T)).toBe('2026-11-28 21:00:00 +09:00');
    expect(tokyo.localDate(T + 3 * HOUR_MS)).toBe('2026-11-29');
    expect(tokyo.localHour(T)).toBe(21);
    expect(tokyo.label(T)).toBe('Asia/Tokyo (UTC+09:00)');
    expect(Date.parse(tokyo.iso(T))).toBe(T);
  });

  it('takes a fixed offset, including half and quarter hours and negative ones', () => {
    expect(TimeZone.parse('+05:30').iso(T)).toBe('2026-11-28T17:30:00+05:30');
    expect(TimeZone.parse('-03:30').display(T)).toBe('2026-11-28 08:30:00 -03:30');
    expect(TimeZone.parse('+00:00').label(T)).toBe('UTC+00:00');
    expect(TimeZone.parse('Asia/Kathmandu').iso(T)).toBe('2026-11-28T17:45:00+05:45');
    expect(offsetText(-(5 * 60 + 45) * 60_000)).toBe('-05:45');
  });

  it('follows daylight saving: New York days of 23 and 25 hours', () => {
    const ny = TimeZone.parse('America/New_York');
    const spring = ny.startOfDay('2026-03-08');
    const fall = ny.startOfDay('2026-11-01');
    expect(ny.iso(spring)).toBe('2026-03-08T00:00:00-05:00');
    expect(ny.startOfDay('2026-03-09') - spring).toBe(23 * HOUR_MS);
    expect(ny.iso(ny.startOfDay('2026-03-09'))).toBe('2026-03-09T00:00:00-04:00');
    expect(ny.iso(fall)).toBe('2026-11-01T00:00:00-04:00');
    expect(ny.startOfDay('2026-11-02') - fall).toBe(25 * HOUR_MS);
    // 01:30 happens twice on 2026-11-01; each instant carries its own offset.
    expect([ny.iso(fall + 90 * 60_000), ny.iso(fall + 150 * 60_000)]).toEqual(['2026-11-01T01:30:00-04:00', '2026-11-01T01:30:00-05:00']);
  });

  it('starts a day whose midnight was skipped at the first minute that exists', () => {
    // Chile moves its clocks from 00:00 to 01:00 on the first Sunday of September.
    const santiago = TimeZone.parse('America/Santiago');
    const start = santiago.startOfDay('2026-09-06');
    expect(santiago.iso(start)).toBe('2026-09-06T01:00:00-03:00');
    expect(santiago.localDate(start - 1)).toBe('2026-09-05');
  });

  it('gives the first instant of every local day across a year, in several zones', () => {
    for (const name of ['Asia/Tokyo', 'Europe/London', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'UTC', '+09:00']) {
      const tz = TimeZone.parse(name);
      let date = '2026-01-01';
      for (let i = 0; i < 366; i++) {
        const start = tz.startOfDay(date);
        expect(tz.localDate(start), `${name} ${date}`).toBe(date);
        expect(tz.localDate(start - 1), `${name} ${date}`).not.toBe(date);
        expect(tz.dayStartOf(start + DAY_MS / 2 - HOUR_MS)).toBe(start);
        date = TimeZone.nextDate(date);
      }
    }
  });

  it('refuses what is not a zone, and knows the machine zone', () => {
    expect(() => TimeZone.parse('Mars/Olympus')).toThrow(/IANA name such as Asia\/Tokyo or a fixed offset such as \+09:00/);
    expect(() => TimeZone.parse('+9')).toThrow(/time zone/);
    expect(() => TimeZone.parse('UTC').startOfDay('2026-02-30')).toThrow(/not a date/);
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('+15:00')).toBe(false);
    expect(isTimeZone(machineTimeZone())).toBe(true);
  });
});
