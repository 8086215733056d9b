// SPDX-License-Identifier: Apache-2.0
// Child process for fd-reader.test.ts: one readDevice() on a real FIFO with bindings-cpp's real
// poller, in a process whose event loop has nothing else to do (no test runner messages). A byte
// is written only once the reader waits on the poller. Prints 'read' when the read completes and
// 'deadline' if the 2 s timer fires first, then exits.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDevice, type ReadPoller } from './fd-reader.ts';

interface NativePoller extends ReadPoller {
  stop(): void;
}

const require = createRequire(import.meta.url);
const { Poller } = require('@serialport/bindings-cpp/dist/poller.js') as { Poller: new (fd: number) => NativePoller };

const dir = mkdtempSync(join(tmpdir(), 'kp-fd-reader-'));
const fifo = join(dir, 'node');
execFileSync('mkfifo', ['-m', '600', fifo]);
const writer = openSync(fifo, constants.O_RDWR);
const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
const native = new Poller(fd);
const poller: ReadPoller = {
  once(event, callback) {
    // Armed: write from a timer, whose callback scope ends before the poller fires.
    setTimeout(() => writeSync(writer, 'k'), 10);
    return native.once(event, callback);
  },
};

const deadline = setTimeout(() => finish('deadline'), 2_000);
readDevice({ fd, poller }, Buffer.alloc(16), 0, 16).then(
  () => finish('read'),
  (e: unknown) => finish(`error ${String(e)}`),
);

function finish(what: string): void {
  clearTimeout(deadline);
  native.stop();
  closeSync(fd);
  closeSync(writer);
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`${what}\n`);
}
