// SPDX-License-Identifier: Apache-2.0
// Did a battery-backed real-time clock set the system clock at this boot? The Pi 5 has its own RTC
// (rtc0, "rpi-rtc"; it keeps time only with a battery on its J5 connector); a Pi 4 needs an add-on
// such as a DS3231 (an I2C overlay). When the kernel set the system clock from an RTC at boot, that
// RTC's /sys/class/rtc/rtcN/hctosys reads 1. Without a battery the Pi 5 RTC starts again from zero
// after a power cut and the kernel may still copy it; a DS3231 whose oscillator stopped refuses to be
// read (hctosys 0). Either way the trusted clock refuses a wall clock behind its persisted lower
// bound (domain/offline/trusted-clock.ts), so a flat battery costs trust, not money.
// Config `offline.clock.rtc` overrides the detection ('present' or 'absent'). Read under `root` so
// tests (and the doctor) use a fake /sys.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export type RtcSetting = 'auto' | 'present' | 'absent';

export interface RtcInfo {
  /** e.g. 'rtc0' */
  device: string;
  /** The driver's name, e.g. 'rpi-rtc' or 'rtc-ds1307' (the DS3231 driver). */
  name: string;
  /** The kernel set the system clock from this RTC at boot. */
  hctosys: boolean;
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** Every RTC the kernel knows, from <root>/sys/class/rtc; empty when there is none (or no /sys). */
export function listRtcs(root = '/'): RtcInfo[] {
  const dir = join(root, 'sys/class/rtc');
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => /^rtc\d+$/.test(n))
      .sort();
  } catch {
    return [];
  }
  return names.map((device) => ({
    device,
    name: read(join(dir, device, 'name')) ?? 'unknown',
    hctosys: read(join(dir, device, 'hctosys')) === '1',
  }));
}

/** Whether the kiosk may take its wall clock at boot as set by a battery-backed RTC. */
export function rtcSetSystemClock(setting: RtcSetting, root = '/'): boolean {
  if (setting !== 'auto') return setting === 'present';
  return listRtcs(root).some((r) => r.hctosys);
}
