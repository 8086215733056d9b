// SPDX-License-Identifier: Apache-2.0
// Test support: a stand-in for /dev/lcd made of a real named pipe (mkfifo) whose reader feeds every
// byte to a CharlcdModel. The adapter opens it with the same open(2) flags as the real device, so it
// meets real kernel behaviour: no reader yet means ENXIO at open; the reader gone means EPIPE on the
// next write; the node unlinked means ENOENT at the next open and a failed probe.
import { execFileSync } from 'node:child_process';
import { openSync, constants, unlinkSync } from 'node:fs';
import { Socket } from 'node:net';
import { CharlcdModel } from './charlcd-model.ts';

export class FifoCharlcd {
  readonly model: CharlcdModel;
  /** Bytes read from the pipe and fed to the model. */
  received = 0;
  #reader: Socket | undefined;

  constructor(
    readonly path: string,
    cols = 20,
    rows = 4,
    leftover: readonly string[] = [],
  ) {
    this.model = new CharlcdModel(cols, rows, leftover);
  }

  /** Makes the node and starts reading (the driver is loaded). */
  plugIn(): void {
    execFileSync('mkfifo', ['-m', '0600', this.path]);
    // Read-write, so the pipe never reads as ended while the adapter has it closed between attempts.
    const fd = openSync(this.path, constants.O_RDWR | constants.O_NONBLOCK);
    const reader = new Socket({ fd, readable: true, writable: false });
    reader.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      this.model.feed(chunk);
    });
    reader.on('error', () => undefined);
    this.#reader = reader;
  }

  /** The device goes away: the node vanishes and the open pipe loses its reader. */
  unplug(): void {
    this.#reader?.destroy();
    this.#reader = undefined;
    try {
      unlinkSync(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  close(): void {
    this.unplug();
  }
}
