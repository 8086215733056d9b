// SPDX-License-Identifier: Apache-2.0
// Runs notify-listener.py (python3) on a socket in a temp dir, and collects its JSON lines.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface NotifyLine {
  listening?: string;
  arrived?: string;
  state?: string;
  pid?: number | null;
  alive?: boolean;
  fds?: number;
}

export function hasTool(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

export class NotifyListener {
  readonly lines: NotifyLine[] = [];
  readonly #waiters = new Set<() => void>();
  private constructor(
    readonly socket: string,
    readonly proc: ChildProcess,
    readonly dir: string,
  ) {
    createInterface({ input: proc.stdout! }).on('line', (l) => {
      this.lines.push(JSON.parse(l) as NotifyLine);
      for (const w of this.#waiters) w();
    });
  }

  static async start(mode: 'auto' | 'gated'): Promise<NotifyListener> {
    const dir = mkdtempSync(join(tmpdir(), 'kp-notify-'));
    chmodSync(dir, 0o755);
    const socket = join(dir, 'notify');
    const proc = spawn('python3', [new URL('./notify-listener.py', import.meta.url).pathname, socket, mode], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const l = new NotifyListener(socket, proc, dir);
    await l.waitFor((x) => x.listening !== undefined, 'the listener to bind');
    return l;
  }

  /** Resolves with the first line matching, waiting at most `ms` (then rejects naming `what`). */
  waitFor(match: (l: NotifyLine) => boolean, what: string, ms = 10_000): Promise<NotifyLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.lines.find(match);
        if (!hit) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; got ${JSON.stringify(this.lines)}`));
      }, ms);
      this.#waiters.add(check);
      check();
    });
  }

  /** Gated mode: let the listener read the next datagram. */
  go(): void {
    this.proc.stdin!.write('\n');
  }

  close(): void {
    this.proc.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
