// SPDX-License-Identifier: Apache-2.0
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseKioskConfig } from '../config.ts';
import { clockChecks } from './clock-checks.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fake root with /sys/class/rtc, /run/systemd/timesync and a data dir holding the kiosk's state. */
function fakeRoot(o: {
  rtc?: { name: string; hctosys: string };
  ntp?: boolean;
  boundMs?: number | null;
  rtcSetting?: 'auto' | 'present' | 'absent';
}) {
  const root = mkdtempSync(join(tmpdir(), 'kp-doctor-clock-'));
  dirs.push(root);
  if (o.rtc) {
    const dev = join(root, 'sys/class/rtc/rtc0');
    mkdirSync(dev, { recursive: true });
    writeFileSync(join(dev, 'name'), `${o.rtc.name}\n`);
    writeFileSync(join(dev, 'hctosys'), `${o.rtc.hctosys}\n`);
  }
  if (o.ntp) {
    mkdirSync(join(root, 'run/systemd/timesync'), { recursive: true });
    writeFileSync(join(root, 'run/systemd/timesync/synchronized'), '');
  }
  const dataDir = join(root, 'data');
  mkdirSync(dataDir);
  if (o.boundMs !== undefined) {
    // The envelope DurableJsonFile writes; the check reads only body.clock.lowerBoundMs.
    writeFileSync(
      join(dataDir, 'kiosk-state.json'),
      JSON.stringify({ format: 'kioskpay-kiosk-state/1', seq: 3, body: { clock: { v: 1, lowerBoundMs: o.boundMs } }, checksum: 'x' }),
    );
  }
  const cfg = parseKioskConfig({
    kioskId: 'k1',
    dataDir,
    mqtt: { url: 'mqtt://x:1', password: 'p' },
    issuerKeys: [{ keyId: 1, publicKey: 'A'.repeat(43) }],
    offline: { clock: { rtc: o.rtcSetting ?? 'auto' } },
  });
  return clockChecks(cfg, { root, probeTimeoutMs: 1_000 });
}

const byId = (rs: Awaited<ReturnType<typeof fakeRoot>>) => Object.fromEntries(rs.map((r) => [r.id, r]));

describe('doctor: clock', () => {
  it('passes a Pi 5 whose battery-backed RTC set the clock, with NTP and a bound in the past', async () => {
    const r = byId(await fakeRoot({ rtc: { name: 'rpi-rtc', hctosys: '1' }, ntp: true, boundMs: Date.UTC(2024, 0, 1) }));
    expect(r['clock.rtc']).toMatchObject({ status: 'pass', detail: 'rtc0 rpi-rtc hctosys=1' });
    expect(r['clock.ntp']).toMatchObject({ status: 'pass' });
    expect(r['clock.bound']).toMatchObject({ status: 'pass' });
  });

  it('warns, with a fix, when an RTC did not set the clock, when there is none, and without NTP', async () => {
    const stopped = byId(await fakeRoot({ rtc: { name: 'rtc-ds1307', hctosys: '0' }, boundMs: Date.UTC(2024, 0, 1) }));
    expect(stopped['clock.rtc']).toMatchObject({ status: 'warn', fix: expect.stringMatching(/battery/) });
    expect(stopped['clock.ntp']).toMatchObject({ status: 'warn', fix: expect.stringMatching(/timedatectl set-ntp true/) });
    const none = byId(await fakeRoot({ ntp: true, boundMs: Date.UTC(2024, 0, 1) }));
    expect(none['clock.rtc']).toMatchObject({ status: 'warn', fix: expect.stringMatching(/DS3231/) });
    // The config override is reported as such.
    expect(byId(await fakeRoot({ rtcSetting: 'present' }))['clock.rtc']).toMatchObject({
      status: 'pass',
      title: expect.stringMatching(/by config/),
    });
    expect(byId(await fakeRoot({ rtc: { name: 'rpi-rtc', hctosys: '1' }, rtcSetting: 'absent' }))['clock.rtc']).toMatchObject({
      status: 'pass',
      title: expect.stringMatching(/not used/),
    });
  });

  it('fails when the system clock is behind the persisted last-trusted time, and warns when none is saved', async () => {
    const behind = byId(await fakeRoot({ rtc: { name: 'rpi-rtc', hctosys: '1' }, ntp: true, boundMs: Date.now() + 365 * 86_400_000 }));
    expect(behind['clock.bound']).toMatchObject({ status: 'fail', fix: expect.stringMatching(/uplink/) });
    expect(byId(await fakeRoot({ boundMs: null }))['clock.bound']).toMatchObject({ status: 'warn' });
    expect(byId(await fakeRoot({}))['clock.bound']).toMatchObject({ status: 'warn', detail: 'no state file yet' });
  });
});
