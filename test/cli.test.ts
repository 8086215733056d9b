// SPDX-License-Identifier: Apache-2.0
// Every `kioskpay` subcommand answers --help with exit 0; unknown commands exit 2.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = new URL('../bin/kioskpay.js', import.meta.url).pathname;

async function kioskpay(...args: string[]) {
  try {
    const r = await run(process.execPath, [bin, ...args], { timeout: 30_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

describe('kioskpay command', () => {
  it.each(['up', 'server', 'broker', 'wallet', 'kiosk', 'console', 'demo'])('%s --help exits 0 with usage text', async (cmd) => {
    const r = await kioskpay(cmd, '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/usage|Usage/);
  });

  it('lists the commands and refuses unknown ones', async () => {
    expect((await kioskpay('--help')).out).toContain('wallet');
    expect((await kioskpay('nope')).code).toBe(2);
  });
});
