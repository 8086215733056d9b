// SPDX-License-Identifier: Apache-2.0
// GpioLines on the libgpiod command-line tools (Debian's `gpiod` package): version 1.6 on Raspberry
// Pi OS Bookworm, 2.x on Trixie. The version is read from `gpioset --version` at start and each tool
// gets its own version's flags (they differ: v1 `-b` is --line-buffered, v2 `-b` is --bias).
//
// - The chip is found by label in `gpiodetect` (gpio-chips.ts), never assumed to be gpiochip0.
// - An output is held by a `gpioset` child (v1: `gpioset --mode=signal CHIP N=V`, v2:
//   `gpioset -c CHIP N=V`, both hold the line until killed); a write kills it, waits for it to exit
//   (the line is busy until then), and starts a new one.
// - An input is first read with `gpioget` (with the input's bias; that gives InLine.initial), then
//   watched by a `gpiomon` child whose event lines are parsed. v1 gpiomon writes with stdio and
//   never flushes, so it gets `--line-buffered`, else a piped gpiomon holds presses back in a 4 KiB
//   buffer; v2 flushes on its own. An edge between gpioget's exit and gpiomon's request is missed.
// - Every child is killed (SIGTERM, then SIGKILL) and awaited on close.
//
// Failure semantics beyond GpioLines: writes are asynchronous; a tool that cannot start or exits on
// its own is reported to `onError`.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { chooseMainChip, MAIN_GPIO_LABELS } from './gpio-chips.ts';
import {
  claimLine,
  GpioLineError,
  type Edge,
  type GpioBias,
  type GpioLines,
  type InLine,
  type InputOptions,
  type Level,
  type OutLine,
} from './lines.ts';

export type GpiodVersion = 1 | 2;

export interface GpiodTools {
  gpioset?: string;
  gpiomon?: string;
  gpioget?: string;
  gpiodetect?: string;
}

export interface GpiodLinesOptions extends GpiodTools {
  /** Chip name, number or /dev path; found by label (findGpiodChip) when opened without one. */
  chip: string;
  version: GpiodVersion;
  onError?: (err: unknown) => void;
  /** How long a child gets after SIGTERM before SIGKILL. */
  killGraceMs?: number;
  /** Bound on a one-shot tool run (gpioget, gpiodetect, --version). */
  toolTimeoutMs?: number;
}

/** Runs a one-shot tool; resolves with its output and exit code, rejects if it cannot start or overruns. */
export function runTool(
  cmd: string,
  args: readonly string[],
  timeoutMs = 5000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new GpioLineError(`${cmd} ${args.join(' ')} did not finish within ${timeoutMs} ms`, 'IO'));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new GpioLineError(`cannot run ${cmd} (install Debian's gpiod package): ${err.message}`, 'UNAVAILABLE', { cause: err }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `gpioset --version` and reads the libgpiod major version from "... v1.6.3" / "v2.1". */
export async function detectGpiodVersion(gpioset = 'gpioset', timeoutMs?: number): Promise<GpiodVersion> {
  const r = await runTool(gpioset, ['--version'], timeoutMs);
  const out = r.stdout + r.stderr;
  const m = /\bv?(\d+)\.\d+/.exec(out);
  const major = m ? Number(m[1]) : NaN;
  if (major === 1 || major === 2) return major;
  throw new GpioLineError(`unknown libgpiod version from ${gpioset} --version: ${JSON.stringify(out.trim())}`, 'UNAVAILABLE');
}

export interface GpiodChip {
  /** e.g. gpiochip0 */
  readonly name: string;
  readonly label: string;
  readonly lines: number;
}

/** Parses `gpiodetect` output ("gpiochip0 [pinctrl-bcm2711] (58 lines)", the same in v1 and v2). Pure. */
export function parseGpiodetect(text: string): GpiodChip[] {
  const chips: GpiodChip[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+) \[(.*)\] \((\d+) lines\)\s*$/.exec(line);
    if (m) chips.push({ name: m[1]!, label: m[2]!, lines: Number(m[3]) });
  }
  return chips;
}

