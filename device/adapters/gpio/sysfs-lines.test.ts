// SPDX-License-Identifier: Apache-2.0
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeOnoff } from './fake-onoff.ts';
import { GpioLineError } from './lines.ts';
import { chooseMainChip, findGpioBase, openSysfsLines, readGpioChips, SysfsLines } from './sysfs-lines.ts';

const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

/** Builds a fake /sys with the given gpiochips: [dirName, label, base, ngpio]. */
async function fakeSysfs(chips: [string, string, number, number][], extra: string[] = ['export', 'unexport']): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'kioskpay-sysfs-'));
  roots.push(root);
  const dir = join(root, 'class', 'gpio');
  await mkdir(dir, { recursive: true });
  for (const f of extra) await writeFile(join(dir, f), '');
  for (const [name, label, base, ngpio] of chips) {
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'label'), `${label}\n`);
    await writeFile(join(dir, name, 'base'), `${base}\n`);
    await writeFile(join(dir, name, 'ngpio'), `${ngpio}\n`);
  }
  return root;
}

// Layouts as seen on Raspberry Pi OS Bookworm (kernel 6.6+) and on older kernels.
const PI4_66: [string, string, number, number][] = [
  ['gpiochip512', 'pinctrl-bcm2711', 512, 58],
  ['gpiochip570', 'raspberrypi-exp-gpio', 570, 8],
];
const PI5_66: [string, string, number, number][] = [
  ['gpiochip512', 'gpio-brcmstb@107d508500', 512, 32],
  ['gpiochip544', 'gpio-brcmstb@107d508520', 544, 4],
  ['gpiochip548', 'gpio-brcmstb@107d517c00', 548, 17],
  ['gpiochip565', 'gpio-brcmstb@107d517c20', 565, 6],
  ['gpiochip571', 'pinctrl-rp1', 571, 54],
];
const LEGACY: [string, string, number, number][] = [
  ['gpiochip0', 'pinctrl-bcm2835', 0, 54],
  ['gpiochip504', 'raspberrypi-exp-gpio', 504, 8],
];

describe('sysfs base finding (fake sysfs tree)', () => {
  it('Pi 4 on kernel 6.6+: base 512 (pinctrl-bcm2711), not the expander', async () => {
    const root = await fakeSysfs(PI4_66);
    expect(await findGpioBase(root)).toEqual({ name: 'gpiochip512', label: 'pinctrl-bcm2711', base: 512, ngpio: 58 });
  });

  it('Pi 5 on kernel 6.6+: base 571 (pinctrl-rp1), not the SoC brcmstb chips', async () => {
    const root = await fakeSysfs(PI5_66);
    expect((await findGpioBase(root)).base).toBe(571);
  });

  it('legacy kernel: base 0 (pinctrl-bcm2835)', async () => {
    const root = await fakeSysfs(LEGACY);
    const chip = await findGpioBase(root);
    expect(chip.base).toBe(0);
    expect(chip.label).toBe('pinctrl-bcm2835');
  });

  it('missing sysfs GPIO: a clear UNAVAILABLE error', async () => {
    const root = await mkdtemp(join(tmpdir(), 'kioskpay-sysfs-'));
    roots.push(root);
    expect(await readGpioChips(root)).toEqual([]);
    const err = await findGpioBase(root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpioLineError);
    expect((err as GpioLineError).code).toBe('UNAVAILABLE');
    expect((err as Error).message).toMatch(/no gpiochip entries.*gpiod adapter/);
  });

  it('no Pi controller among the chips: the error names what it saw', async () => {
    const root = await fakeSysfs([['gpiochip0', 'some-usb-gpio', 0, 8]]);
    await expect(findGpioBase(root)).rejects.toThrow(/gpiochip0 \(some-usb-gpio\)/);
  });

  it('skips entries that are not gpiochips or have an unreadable base', async () => {
    const root = await fakeSysfs([...PI4_66, ['gpiochip9', 'pinctrl-bcm2835', Number.NaN, 1]], ['export', 'unexport', 'gpio529']);
    const chips = await readGpioChips(root);
    expect(chips.map((c) => c.name)).toEqual(['gpiochip512', 'gpiochip570']);
  });

  it('chooseMainChip prefers the header controller whatever the order', () => {
    const chips = PI5_66.map(([name, label, base, ngpio]) => ({ name, label, base, ngpio })).reverse();
    expect(chooseMainChip(chips)?.base).toBe(571);
    expect(chooseMainChip([])).toBeUndefined();
  });
});

describe('SysfsLines over a fake onoff Gpio', () => {
  it('opens base + bcm, outputs with a glitch-free initial level', async () => {
    const root = await fakeSysfs(PI5_66);
    const onoff = new FakeOnoff();
    const lines = await openSysfsLines({ sysfsRoot: root, Gpio: onoff.Gpio });
    const relay = lines.output(17);
    lines.output(27, 1);
    expect(onoff.created.map((r) => [r.gpio, r.direction, r.edge])).toEqual([
      [588, 'low', undefined],
      [598, 'high', undefined],
    ]);
    relay.write(1);
    relay.write(0);
    expect(onoff.get(588)?.writes).toEqual([1, 0]);
    await lines.close();
  });

  it('inputs watch edges and deliver levels; unsubscribe and close stop delivery', async () => {
    const onoff = new FakeOnoff();
    const lines = new SysfsLines({ base: 512, Gpio: onoff.Gpio });
    const btn = lines.input(22, 'both');
    expect(onoff.created[0]).toMatchObject({ gpio: 534, direction: 'in', edge: 'both' });
    const got: number[] = [];
    const off = btn.onEdge((l) => got.push(l));
    onoff.emit(534, 0);
    onoff.emit(534, 1);
    off();
    onoff.emit(534, 0);
    expect(got).toEqual([0, 1]);
    await lines.close();
    expect(onoff.created[0]?.unexported).toBe(true);
    expect(onoff.created[0]?.watchers).toEqual([]);
  });

  it('watch errors go to onError, not to listeners', () => {
    const onoff = new FakeOnoff();
    const errors: unknown[] = [];
    const lines = new SysfsLines({ base: 0, Gpio: onoff.Gpio, onError: (e) => errors.push(e) });
    const got: number[] = [];
    lines.input(4, 'falling').onEdge((l) => got.push(l));
    const boom = new Error('EPOLL');
    onoff.created[0]?.watchers[0]?.(boom, 0);
    expect(got).toEqual([]);
    expect(errors).toEqual([boom]);
  });

  it('a constructor failure (EINVAL from a wrong base) is a GpioLineError and frees the claim', async () => {
    const onoff = new FakeOnoff();
    onoff.failOn.add(17);
    const lines = new SysfsLines({ base: 0, Gpio: onoff.Gpio });
    expect(() => lines.output(17)).toThrow(/sysfs GPIO 17 \(BCM 17\): EINVAL/);
    onoff.failOn.clear();
    expect(() => lines.output(17)).not.toThrow();
    await lines.close();
  });

  it('without an injected Gpio on this machine (no writable sysfs GPIO) it refuses clearly', async () => {
    const root = await fakeSysfs(PI4_66);
    await expect(openSysfsLines({ sysfsRoot: root })).rejects.toThrow(/not accessible/);
  });
});
