// SPDX-License-Identifier: Apache-2.0
// `kioskpay console` run in this process as a test's technician, its output captured: runConsole()
// waits for the exit code, startConsole() hands back the captures while it runs (`alerts --follow`).
import { Writable } from 'node:stream';
import { consoleCommand, type ConsoleDeps } from '../console/main.ts';
import { WAIT_MS as LINES_WAIT_MS } from '../shared/testing/wait.ts';

/** A stream that keeps what is written, and can wait for a number of lines. */
export class Capture extends Writable {
  text = '';
  readonly #waiters = new Set<() => void>();

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    for (const w of [...this.#waiters]) w();
    cb();
  }

  /** Resolves once the captured text has `n` non-empty lines; rejects after LINES_WAIT_MS. */
  lines(n: number): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const lines = this.text.split('\n').filter((l) => l !== '');
        if (lines.length < n) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(lines);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`fewer than ${n} lines within ${LINES_WAIT_MS} ms: ${this.text}`));
      }, LINES_WAIT_MS);
      this.#waiters.add(check);
      check();
    });
  }
}

export interface ConsoleLogin {
  url: string;
  username: string;
  password: string;
}

/** Options a test gives the console; the login comes from the environment, as a script's would. */
export type ConsoleRunOptions = Pick<ConsoleDeps, 'isTTY' | 'stdin' | 'signal'>;

/** Starts `kioskpay console ...argv` logged in as `login`; not a terminal unless `o.isTTY`. */
export function startConsole(login: ConsoleLogin, argv: string[], o: ConsoleRunOptions = {}) {
  const stdout = new Capture();
  const stderr = new Capture();
  const done = consoleCommand(argv, {
    env: { KIOSKPAY_MQTT_URL: login.url, KIOSKPAY_MQTT_USERNAME: login.username, KIOSKPAY_MQTT_PASSWORD: login.password },
    stdout,
    stderr,
    isTTY: false,
    ...o,
  });
  return { stdout, stderr, done };
}

/** Runs `kioskpay console ...argv` to its end: the exit code and what it wrote. */
export async function runConsole(login: ConsoleLogin, argv: string[], o: ConsoleRunOptions = {}) {
  const c = startConsole(login, argv, o);
  const code = await c.done;
  return { code, out: c.stdout.text, err: c.stderr.text };
}
