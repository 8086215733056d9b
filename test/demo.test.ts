// SPDX-License-Identifier: Apache-2.0
// `npm run demo` must keep working: it runs the real broker, server, wallet CLI and a scripted kiosk,
// and exits 0 only when every outcome is the expected one.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('npm run demo', () => {
  it('plays every payment kind and exits 0', async () => {
    const bin = new URL('../bin/kioskpay.js', import.meta.url).pathname;
    const { stdout } = await run(process.execPath, [bin, 'demo'], { timeout: 120_000 });
    expect(stdout).toContain('All outcomes as expected.');
    expect(stdout).not.toContain('FAIL');
  }, 130_000);
});
