// SPDX-License-Identifier: Apache-2.0
// A keyboard-mode scanner's evdev node for tests: a real FIFO at `path` carrying real input_event
// records, written the way a USB HID scanner's key reports reach the kernel (an MSC_SCAN before
// each key event, a SYN_REPORT after each report, shift pressed around shifted characters).
// unplug() closes the writer (the reader sees end of file) and removes the node, as udev does;
// vanish() removes the node but keeps writing possible (only the watchdog can tell); plug() makes
// a new node. Writes are queued and never block the event loop (a long line exceeds a pipe).
// Like evdev, which gives each open file its own queue, keys sent while no reader in this process
// has the node open are lost rather than buffered for a later reader.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync, readdirSync, renameSync, rmSync, statSync, write } from 'node:fs';
import {
  EV_KEY,
  EV_MSC,
  EV_SYN,
  KEY_PRESS,
  KEY_RELEASE,
  KEY_REPEAT,
  encodeInputEvent,
  type InputEvent,
  type InputEventSize,
} from './input-event.ts';
import { KEY, keyForChar } from './us-keymap.ts';

const MSC_SCAN = 4;
const SYN = { type: EV_SYN, code: 0, value: 0 };

export class FakeEventDevice {
  readonly path: string;
  readonly #size: InputEventSize;
  #fd: number | undefined;
  #queue: Promise<void> = Promise.resolve();
  #plugs = 0;

  constructor(path: string, size: InputEventSize = 24) {
    this.path = path;
    this.#size = size;
  }

  /** A new node at `path` (made aside, then renamed into place, so it never appears half-made). */
  plug(): void {
    if (this.#fd !== undefined) throw new Error('already plugged');
    const tmp = `${this.path}.new${this.#plugs++}`;
    execFileSync('mkfifo', ['-m', '600', tmp]);
    // O_RDWR never blocks on a FIFO; it also keeps the FIFO open while the reader comes and goes.
    this.#fd = openSync(tmp, constants.O_RDWR);
    renameSync(tmp, this.path);
  }

  /** Pulls the cable: the reader gets end of file (after what was sent) and the node is gone. */
  async unplug(): Promise<void> {
    await this.#queue;
    this.vanish();
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  /** The node disappears; the open reader notices nothing by itself. */
  vanish(): void {
    rmSync(this.path, { force: true });
  }

  /** Key events, each followed by a SYN_REPORT (autorepeats are not preceded by a scan code). */
  keys(events: ReadonlyArray<{ code: number; value: number }>): void {
    const records: InputEvent[] = [];
    for (const e of events) {
      if (e.value !== KEY_REPEAT) records.push({ type: EV_MSC, code: MSC_SCAN, value: 0x70000 + e.code });
      records.push({ type: EV_KEY, code: e.code, value: e.value }, SYN);
    }
    this.records(records);
  }

  /** Types text then Enter; characters the US keymap lacks are sent as F1 (no character). */
  type(text: string, enter: { code: number } = { code: KEY.ENTER }): void {
    const ev: Array<{ code: number; value: number }> = [];
    for (const ch of text) {
      const k = keyForChar(ch) ?? { code: KEY.F1, shift: false };
      if (k.shift) ev.push({ code: KEY.LEFTSHIFT, value: KEY_PRESS });
      ev.push({ code: k.code, value: KEY_PRESS }, { code: k.code, value: KEY_RELEASE });
      if (k.shift) ev.push({ code: KEY.LEFTSHIFT, value: KEY_RELEASE });
    }
    ev.push({ code: enter.code, value: KEY_PRESS }, { code: enter.code, value: KEY_RELEASE });
    this.keys(ev);
  }

  /** Raw records, byte-exact. */
  records(records: readonly InputEvent[]): void {
    this.bytes(Buffer.concat(records.map((r) => encodeInputEvent(r, this.#size, 1_700_000_000_123_456))));
  }

  /** Raw bytes (also partial records). Ignored when unplugged. */
  bytes(data: Buffer): void {
    const fd = this.#fd;
    if (fd === undefined) return;
    this.#queue = this.#queue.then(() => (hasOtherReader(fd) ? writeAll(fd, data) : undefined));
  }

  /** Resolves once everything queued was written. */
  drained(): Promise<void> {
    return this.#queue;
  }
}

/** Whether another fd of this process has the same FIFO open (the scanner under test). */
function hasOtherReader(fd: number): boolean {
  const ino = fstatSync(fd).ino;
  for (const name of readdirSync('/proc/self/fd')) {
    if (Number(name) === fd) continue;
    try {
      if (statSync(`/proc/self/fd/${name}`).ino === ino) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

function writeAll(fd: number, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    write(fd, data, 0, data.length, null, (err, n) => {
      if (err) reject(err);
      else if (n < data.length) resolve(writeAll(fd, data.subarray(n)));
      else resolve();
    });
  });
}
