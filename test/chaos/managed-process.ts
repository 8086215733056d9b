// SPDX-License-Identifier: Apache-2.0
// A child process of the chaos test: spawned as the leader of its own process group (so SIGKILL
// reaches anything it starts), its output read line by line (the last lines kept for a failure
// report), and every wait on it bounded. Every process ever started is tracked for afterAll.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Lines of output kept per process for diagnostics. */
const OUTPUT_LINES_KEPT = 40;
/** How long a killed process may take to be reaped before we give up waiting. */
const EXIT_WAIT_MS = 10_000;

const live = new Set<ManagedProcess>();
const started: ManagedProcess[] = [];
// Should the test runner itself exit without afterAll, its children's groups still go with it.
process.once('exit', () => {
  for (const p of live) p.killNow();
});

export class ManagedProcess {
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  readonly #watchers = new Set<(line: string) => void>();
  /** Set once the test asked it to stop (or gave up on it); an exit without it is a crash. */
  #stopRequested = false;
  readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    child: ChildProcess,
  ) {
    this.#child = child;
    this.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => live.delete(this));
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.#lines.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
        if (this.#lines.length > OUTPUT_LINES_KEPT) this.#lines.shift();
        for (const w of this.#watchers) w(line);
      });
    }
  }

  static start(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): ManagedProcess {
    const child = spawn(command, [...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
    const p = new ManagedProcess(name, child);
    live.add(p);
    started.push(p);
    return p;
  }

  get stopRequested(): boolean {
    return this.#stopRequested;
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get exitDescription(): string {
    return this.#child.signalCode ?? `exit ${this.#child.exitCode}`;
  }

  /** The last lines the process wrote, for a failure message. */
  recentOutput(): string {
    return this.#lines.join('\n');
  }

  /** Resolves with the first match of `pattern` in a line written from now on; rejects on exit or timeout. */
  waitForLine(pattern: RegExp, ms: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.#watchers.delete(watch);
        fn();
      };
      const watch = (line: string) => {
        const m = pattern.exec(line);
        if (m) done(() => resolve(m));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`${this.name}: no line matching ${pattern} within ${ms} ms\n${this.recentOutput()}`))),
        ms,
      );
      this.#watchers.add(watch);
      void this.exited.then(() =>
        done(() => reject(new Error(`${this.name} exited (${this.exitDescription}) before ${pattern}\n${this.recentOutput()}`))),
      );
    });
  }

  /** SIGKILL to the whole process group, without waiting (for an exiting test runner). */
  killNow(): void {
    this.#stopRequested = true;
    try {
      if (this.alive) process.kill(-this.#child.pid!, 'SIGKILL');
    } catch {
      // The group is already gone.
    }
  }

  /** SIGKILL to the whole process group; resolves once the process is reaped (bounded). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.#stopRequested = true;
    if (!this.alive) return;
    try {
      process.kill(-this.#child.pid!, signal);
    } catch {
      // The group is already gone.
    }
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, EXIT_WAIT_MS))]);
  }

  /** SIGTERM (a clean stop), then SIGKILL if it has not exited within `ms`. */
  async stop(ms = 5_000): Promise<void> {
    this.#stopRequested = true;
    if (!this.alive) return;
    try {
      process.kill(-this.#child.pid!, 'SIGTERM');
    } catch {
      return;
    }
    const stopped = await Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
    if (!stopped) await this.kill();
  }
}

/** Processes that exited although nobody stopped them (crashes), with their last output. */
export function crashedProcesses(): string[] {
  return started.filter((p) => !p.alive && !p.stopRequested).map((p) => `${p.name} (${p.exitDescription}):\n${p.recentOutput()}`);
}

/** Kills every process the test started and that still runs (afterAll). */
export async function killAllManaged(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill()));
}
