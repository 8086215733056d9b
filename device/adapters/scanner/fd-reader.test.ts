// SPDX-License-Identifier: Apache-2.0
// readDevice with the real native poller, in a child process with an otherwise idle event loop.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('./fd-reader-idle-child.ts', import.meta.url));

// The poller calls back outside any JS callback scope. On Node 26 a promise settled there resumed
// only at the next unrelated event: here the 2 s timer, so a scan on a quiet kiosk waited for the
// next MQTT keepalive or never came (the replug tests of the HID and serial adapters).
it('a byte that arrives while the event loop is otherwise idle is read before any later timer fires', async () => {
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', CHILD], { timeout: 20_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`child failed: ${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
  expect(out.trim()).toBe('read');
});
