// SPDX-License-Identifier: Apache-2.0
// Two linked real pseudo-terminals from socat, for tests that need a real tty on the kiosk's side:
// the test writes "scanner" bytes into `device`, the scanner reads `kiosk`. kill() hangs the
// kiosk's side up the way a pulled USB CDC-ACM cable does; start() again (same links) replugs.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';

export class SocatPty {
  readonly device: string;
  readonly kiosk: string;
  #proc: ChildProcess | undefined;

  constructor(device: string, kiosk: string) {
    this.device = device;
    this.kiosk = kiosk;
  }

  /** Starts socat and waits (bounded) until both links point at live ptys. */
  async start(timeoutMs = 5_000): Promise<void> {
    if (this.#proc) throw new Error('socat already running');
    const proc = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${this.device}`, `pty,raw,echo=0,link=${this.kiosk}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.#proc = proc;
    let log = '';
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + timeoutMs;
    // socat logs "starting data transfer loop" once both ptys exist and the links are made.
    while (!/starting data transfer loop/.test(log) || !this.#linked()) {
      if (proc.exitCode !== null) throw new Error(`socat exited early: ${log}`);
      if (Date.now() > deadline) {
        this.kill();
        throw new Error(`timed out waiting for socat ptys: ${log}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  #linked(): boolean {
    try {
      return existsSync(readlinkSync(this.device)) && existsSync(readlinkSync(this.kiosk));
    } catch {
      return false;
    }
  }

  /** SIGKILL: socat cannot tidy up, the ptys hang up at once (the links are left dangling). */
  kill(): void {
    this.#proc?.kill('SIGKILL');
    this.#proc = undefined;
  }
}
