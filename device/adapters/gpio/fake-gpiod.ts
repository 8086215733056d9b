// SPDX-License-Identifier: Apache-2.0
// Test support: fake libgpiod command-line tools (v1.6 or v2.x) in a directory, for unit tests and
// for running the kiosk's gpiod backend without a Pi (e.g. under qemu). The tools are one python3
// script (fake-gpiod/fakegpio.py, which says how they behave) behind symlinks; nothing is compiled.
//
// Stable API for other tests:
//   createFakeGpiodTools(dir, version, { chips }) -> paths of gpiodetect, gpioinfo, gpioget, gpioset,
//     gpiomon and `fakegpio` (the outside world: `fakegpio drive BCM 0|1`, `fakegpio release BCM`,
//     `fakegpio show BCM`). Put `dir` first on PATH or pass the paths to openGpiodLines.
//   PI4_CHIPS, PI5_CHIPS, PI5_OLD_KERNEL_CHIPS: gpiodetect layouts of real boards.
//   FakeGpiodTools: a temp dir of fake tools with typed controls, for vitest.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GpiodVersion } from './gpiod-lines.ts';
import type { Level } from './lines.ts';

export interface FakeGpiodChip {
  readonly name: string;
  readonly label: string;
  readonly lines: number;
  /** The header's controller: its lines are named GPIO0.. and BCM n is offset n. */
  readonly main?: boolean;
}

/** Pi 4, Raspberry Pi OS kernel 6.6+. */
export const PI4_CHIPS: readonly FakeGpiodChip[] = [
  { name: 'gpiochip0', label: 'pinctrl-bcm2711', lines: 58, main: true },
  { name: 'gpiochip1', label: 'raspberrypi-exp-gpio', lines: 8 },
];
/** Pi 5, kernel 6.6.45+: RP1 is gpiochip0. */
export const PI5_CHIPS: readonly FakeGpiodChip[] = [
  { name: 'gpiochip0', label: 'pinctrl-rp1', lines: 54, main: true },
  { name: 'gpiochip10', label: 'gpio-brcmstb@107d508500', lines: 32 },
  { name: 'gpiochip11', label: 'gpio-brcmstb@107d508520', lines: 4 },
  { name: 'gpiochip12', label: 'gpio-brcmstb@107d517c00', lines: 17 },
  { name: 'gpiochip13', label: 'gpio-brcmstb@107d517c20', lines: 6 },
];
/** Pi 5 before kernel 6.6.45: RP1 was gpiochip4, gpiochip0 is a SoC controller. */
export const PI5_OLD_KERNEL_CHIPS: readonly FakeGpiodChip[] = [
  { name: 'gpiochip0', label: 'gpio-brcmstb@107d508500', lines: 32 },
  { name: 'gpiochip1', label: 'gpio-brcmstb@107d508520', lines: 4 },
  { name: 'gpiochip2', label: 'gpio-brcmstb@107d517c00', lines: 17 },
  { name: 'gpiochip3', label: 'gpio-brcmstb@107d517c20', lines: 6 },
  { name: 'gpiochip4', label: 'pinctrl-rp1', lines: 54, main: true },
];

export const FAKE_GPIOD_TOOLS = ['gpiodetect', 'gpioinfo', 'gpioget', 'gpioset', 'gpiomon', 'fakegpio'] as const;
export type FakeGpiodToolName = (typeof FAKE_GPIOD_TOOLS)[number];
export type FakeGpiodToolPaths = Record<FakeGpiodToolName, string> & { dir: string };

export interface FakeGpiodOptions {
  chips?: readonly FakeGpiodChip[];
  /** What `--version` reports, e.g. '1.6.3' or '2.2.1'. */
  versionText?: string;
}

const SCRIPT = fileURLToPath(new URL('./fake-gpiod/fakegpio.py', import.meta.url));

/** Writes the fake tools into `dir` (created if missing). Needs python3 at run time. */
export function createFakeGpiodTools(dir: string, version: GpiodVersion, opts: FakeGpiodOptions = {}): FakeGpiodToolPaths {
  mkdirSync(dir, { recursive: true });
  const script = join(dir, 'fakegpio.py');
  copyFileSync(SCRIPT, script);
  chmodSync(script, 0o755);
  const conf = {
    version,
    versionText: opts.versionText ?? (version === 1 ? '1.6.3' : '2.2.1'),
    chips: opts.chips ?? PI4_CHIPS,
  };
  writeFileSync(join(dir, 'fake-gpiod.json'), JSON.stringify(conf, null, 2));
  const paths = { dir } as FakeGpiodToolPaths;
  for (const tool of FAKE_GPIOD_TOOLS) {
    rmSync(join(dir, tool), { force: true });
    symlinkSync('fakegpio.py', join(dir, tool));
    paths[tool] = join(dir, tool);
  }
  return paths;
}

/** One line's state in the fake, as `fakegpio show` prints it. */
export interface FakeLineState {
  pull: 'up' | 'down' | 'none';
  driven: Level | null;
  dir: 'input' | 'output';
  out: Level;
  pid: number | null;
  consumer: string | null;
  bias: string | null;
  edges: string | null;
  level: Level;
}

export interface FakeGpiodCall {
  pid: number;
  tool: string;
  args: string[];
}

/** Fake tools in a fresh temp dir with typed controls. Call remove() after the test. */
export class FakeGpiodTools {
  readonly dir: string;
  readonly paths: FakeGpiodToolPaths;

  constructor(
    readonly version: GpiodVersion,
    opts: FakeGpiodOptions = {},
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'kioskpay-gpiod-'));
    this.paths = createFakeGpiodTools(this.dir, version, opts);
  }

  /** Options for openGpiodLines that use these tools. */
  get tools(): { gpioset: string; gpiomon: string; gpioget: string; gpiodetect: string } {
    const p = this.paths;
    return { gpioset: p.gpioset, gpiomon: p.gpiomon, gpioget: p.gpioget, gpiodetect: p.gpiodetect };
  }

  /** Every tool run so far, in order. */
  calls(tool?: string): FakeGpiodCall[] {
    let text = '';
    try {
      text = readFileSync(join(this.dir, 'calls.log'), 'utf8');
    } catch {
      return [];
    }
    const all = text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as FakeGpiodCall);
    return tool === undefined ? all : all.filter((c) => c.tool === tool);
  }

  #fake(...args: string[]): string {
    const r = spawnSync(this.paths.fakegpio, args, { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`fakegpio ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
    return r.stdout;
  }

  /** The outside world drives header pin `bcm` (a pressed button to ground drives 0). */
  drive(bcm: number, level: Level): void {
    this.#fake('drive', String(bcm), String(level));
  }

  /** The outside world lets go of `bcm`: it floats to whatever its pull gives. */
  release(bcm: number): void {
    this.#fake('release', String(bcm));
  }

  /** The state of header pin `bcm`, or undefined if nothing ever touched it. Read-only. */
  line(bcm: number): FakeLineState | undefined {
    return JSON.parse(this.#fake('show', String(bcm))) as FakeLineState;
  }

  /** The level a live gpioset holds on `bcm`, or undefined if no live process holds it as an output. */
  level(bcm: number): Level | undefined {
    const l = this.line(bcm);
    return l && l.dir === 'output' && l.pid !== null ? l.out : undefined;
  }

  /** PIDs of fake tool processes still running. */
  living(): number[] {
    return this.calls()
      .map((c) => c.pid)
      .filter(alive);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