/** Finds the header's GPIO chip by label with `gpiodetect`. Throws GpioLineError(UNAVAILABLE) naming what it saw. */
export async function findGpiodChip(gpiodetect = 'gpiodetect', timeoutMs?: number): Promise<GpiodChip> {
  const r = await runTool(gpiodetect, [], timeoutMs);
  const chips = parseGpiodetect(r.stdout);
  const chip = chooseMainChip(chips);
  if (chip) return chip;
  const seen =
    chips.length === 0 ? `no chips (${r.stderr.trim() || 'empty output'})` : chips.map((c) => `${c.name} [${c.label}]`).join(', ');
  throw new GpioLineError(
    `${gpiodetect}: no Raspberry Pi GPIO controller among ${seen}; expected a label among ${MAIN_GPIO_LABELS.join(', ')}. ` +
      'Set gpio.chip in the kiosk config to use another chip.',
    'UNAVAILABLE',
  );
}

/** Parses one gpiomon output line into a level, or null if it is not an event line. Pure. */
export function parseGpiomonLine(line: string): Level | null {
  if (/\brising\b/i.test(line)) return 1;
  if (/\bfalling\b/i.test(line)) return 0;
  return null;
}

/** Parses gpioget's output for one line: v1 "1", v2 '"20"=active' (or "1" with --numeric). Pure. */
export function parseGpiogetOutput(text: string): Level | null {
  const t = text.trim();
  if (t === '0' || t === '1') return t === '1' ? 1 : 0;
  const m = /=(active|inactive)$/.exec(t);
  return m ? (m[1] === 'active' ? 1 : 0) : null;
}

function biasArgs(version: GpiodVersion, bias: GpioBias): string[] {
  if (bias === 'as-is') return [];
  // v1 spells it "disable", v2 "disabled". The long form avoids the -b clash between versions.
  return [`--bias=${version === 2 && bias === 'disable' ? 'disabled' : bias}`];
}

export function gpiosetArgs(version: GpiodVersion, chip: string, bcm: number, level: Level): string[] {
  return version === 1 ? ['--mode=signal', chip, `${bcm}=${level}`] : ['-c', chip, `${bcm}=${level}`];
}

export function gpiomonArgs(version: GpiodVersion, chip: string, bcm: number, edge: Edge, bias: GpioBias = 'as-is'): string[] {
  if (version === 1) {
    const e = edge === 'rising' ? ['--rising-edge'] : edge === 'falling' ? ['--falling-edge'] : [];
    return ['--line-buffered', ...biasArgs(1, bias), ...e, chip, String(bcm)];
  }
  return ['-c', chip, '-e', edge, ...biasArgs(2, bias), String(bcm)];
}

export function gpiogetArgs(version: GpiodVersion, chip: string, bcm: number, bias: GpioBias = 'as-is'): string[] {
  return version === 1 ? [...biasArgs(1, bias), chip, String(bcm)] : ['-c', chip, ...biasArgs(2, bias), String(bcm)];
}

export class GpiodLines implements GpioLines {
  readonly #o: Required<Omit<GpiodLinesOptions, 'onError'>>;
  /** The chip lines are opened on (found by label unless configured). */
  readonly chip: string;
  readonly version: GpiodVersion;
  readonly #onError: (err: unknown) => void;
  readonly #claimed = new Set<number>();
  readonly #children = new Set<ChildProcess>();
  readonly #pending = new Set<Promise<void>>();
  #closed = false;

