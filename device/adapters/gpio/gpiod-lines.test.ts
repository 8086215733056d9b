// SPDX-License-Identifier: Apache-2.0
// GpiodLines against fake libgpiod 1.6 and 2.x tools that behave like the real ones (fake-gpiod/fakegpio.py):
// v1 gpiomon block-buffers a pipe unless --line-buffered, each version rejects the other's flags,
// lines have physical pulls and are busy while requested.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FakeGpiodTools, PI4_CHIPS, PI5_CHIPS, PI5_OLD_KERNEL_CHIPS, type FakeGpiodOptions } from './fake-gpiod.ts';
import {
  detectGpiodVersion,
  findGpiodChip,
  GpiodLines,
  gpiogetArgs,
  gpiomonArgs,
  gpiosetArgs,
  openGpiodLines,
  parseGpiodetect,
  parseGpiogetOutput,
  parseGpiomonLine,
  type GpiodVersion,
} from './gpiod-lines.ts';
import { linesContract } from './lines-contract.ts';
import type { Level } from './lines.ts';
import { WAIT_MS } from '../../../shared/testing/wait.ts';

const POLL = { timeout: WAIT_MS, interval: 20 };

/** Resolves once a live gpiomon holds `bcm` (edges before that are lost, as on a real Pi). */
async function watching(tools: FakeGpiodTools, bcm: number): Promise<void> {
  await expect.poll(() => tools.line(bcm)?.consumer, { ...POLL, message: `gpiomon never requested BCM ${bcm}` }).toBe('gpiomon');
}

async function withTools(version: GpiodVersion, fn: (tools: FakeGpiodTools) => Promise<void>, opts: FakeGpiodOptions = {}): Promise<void> {
  const tools = new FakeGpiodTools(version, opts);
  try {
    await fn(tools);
    expect(tools.living(), 'fake tool processes left running').toEqual([]);
  } finally {
    for (const pid of tools.living()) process.kill(pid, 'SIGKILL');
    tools.remove();
  }
}

for (const version of [1, 2] as const) {
  linesContract(`GpiodLines (fake libgpiod v${version} tools)`, async () => {
    const tools = new FakeGpiodTools(version);
    const lines = await openGpiodLines({ ...tools.tools, killGraceMs: 500 });
    return {
      lines,
      level: async (bcm) => tools.level(bcm),
      drive: async (bcm, level) => tools.drive(bcm, level),
      hold: async (bcm, level) => tools.drive(bcm, level),
      watching: (bcm) => watching(tools, bcm),
      released: async () => tools.living().length === 0,
      cleanup: async () => tools.remove(),
    };
  });
}

describe('GpiodLines command lines and parsers', () => {
  it('builds v1 and v2 command lines, bias spelled per version', () => {
    expect(gpiosetArgs(1, 'gpiochip0', 17, 1)).toEqual(['--mode=signal', 'gpiochip0', '17=1']);
    expect(gpiosetArgs(2, 'gpiochip0', 17, 0)).toEqual(['-c', 'gpiochip0', '17=0']);
    expect(gpiomonArgs(1, 'gpiochip0', 22, 'falling')).toEqual(['--line-buffered', '--falling-edge', 'gpiochip0', '22']);
    expect(gpiomonArgs(1, 'gpiochip0', 22, 'both', 'pull-up')).toEqual(['--line-buffered', '--bias=pull-up', 'gpiochip0', '22']);
    expect(gpiomonArgs(2, 'gpiochip4', 22, 'rising')).toEqual(['-c', 'gpiochip4', '-e', 'rising', '22']);
    expect(gpiomonArgs(2, 'gpiochip0', 22, 'both', 'disable')).toEqual(['-c', 'gpiochip0', '-e', 'both', '--bias=disabled', '22']);
    expect(gpiogetArgs(1, 'gpiochip0', 20, 'disable')).toEqual(['--bias=disable', 'gpiochip0', '20']);
    expect(gpiogetArgs(2, 'gpiochip0', 20, 'pull-up')).toEqual(['-c', 'gpiochip0', '--bias=pull-up', '20']);
    expect(gpiogetArgs(2, 'gpiochip0', 20, 'as-is')).toEqual(['-c', 'gpiochip0', '20']);
  });

  it('parses gpiomon, gpioget and gpiodetect output of both versions', () => {
    expect(parseGpiomonLine('event:  RISING EDGE offset: 22 timestamp: [     123.456]')).toBe(1);
    expect(parseGpiomonLine('event: FALLING EDGE offset: 22 timestamp: [     123.456]')).toBe(0);
    expect(parseGpiomonLine('1767225600.123\trising\tgpiochip0 22 "GPIO22"')).toBe(1);
    expect(parseGpiomonLine('1767225600.123\tfalling\t"GPIO22"')).toBe(0);
    expect(parseGpiomonLine('gpiomon: unable to request lines')).toBeNull();
    expect(parseGpiogetOutput('1\n')).toBe(1);
    expect(parseGpiogetOutput('"20"=inactive\n')).toBe(0);
    expect(parseGpiogetOutput('"20"=active\n')).toBe(1);
    expect(parseGpiogetOutput('')).toBeNull();
    expect(parseGpiodetect('gpiochip0 [pinctrl-bcm2711] (58 lines)\ngpiochip1 [raspberrypi-exp-gpio] (8 lines)\n')).toEqual([
      { name: 'gpiochip0', label: 'pinctrl-bcm2711', lines: 58 },
      { name: 'gpiochip1', label: 'raspberrypi-exp-gpio', lines: 8 },
    ]);
  });
});

