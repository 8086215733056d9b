// SPDX-License-Identifier: Apache-2.0
// GpioLines on the libgpiod command-line tools (Debian's `gpiod` package), for images without sysfs
// GPIO. An output is held by a `gpioset` child process (v1: `gpioset --mode=signal CHIP N=V`,
// v2: `gpioset -c CHIP N=V`, both hold the line until killed); a write kills it, waits for it to
// exit (the line is busy until then), and starts a new one. An input is watched by a `gpiomon`
// child whose event lines ("... RISING EDGE ..." in v1, "... rising ..." in v2) are parsed.
// Every child is killed (SIGTERM, then SIGKILL) and awaited on close.
//
// Failure semantics beyond GpioLines: writes are asynchronous; a tool that cannot start or exits on
// its own is reported to `onError`.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { claimLine, GpioLineError, type Edge, type GpioLines, type InLine, type Level, type OutLine } from './lines.ts';

export type GpiodVersion = 1 | 2;

export interface GpiodLinesOptions {
  /** Chip name or path, e.g. gpiochip0 (header GPIO on Pi 1-4, and on Pi 5 with kernel 6.6.45+). */
  chip?: string;
  gpioset?: string;
  gpiomon?: string;
  version: GpiodVersion;
  onError?: (err: unknown) => void;
  /** How long a child gets after SIGTERM before SIGKILL. */
  killGraceMs?: number;
}

/** Runs `gpioset --version` and reads the libgpiod major version from "... v1.6.3" / "v2.1". */
export async function detectGpiodVersion(gpioset = 'gpioset'): Promise<GpiodVersion> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(gpioset, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', (err) =>
      reject(new GpioLineError(`cannot run ${gpioset} (install Debian's gpiod package): ${err.message}`, 'UNAVAILABLE', { cause: err })),
    );
    child.on('close', () => resolve(text));
  });
  const m = /\bv?(\d+)\.\d+/.exec(out);
  const major = m ? Number(m[1]) : NaN;
  if (major === 1 || major === 2) return major;
  throw new GpioLineError(`unknown libgpiod version from ${gpioset} --version: ${JSON.stringify(out.trim())}`, 'UNAVAILABLE');
}

/** Parses one gpiomon output line into a level, or null if it is not an event line. Pure. */
export function parseGpiomonLine(line: string): Level | null {
  if (/\brising\b/i.test(line)) return 1;
  if (/\bfalling\b/i.test(line)) return 0;
  return null;
}

export function gpiosetArgs(version: GpiodVersion, chip: string, bcm: number, level: Level): string[] {
  return version === 1 ? ['--mode=signal', chip, `${bcm}=${level}`] : ['-c', chip, `${bcm}=${level}`];
}

export function gpiomonArgs(version: GpiodVersion, chip: string, bcm: number, edge: Edge): string[] {
  if (version === 1) {
    const e = edge === 'rising' ? ['--rising-edge'] : edge === 'falling' ? ['--falling-edge'] : [];
    return [...e, chip, String(bcm)];
  }
  return ['-c', chip, '-e', edge, String(bcm)];
}

export class GpiodLines implements GpioLines {
  readonly #o: Required<Omit<GpiodLinesOptions, 'onError'>>;
  readonly #onError: (err: unknown) => void;
  readonly #claimed = new Set<number>();
  readonly #children = new Set<ChildProcess>();
  readonly #pending = new Set<Promise<void>>();
  #closed = false;

  constructor(opts: GpiodLinesOptions) {
    this.#o = {
      chip: opts.chip ?? 'gpiochip0',
      gpioset: opts.gpioset ?? 'gpioset',
      gpiomon: opts.gpiomon ?? 'gpiomon',
      version: opts.version,
      killGraceMs: opts.killGraceMs ?? 1000,
    };
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

  input(bcm: number, edge: Edge): InLine {
    claimLine(this.#claimed, bcm, this.#closed);
    const { gpiomon, chip, version } = this.#o;
    const child = this.#spawn(gpiomon, gpiomonArgs(version, chip, bcm, edge), true);
    const listeners = new Set<(level: Level) => void>();
    if (child.stdout) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (this.#closed) return;
        const level = parseGpiomonLine(line);
        if (level === null) return;
        if ((edge === 'rising' && level !== 1) || (edge === 'falling' && level !== 0)) return;
        for (const fn of [...listeners]) fn(level);
      });
    }
    return {
      bcm,
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

/** Detects the libgpiod version and opens lines on `chip`. */
export async function openGpiodLines(opts: Omit<GpiodLinesOptions, 'version'> & { version?: GpiodVersion } = {}): Promise<GpiodLines> {
  const version = opts.version ?? (await detectGpiodVersion(opts.gpioset ?? 'gpioset'));
  return new GpiodLines({ ...opts, version });
}
