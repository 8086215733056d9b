// SPDX-License-Identifier: Apache-2.0
// Test support: fake libgpiod tools as small shell scripts in a temp dir. Each records "PID ARGS" to
// a log; `gpioset` then holds (sleep) like the real one, `gpiomon` prints the event lines that
// `drive()` appends to a per-line file, in the real tool's format for that version.
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GpiodVersion } from './gpiod-lines.ts';
import type { Level } from './lines.ts';

export class FakeGpiodTools {
  readonly dir: string;
  readonly gpioset: string;
  readonly gpiomon: string;

  constructor(readonly version: GpiodVersion) {
    this.dir = mkdtempSync(join(tmpdir(), 'kioskpay-gpiod-'));
    this.gpioset = join(this.dir, 'gpioset');
    this.gpiomon = join(this.dir, 'gpiomon');
    const ver = version === 1 ? '1.6.3' : '2.1.3';
    writeFileSync(
      this.gpioset,
      `#!/bin/sh
if [ "$1" = "--version" ]; then echo "gpioset (libgpiod) v${ver}"; exit 0; fi
echo "$$ $*" >> '${this.dir}/gpioset.log'
exec sleep 1000
`,
    );
    writeFileSync(
      this.gpiomon,
      `#!/bin/sh
echo "$$ $*" >> '${this.dir}/gpiomon.log'
for last; do :; done
f='${this.dir}/events-'"$last"
touch "$f"
exec tail -s 0.02 -n +1 -f "$f"
`,
    );
    chmodSync(this.gpioset, 0o755);
    chmodSync(this.gpiomon, 0o755);
  }

  /** Logged invocations: [pid, args]. */
  calls(tool: 'gpioset' | 'gpiomon'): [number, string[]][] {
    let text = '';
    try {
      text = readFileSync(join(this.dir, `${tool}.log`), 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [pid, ...args] = l.split(' ');
        return [Number(pid), args];
      });
  }

  /** The level a live gpioset holds on `bcm`, or undefined if none holds it. */
  level(bcm: number): Level | undefined {
    const held = this.calls('gpioset').filter(([pid, args]) => args.at(-1)?.startsWith(`${bcm}=`) && alive(pid));
    const last = held.at(-1);
    if (!last) return undefined;
    return last[1].at(-1)?.endsWith('=1') ? 1 : 0;
  }

  /** Appends one event line for `bcm`, as gpiomon of this version prints it. */
  drive(bcm: number, level: Level): void {
    const line =
      this.version === 1
        ? `event: ${level ? ' RISING' : 'FALLING'} EDGE offset: ${bcm} timestamp: [1767225600.123456789]`
        : `1767225600.123456789\t${level ? 'rising' : 'falling'}\tgpiochip0 ${bcm}`;
    appendFileSync(join(this.dir, `events-${bcm}`), `${line}\n`);
  }

  /** PIDs of every fake tool process still running. */
  living(): number[] {
    return [...this.calls('gpioset'), ...this.calls('gpiomon')].map(([pid]) => pid).filter(alive);
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