describe('the fake tools are as strict as the real ones', () => {
  const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });

  it('v2 rejects v1 flags and v1 rejects v2 flags (usage error, exit 1)', async () => {
    await withTools(2, async (t) => {
      const r = run(t.paths.gpiomon, ['--rising-edge', 'gpiochip0', '20']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/unrecognized option '--rising-edge'/);
      // v1's "-b -B pull-up": in v2 -b is --bias and swallows "-B".
      expect(run(t.paths.gpiomon, ['-b', '-B', 'pull-up', '-c', 'gpiochip0', '20']).stderr).toMatch(/invalid bias: -B/);
      expect(run(t.paths.gpioinfo, ['gpiochip0']).stderr).toMatch(/cannot find line 'gpiochip0'/);
    });
    await withTools(1, async (t) => {
      expect(run(t.paths.gpiomon, ['-c', 'gpiochip0', '20']).stderr).toMatch(/invalid option -- 'c'/);
      expect(run(t.paths.gpiomon, ['--edges=falling', 'gpiochip0', '20']).status).toBe(1);
      expect(run(t.paths.gpioget, ['--bias=disabled', 'gpiochip0', '20']).stderr).toMatch(/invalid bias: disabled/);
    });
  });
});

describe('GpiodLines on Raspberry Pi OS', () => {
  it('v1 (Bookworm): button presses arrive one by one, in bounded time, through a pipe', async () => {
    // The old adapter ran v1 gpiomon without --line-buffered: its events sat in a 4 KiB stdio
    // buffer and no press ever arrived.
    await withTools(1, async (tools) => {
      const lines = await openGpiodLines({ ...tools.tools, killGraceMs: 500 });
      const got: Level[] = [];
      lines.input(20, 'falling', { bias: 'pull-up' }).onEdge((l) => got.push(l));
      await watching(tools, 20);
      for (let i = 1; i <= 3; i++) {
        tools.drive(20, 0);
        await expect.poll(() => got.length, { ...POLL, message: `press ${i} did not arrive` }).toBe(i);
        tools.release(20);
      }
      await lines.close();
    });
  });

  it('v2 (Trixie): v2 flags are accepted and presses arrive', async () => {
    await withTools(2, async (tools) => {
      const errors: unknown[] = [];
      const lines = await openGpiodLines({ ...tools.tools, killGraceMs: 500, onError: (e) => errors.push(e) });
      expect(lines.version).toBe(2);
      const got: Level[] = [];
      lines.input(21, 'both', { bias: 'pull-up' }).onEdge((l) => got.push(l));
      await watching(tools, 21);
      expect(tools.calls('gpiomon').map((c) => c.args)).toEqual([['-c', 'gpiochip0', '-e', 'both', '--bias=pull-up', '21']]);
      tools.drive(21, 0);
      tools.release(21);
      await expect.poll(() => got, POLL).toEqual([0, 1]);
      await lines.close();
      expect(errors).toEqual([]);
    });
  });

  for (const version of [1, 2] as const) {
    it(`v${version}: the button bias reaches gpioget and gpiomon, and the line really is pulled up`, async () => {
      await withTools(version, async (tools) => {
        const lines = await openGpiodLines({ ...tools.tools, killGraceMs: 500 });
        const line = lines.input(26, 'both', { bias: 'pull-up' });
        // GPIO 26 resets to pull-down: an unpressed active-low button reads 0 ("pressed") without a pull-up.
        expect(await line.initial).toBe(1);
        await watching(tools, 26);
        expect(tools.calls('gpioget')[0]?.args).toContain('--bias=pull-up');
        expect(tools.calls('gpiomon')[0]?.args).toContain('--bias=pull-up');
        expect(tools.line(26)).toMatchObject({ pull: 'up', bias: 'pull-up', level: 1 });
        await lines.close();
      });
    });
  }

  it('reads each input before watching it: a button held at start reads pressed, an open one reads its pull', async () => {
    await withTools(1, async (tools) => {
      tools.drive(20, 0); // held down at boot
      const lines = await openGpiodLines({ ...tools.tools, killGraceMs: 500 });
      const held = lines.input(20, 'both', { bias: 'pull-up' });
      const open = lines.input(21, 'both', { bias: 'pull-up' });
      const floating = lines.input(19, 'both');
      expect(await held.initial).toBe(0);
      expect(await open.initial).toBe(1);
      expect(await floating.initial).toBe(0); // reset pull-down, bias as-is
      await lines.close();
    });
  });

  it('a failed read rejects initial and the line is still watched', async () => {
    await withTools(2, async (tools) => {
      const lines = await openGpiodLines({ ...tools.tools, gpioget: '/nonexistent/gpioget', killGraceMs: 500 });
      const line = lines.input(20, 'both', { bias: 'pull-up' });
      await expect(line.initial).rejects.toThrow(/cannot run \/nonexistent\/gpioget/);
      await watching(tools, 20);
      await lines.close();
    });
  });

  const boards = [
    ['Pi 4', PI4_CHIPS, 'gpiochip0'],
    ['Pi 5, kernel 6.6.45+', PI5_CHIPS, 'gpiochip0'],
    ['Pi 5, older kernel', PI5_OLD_KERNEL_CHIPS, 'gpiochip4'],
  ] as const;
  for (const [board, chips, name] of boards) {
    it(`finds the header's chip by label from gpiodetect: ${board} -> ${name}`, async () => {
      await withTools(
        2,
        async (tools) => {
          expect((await findGpiodChip(tools.paths.gpiodetect)).name).toBe(name);
          const lines = await openGpiodLines({ ...tools.tools, killGraceMs: 500 });
          expect(lines.chip).toBe(name);
          lines.input(20, 'both');
          await watching(tools, 20);
          expect(tools.calls('gpiomon')[0]?.args.slice(0, 2)).toEqual(['-c', name]);
          await lines.close();
        },
        { chips },
      );
    });
  }

  it('an explicit chip is honoured; no Pi controller is a clear error', async () => {
    await withTools(
      1,
      async (tools) => {
        const lines = await openGpiodLines({ ...tools.tools, chip: 'gpiochip1' });
        expect(lines.chip).toBe('gpiochip1');
        await lines.close();
        await expect(findGpiodChip(tools.paths.gpiodetect)).rejects.toThrow(/gpiochip0 \[gpio-mockup-A\].*pinctrl-rp1/);
      },
      {
        chips: [
          { name: 'gpiochip0', label: 'gpio-mockup-A', lines: 8, main: true },
          { name: 'gpiochip1', label: 'x', lines: 8 },
        ],
      },
    );
  });

  it('detects the libgpiod version from gpioset --version', async () => {
    for (const v of [1, 2] as const) await withTools(v, async (t) => expect(await detectGpiodVersion(t.paths.gpioset)).toBe(v));
    await expect(detectGpiodVersion('/nonexistent/gpioset')).rejects.toThrow(/install Debian's gpiod/);
  });

  it('a write replaces the holding gpioset (old one gone before the new one starts); close leaves no process', async () => {
    await withTools(2, async (tools) => {
      const lines = new GpiodLines({ version: 2, chip: 'gpiochip0', ...tools.tools });
      const relay = lines.output(17);
      await expect.poll(() => tools.level(17), POLL).toBe(0);
      relay.write(1);
      relay.write(0);
      relay.write(1);
      await expect.poll(() => tools.level(17), POLL).toBe(1);
      const holders = tools.calls('gpioset').filter((c) => tools.living().includes(c.pid));
      expect(holders).toHaveLength(1);
      await lines.close();
    });
  });

  it('a tool that cannot start is reported to onError', async () => {
    const errors: unknown[] = [];
    const lines = new GpiodLines({ version: 1, chip: 'gpiochip0', gpioset: '/nonexistent/gpioset', onError: (e) => errors.push(e) });
    lines.output(17);
    await expect.poll(() => errors.length, POLL).toBeGreaterThan(0);
    expect(String(errors[0])).toMatch(/ENOENT/);
    await lines.close();
  });
});
