// SPDX-License-Identifier: Apache-2.0
// The shape of one `kioskpay kiosk doctor` check (doctor.ts runs them all). Each area of the kiosk
// (GPIO, scanner, clock, storage, uplink) contributes a function that inspects the real machine
// read-only, under the given roots so tests can point it at a fake /dev, /sys or /proc, and
// returns one result per thing it looked at, each with the fix a technician should apply.
import type { KioskConfig } from '../config.ts';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable id for scripts, e.g. 'gpio.chip', 'scanner.present', 'storage.durable'. */
  id: string;
  /** One line a technician reads, e.g. 'GPIO chip pinctrl-rp1 found as gpiochip4'. */
  title: string;
  status: CheckStatus;
  /** What was seen (paths, versions, numbers). */
  detail?: string;
  /** For warn and fail: the command or config change that fixes it. */
  fix?: string;
}

/** Where the machine is read from; tests point these at fake trees and fake tools. */
export interface DoctorEnv {
  /** Root for /dev, /sys, /proc and /etc lookups; '/' on a Pi. */
  root: string;
  /** Extra PATH entries searched first for tools (gpiodetect, gpioinfo, ...). */
  toolPath?: string[];
  /** Bounded time for any one probe (tool run, device open, broker login). */
  probeTimeoutMs: number;
}

export type DoctorCheck = (cfg: Readonly<KioskConfig>, env: Readonly<DoctorEnv>) => Promise<CheckResult[]>;
