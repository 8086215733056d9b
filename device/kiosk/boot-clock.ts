// SPDX-License-Identifier: Apache-2.0
// The kiosk's real clock: wall time from Date.now(), monotonic time from process.hrtime (Linux
// CLOCK_MONOTONIC, counted from boot), and the boot id naming that origin. With both, a kiosk process
// that restarts (a crash, an update, a SIGKILL) within one boot keeps its server time sync; after a
// reboot the boot id differs and the trusted clock starts untrusted (domain/offline/README.md).
import { readFileSync } from 'node:fs';
import type { Clock } from '../../shared/clock.ts';

export const bootClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => Number(process.hrtime.bigint() / 1_000n) / 1_000,
};

/** The Linux boot id, or undefined where there is none (then every restart counts as a reboot). */
export function readBootId(path = '/proc/sys/kernel/random/boot_id'): string | undefined {
  try {
    const id = readFileSync(path, 'utf8').trim();
    return /^[0-9a-f-]{36}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
