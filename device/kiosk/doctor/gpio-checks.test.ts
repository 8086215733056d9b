// SPDX-License-Identifier: Apache-2.0
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeGpiodTools, PI5_CHIPS, PI5_OLD_KERNEL_CHIPS } from '../../adapters/gpio/fake-gpiod.ts';
import { parseKioskConfig } from '../config.ts';
import type { DoctorEnv } from './check.ts';
import { configTxtLine, gpioChecks, parseGpioinfo, pinsPulledInConfigTxt } from './gpio-checks.ts';

const PINS = { leds: { ready: 5, offline: 6, fault: 13 }, buzzer: 12, relay: 16, buttons: { cancel: 20, help: 21, pay: 26 } };

function config(gpio: object) {
  return parseKioskConfig({
    kioskId: 'k1',
    dataDir: '/tmp/kioskpay-doctor-test',
    mqtt: { url: 'mqtt://127.0.0.1:1883', password: 'x' },
    issuerKeys: [{ keyId: 1, publicKey: 'A'.repeat(43) }],
    gpio,
  });
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function fakeRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'kioskpay-doctor-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

function tools(version: 1 | 2, chips = PI5_CHIPS): FakeGpiodTools {
  const t = new FakeGpiodTools(version, { chips });
  cleanups.push(() => {
    for (const pid of t.living()) process.kill(pid, 'SIGKILL');
    t.remove();
  });
  return t;
}

describe('GPIO doctor checks', () => {
  for (const version of [1, 2] as const) {
    it(`gpiod backend, libgpiod v${version}, Pi 5 on an older kernel: chip by label, version, line use, bias`, async () => {
      const t = tools(version, PI5_OLD_KERNEL_CHIPS);
      // Something else holds the relay pin.
      const holder = spawn(t.paths.gpioset, version === 1 ? ['--mode=signal', 'gpiochip4', '16=1'] : ['-c', 'gpiochip4', '16=1'], {
        stdio: 'ignore',
      });
      cleanups.push(() => holder.kill('SIGKILL'));
      await expect.poll(() => t.line(16)?.consumer, { timeout: 5000 }).toBe('gpioset');
      const env: DoctorEnv = { root: fakeRoot(), toolPath: [t.dir], probeTimeoutMs: 5000 };
      const res = await gpioChecks(config({ backend: 'gpiod', pins: PINS }), env);
      const by = (id: string) => res.find((r) => r.id === id);
      expect(by('gpio.libgpiod')).toMatchObject({ status: 'pass' });
      expect(by('gpio.chip')).toMatchObject({ status: 'pass', title: 'GPIO chip pinctrl-rp1 found as gpiochip4' });
      expect(by('gpio.line.20')).toMatchObject({ status: 'pass', title: 'BCM 20 (cancel button) is free' });
      expect(by('gpio.line.16')).toMatchObject({ status: 'warn', title: 'BCM 16 (relay) is used by "gpioset"' });
      expect(by('gpio.line.16')?.fix).toMatch(/kiosk stopped/);
      expect(by('gpio.bias')).toMatchObject({ status: 'pass' });
      holder.kill('SIGTERM');
      await new Promise((r) => holder.once('exit', r));
    });
  }

  it('gpiod backend without the tools: fails with the install command', async () => {
    const env: DoctorEnv = { root: fakeRoot(), toolPath: [], probeTimeoutMs: 5000 };
    const res = await gpioChecks(config({ backend: 'gpiod', chip: '/nonexistent/none', pins: PINS }), {
      ...env,
      toolPath: ['/nonexistent'],
    });
    // The tools are looked up on PATH too; this machine has no libgpiod tools.
    expect(res.find((r) => r.id === 'gpio.libgpiod')).toMatchObject({ status: 'fail', fix: 'sudo apt install gpiod' });
    expect(res.find((r) => r.id === 'gpio.chip')?.status).toBe('fail');
  });

  it('sysfs backend: warns with the exact config.txt line until it is there', async () => {
    const root = fakeRoot();
    mkdirSync(join(root, 'sys/class/gpio/gpiochip512'), { recursive: true });
    writeFileSync(join(root, 'sys/class/gpio/gpiochip512/label'), 'pinctrl-bcm2711\n');
    writeFileSync(join(root, 'sys/class/gpio/gpiochip512/base'), '512\n');
    mkdirSync(join(root, 'boot/firmware'), { recursive: true });
    writeFileSync(join(root, 'boot/firmware/config.txt'), 'dtparam=audio=on\n[all]\ngpio=20,21=ip,pu\n');
    const t = tools(1, [{ name: 'gpiochip0', label: 'pinctrl-bcm2711', lines: 58, main: true }]);
    const env: DoctorEnv = { root, toolPath: [t.dir], probeTimeoutMs: 5000 };
    const cfg = config({ backend: 'sysfs', pins: PINS, sysfsRoot: join(root, 'sys') });
    let res = await gpioChecks(cfg, env);
    expect(res.find((r) => r.id === 'gpio.chip')).toMatchObject({
      status: 'pass',
      title: 'GPIO chip pinctrl-bcm2711 found at sysfs base 512',
    });
    const bias = res.find((r) => r.id === 'gpio.bias');
    expect(bias).toMatchObject({ status: 'warn', title: 'Button bias pull-up is not set for BCM 26' });
    expect(bias?.fix).toContain('"gpio=20,21,26=ip,pu"');
    expect(res.find((r) => r.id === 'gpio.line.21')?.status).toBe('pass');
    writeFileSync(join(root, 'boot/firmware/config.txt'), 'gpio=20-21=ip,pu\ngpio=26=ip,pu # pay\n');
    res = await gpioChecks(cfg, env);
    expect(res.find((r) => r.id === 'gpio.bias')?.status).toBe('pass');
  });

  it('sim backend is skipped', async () => {
    const res = await gpioChecks(config({ backend: 'sim' }), { root: '/', probeTimeoutMs: 1000 });
    expect(res).toEqual([{ id: 'gpio.backend', title: 'GPIO backend "sim": no hardware to check', status: 'skip' }]);
  });

  it('parses gpioinfo of both versions and config.txt gpio= lines', () => {
    const v1 = parseGpioinfo(
      'gpiochip0 - 58 lines:\n\tline  20:     "GPIO20"    "gpiomon"   input  active-high [used pull-up]\n\tline  21:     "GPIO21"       unused   input  active-high \n\tline  22:      unnamed       kernel  output  active-high [used]\n',
    );
    expect(v1.get(20)).toEqual({ used: true, consumer: 'gpiomon' });
    expect(v1.get(21)).toEqual({ used: false });
    expect(v1.get(22)).toEqual({ used: true, consumer: 'kernel' });
    const v2 = parseGpioinfo(
      'gpiochip0 - 54 lines:\n\tline  20:\t"GPIO20"        \tinput bias=pull-up edges=both consumer="gpiomon"\n\tline  21:\t"GPIO21"        \tinput\n',
    );
    expect(v2.get(20)).toEqual({ used: true, consumer: 'gpiomon' });
    expect(v2.get(21)).toEqual({ used: false });
    expect(configTxtLine([26, 20, 21], 'pull-up')).toBe('gpio=20,21,26=ip,pu');
    expect(configTxtLine([20], 'as-is')).toBeUndefined();
    expect([...pinsPulledInConfigTxt('gpio=20-22=ip,pu\ngpio=26=op,dh\n#gpio=5=ip,pu\n', 'pu')]).toEqual([20, 21, 22]);
  });
});