  constructor(opts: GpiodLinesOptions) {
    this.#o = {
      chip: opts.chip,
      gpioset: opts.gpioset ?? 'gpioset',
      gpiomon: opts.gpiomon ?? 'gpiomon',
      gpioget: opts.gpioget ?? 'gpioget',
      gpiodetect: opts.gpiodetect ?? 'gpiodetect',
      version: opts.version,
      killGraceMs: opts.killGraceMs ?? 1000,
      toolTimeoutMs: opts.toolTimeoutMs ?? 5000,
    };
    this.chip = opts.chip;
    this.version = opts.version;
    this.#onError = opts.onError ?? (() => {});
  }

  #spawn(cmd: string, args: string[], stdout: boolean): ChildProcess {
    const child = spawn(cmd, args, { stdio: ['ignore', stdout ? 'pipe' : 'ignore', 'pipe'] });
    this.#children.add(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
    child.on('error', (err) => {
      this.#children.delete(child);
      this.#onError(new GpioLineError(`${cmd} ${args.join(' ')}: ${err.message}`, 'IO', { cause: err }));
    });
    child.on('exit', (code, signal) => {
      this.#children.delete(child);
      if (!(child as { killedByUs?: boolean }).killedByUs) {
        this.#onError(new GpioLineError(`${cmd} ${args.join(' ')} exited (${signal ?? code}): ${stderr.trim()}`, 'IO'));
      }
    });
    return child;
  }

  #kill(child: ChildProcess): Promise<void> {
    (child as { killedByUs?: boolean }).killedByUs = true;
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), this.#o.killGraceMs);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  #track(p: Promise<void>): void {
    const q = p.catch((err: unknown) => this.#onError(err)).finally(() => this.#pending.delete(q));
    this.#pending.add(q);
  }

  output(bcm: number, initial: Level = 0): OutLine {
    claimLine(this.#claimed, bcm, this.#closed);
    const { gpioset, chip, version } = this.#o;
    let child: ChildProcess | undefined = this.#spawn(gpioset, gpiosetArgs(version, chip, bcm, initial), false);
    let chain: Promise<void> = Promise.resolve();
    let wanted: Level = initial;
    return {
      bcm,
      write: (level: Level): void => {
        if (this.#closed) throw new GpioLineError(`BCM ${bcm}: GPIO lines are closed`, 'CLOSED');
        if (level === wanted) return;
        wanted = level;
        chain = chain.then(async () => {
          if (child) await this.#kill(child);
          child = undefined;
          // A newer write may have superseded this one, or close may have run meanwhile.
          if (this.#closed || wanted !== level) return;
          child = this.#spawn(gpioset, gpiosetArgs(version, chip, bcm, level), false);
        });
        this.#track(chain);
      },
    };
  }

  async #read(bcm: number, bias: GpioBias): Promise<Level> {
    const { gpioget, chip, version, toolTimeoutMs } = this.#o;
    const args = gpiogetArgs(version, chip, bcm, bias);
    const r = await runTool(gpioget, args, toolTimeoutMs);
    const level = r.code === 0 ? parseGpiogetOutput(r.stdout) : null;
    if (level === null) {
      throw new GpioLineError(`${gpioget} ${args.join(' ')} (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`, 'IO');
    }
    return level;
  }

  input(bcm: number, edge: Edge, opts: InputOptions = {}): InLine {
    claimLine(this.#claimed, bcm, this.#closed);
    const { gpiomon, chip, version } = this.#o;
    const bias = opts.bias ?? 'as-is';
    const listeners = new Set<(level: Level) => void>();
    // gpioget first: once gpiomon holds the line, nothing else can request it.
    const initial = this.#read(bcm, bias);
    initial.catch(() => {});
    const watch = (): void => {
      if (this.#closed) return;
      const child = this.#spawn(gpiomon, gpiomonArgs(version, chip, bcm, edge, bias), true);
      if (!child.stdout) return;
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (this.#closed) return;
        const level = parseGpiomonLine(line);
        if (level === null) return;
        if ((edge === 'rising' && level !== 1) || (edge === 'falling' && level !== 0)) return;
        for (const fn of [...listeners]) fn(level);
      });
    };
    this.#track(initial.then(watch, watch));
    return {
      bcm,
      initial,
      onEdge: (fn) => {
        const wrapped = (l: Level): void => fn(l);
        listeners.add(wrapped);
        return () => void listeners.delete(wrapped);
      },
    };
  }

  async close(): Promise<void> {
    if (this.#closed) {
      await Promise.all([...this.#pending]);
      return;
    }
    this.#closed = true;
    await Promise.all([...this.#pending]);
    await Promise.all([...this.#children].map((c) => this.#kill(c)));
    this.#claimed.clear();
  }
}

export type OpenGpiodLinesOptions = Omit<GpiodLinesOptions, 'version' | 'chip'> & { version?: GpiodVersion; chip?: string | undefined };

/** Detects the libgpiod version, finds the header's chip by label unless `chip` is given, and opens lines. */
export async function openGpiodLines(opts: OpenGpiodLinesOptions = {}): Promise<GpiodLines> {
  const version = opts.version ?? (await detectGpiodVersion(opts.gpioset ?? 'gpioset', opts.toolTimeoutMs));
  const chip = opts.chip ?? (await findGpiodChip(opts.gpiodetect ?? 'gpiodetect', opts.toolTimeoutMs)).name;
  return new GpiodLines({ ...opts, version, chip });
}
