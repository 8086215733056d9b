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

  it.each([
    [['kiosk', 'pay'], 'Usage: kioskpay kiosk pay --code TEXT'],
    [['kiosk', 'status'], 'Usage: kioskpay kiosk status --tx ID'],
    [['kiosk', 'void'], 'Usage: kioskpay kiosk void --tx ID'],
    [['kiosk', 'time'], 'Usage: kioskpay kiosk time'],
    [['kiosk', 'run'], 'Usage: kioskpay kiosk run'],
    [['kiosk', 'doctor'], 'Usage: kioskpay kiosk doctor'],
    [['wallet', 'code'], 'Usage: kioskpay wallet code'],
    [['console', 'status'], 'status KIOSK'],
  ])("%j --help prints that subcommand's help, not the command's", async (words, usage) => {
    for (const args of [
      [...words, '--help'],
      [words[0]!, '--help', words[1]!],
    ]) {
      const r = await kioskpay(...args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.out, args.join(' ')).toContain(usage);
      expect(r.out, args.join(' ')).not.toMatch(/Usage: kioskpay (kiosk|wallet|console) (<|\[)/);
    }
  });

  it('lists the commands and refuses unknown ones', async () => {
    expect((await kioskpay('--help')).out).toContain('wallet');
    expect((await kioskpay('nope')).code).toBe(2);
  });
});
