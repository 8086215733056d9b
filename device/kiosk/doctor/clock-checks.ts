// SPDX-License-Identifier: Apache-2.0
// `kioskpay kiosk doctor`: the kiosk's clock. Where its time comes from after a reboot without uplink
// (device/domain/offline/README.md, "Clock policy"): a battery-backed RTC that set the system clock
// (then offline codes are judged on it), NTP (systemd-timesyncd), and the last-trusted lower bound
// the kiosk keeps in its data dir, which the system clock must not be behind. Read-only, under env.root.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listRtcs, rtcSetSystemClock } from '../rtc.ts';
import type { CheckResult, DoctorCheck } from './check.ts';

/** The persisted lower bound from the kiosk's state file, whatever its envelope (the body's clock.lowerBoundMs). */
export function readLowerBound(path: string): { ok: true; boundMs: number | null } | { ok: false; problem: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return {
      ok: false,
      problem: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no state file yet' : `unreadable: ${(e as Error).message}`,
    };
  }
  const body = doc !== null && typeof doc === 'object' && 'body' in doc ? (doc as { body: unknown }).body : doc;
  const clock = body !== null && typeof body === 'object' ? (body as { clock?: unknown }).clock : undefined;
  const bound = clock !== null && typeof clock === 'object' ? (clock as { lowerBoundMs?: unknown }).lowerBoundMs : undefined;
  return { ok: true, boundMs: typeof bound === 'number' && Number.isFinite(bound) ? bound : null };
}

export const clockChecks: DoctorCheck = async (cfg, env) => {
  const out: CheckResult[] = [];
  const setting = cfg.offline.clock.rtc;
  const rtcs = listRtcs(env.root);
  const used = rtcSetSystemClock(setting, env.root);
  const seen = rtcs.map((r) => `${r.device} ${r.name} hctosys=${r.hctosys ? 1 : 0}`).join(', ') || 'no /sys/class/rtc/rtc*';
  if (setting === 'absent') {
    out.push({
      id: 'clock.rtc',
      title: 'RTC not used (offline.clock.rtc = absent): after a reboot without uplink the kiosk sells only in the untrusted-clock mode',
      status: 'pass',
      detail: seen,
    });
  } else if (used) {
    out.push({
      id: 'clock.rtc',
      title:
        setting === 'present' ? 'RTC trusted by config (offline.clock.rtc = present)' : 'a battery-backed RTC set the system clock at boot',
      status: 'pass',
      detail: seen,
    });
  } else {
    out.push({
      id: 'clock.rtc',
      title:
        rtcs.length === 0
          ? 'no RTC: after a reboot without uplink the kiosk sells only in the untrusted-clock mode'
          : 'an RTC exists but did not set the system clock at boot (no battery, or a stopped oscillator)',
      status: 'warn',
      detail: seen,
      fix:
        rtcs.length === 0
          ? 'Pi 5: fit a battery to the J5 RTC connector; Pi 4: add a DS3231 and `dtoverlay=i2c-rtc,ds3231` in /boot/firmware/config.txt; or set offline.clock.rtc to "absent" to silence this'
          : 'fit or replace the RTC battery (Pi 5: also `dtparam=rtc_bbat_vchg=3000000` for a rechargeable cell), then `sudo hwclock --systohc` while NTP-synchronised',
    });
  }
  const ntp = existsSync(join(env.root, 'run/systemd/timesync/synchronized'));
  out.push(
    ntp
      ? { id: 'clock.ntp', title: 'system clock synchronised by NTP (systemd-timesyncd)', status: 'pass' }
      : {
          id: 'clock.ntp',
          title: 'system clock not synchronised by NTP',
          status: 'warn',
          detail: 'no /run/systemd/timesync/synchronized',
          fix: 'sudo timedatectl set-ntp true (and allow UDP 123 out); the RTC keeps whatever time the system clock had',
        },
  );
  const state = readLowerBound(join(cfg.dataDir, 'kiosk-state.json'));
  if (!state.ok) {
    out.push({
      id: 'clock.bound',
      title: 'last-trusted time not known',
      status: state.problem === 'no state file yet' ? 'warn' : 'fail',
      detail: state.problem,
      fix: 'start the kiosk once with its uplink up so it syncs with the server and saves its state',
    });
  } else if (state.boundMs === null) {
    out.push({
      id: 'clock.bound',
      title: 'no last-trusted time saved: the kiosk has never synced with the server',
      status: 'warn',
      fix: 'start the kiosk with its uplink up once; until then it takes no offline code after a reboot',
    });
  } else {
    const wall = Date.now();
    const detail = `bound ${new Date(state.boundMs).toISOString()}, system clock ${new Date(wall).toISOString()}`;
    out.push(
      wall >= state.boundMs
        ? { id: 'clock.bound', title: 'system clock is past the last-trusted time', status: 'pass', detail }
        : {
            id: 'clock.bound',
            title: 'system clock is BEHIND the last-trusted time: the RTC (if any) is not trusted this boot',
            status: 'fail',
            detail,
            fix: 'restore the uplink (the kiosk then syncs with the server), or set the time: sudo timedatectl set-ntp true; then `sudo hwclock --systohc` and check the RTC battery',
          },
    );
  }
  return out;
};
