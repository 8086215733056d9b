// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { FakeGpiodTools } from './fake-gpiod.ts';
import { detectGpiodVersion, GpiodLines, gpiomonArgs, gpiosetArgs, openGpiodLines, parseGpiomonLine } from './gpiod-lines.ts';
import { linesContract } from './lines-contract.ts';

for (const version of [1, 2] as const) {
  linesContract(`GpiodLines (fake libgpiod v${version} tools)`, async () => {
    const tools = new FakeGpiodTools(version);
    const lines = await openGpiodLines({ gpioset: tools.gpioset, gpiomon: tools.gpiomon, killGraceMs: 500 });
    return {
      lines,
      level: async (bcm) => tools.level(bcm),
      drive: async (bcm, level) => tools.drive(bcm, level),
      released: async () => tools.living().length === 0,
      cleanup: async () => tools.remove(),
    };
  });
}

describe('GpiodLines specifics', () => {
  it('detects the libgpiod version from gpioset --version', async () => {
    for (const v of [1, 2] as const) {
      const tools = new FakeGpiodTools(v);
      expect(await detectGpiodVersion(tools.gpioset)).toBe(v);
      tools.remove();
    }
    await expect(detectGpiodVersion('/nonexistent/gpioset')).rejects.toThrow(/install Debian's gpiod/);
  });

  it('builds v1 and v2 command lines', () => {
    expect(gpiosetArgs(1, 'gpiochip0', 17, 1)).toEqual(['--mode=signal', 'gpiochip0', '17=1']);
    expect(gpiosetArgs(2, 'gpiochip0', 17, 0)).toEqual(['-c', 'gpiochip0', '17=0']);
    expect(gpiomonArgs(1, 'gpiochip0', 22, 'falling')).toEqual(['--falling-edge', 'gpiochip0', '22']);
    expect(gpiomonArgs(1, 'gpiochip0', 22, 'both')).toEqual(['gpiochip0', '22']);
    expect(gpiomonArgs(2, 'gpiochip4', 22, 'rising')).toEqual(['-c', 'gpiochip4', '-e', 'rising', '22']);
  });

  it('parses gpiomon event lines of both versions', () => {
    expect(parseGpiomonLine('event:  RISING EDGE offset: 22 timestamp: [     123.456]')).toBe(1);
    expect(parseGpiomonLine('event: FALLING EDGE offset: 22 timestamp: [     123.456]')).toBe(0);
    expect(parseGpiomonLine('1767225600.123\trising\tgpiochip0 22')).toBe(1);
    expect(parseGpiomonLine('1767225600.123\tfalling\t"GPIO22"')).toBe(0);
    expect(parseGpiomonLine('')).toBeNull();
    expect(parseGpiomonLine('gpiomon: unable to request lines')).toBeNull();
  });

  it('a write replaces the holding gpioset (old one gone before the new one starts); close leaves no process', async () => {
    const tools = new FakeGpiodTools(2);
    const lines = new GpiodLines({ version: 2, gpioset: tools.gpioset, gpiomon: tools.gpiomon });
    const relay = lines.output(17);
    lines.input(22, 'both');
    await expect.poll(() => tools.level(17)).toBe(0);
    relay.write(1);
    relay.write(0);
    relay.write(1);
    await expect.poll(() => tools.level(17)).toBe(1);
    // At most one gpioset holds the line at any time.
    expect(tools.calls('gpioset').filter(([pid]) => tools.living().includes(pid))).toHaveLength(1);
    await expect.poll(() => tools.calls('gpiomon').length).toBe(1);
    expect(tools.calls('gpiomon')[0]?.[1]).toEqual(['-c', 'gpiochip0', '-e', 'both', '22']);
    await lines.close();
    expect(tools.living()).toEqual([]);
    tools.remove();
  });

  it('a tool that cannot start is reported to onError', async () => {
    const errors: unknown[] = [];
    const lines = new GpiodLines({ version: 1, gpioset: '/nonexistent/gpioset', gpiomon: '/nonexistent/gpiomon', onError: (e) => errors.push(e) });
    lines.output(17);
    await expect.poll(() => errors.length).toBeGreaterThan(0);
    expect(String(errors[0])).toMatch(/ENOENT/);
    await lines.close();
  });
});
