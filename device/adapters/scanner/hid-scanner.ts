// SPDX-License-Identifier: Apache-2.0
// The Scanner adapter for a scanner in USB HID keyboard mode (how most 2-D scanners ship): reads
// its evdev node, /dev/input/by-id/*-event-kbd, decodes key events with the US keymap into the
// bytes a serial scanner would send, and frames them like the serial adapter (Enter ends a code).
// Reconnects, framing and the node watchdog are ReconnectingScanner's. An unplug is a read error
// (ENODEV, EIO), end of file, or the node vanishing.
//
// Without the EVIOCGRAB ioctl (not reachable from plain Node) the kernel also hands these keys to
// the focused window: see README.md for what to do about it.
import { close, constants, open } from 'node:fs';
import { DeviceReadError, readDevice, type FdSource, type ReadPoller } from './fd-reader.ts';
import { InputEventReader, inputEventSize, type InputEventSize } from './input-event.ts';
import {
  ReconnectingScanner,
  type DeviceSink,
  type OpenedDevice,
  type ReconnectingScannerOptions,
  type ScannerDevice,
} from './reconnecting-scanner.ts';
import { UsKeyDecoder } from './us-keymap.ts';

export interface HidScannerOptions extends Omit<ReconnectingScannerOptions, 'suffix'> {
  /** Prefer /dev/input/by-id/usb-...-event-kbd (stable across re-enumeration). */
  path: string;
  keymap?: 'us';
  /** Bytes per input_event record; default from the CPU (24 on 64-bit, 16 on 32-bit). */
  eventSize?: InputEventSize;
}

interface Poller extends ReadPoller {
  stop(): void;
  destroy(): void;
}

/** bindings-cpp's fd poller (libuv uv_poll), loaded only when a HID scanner is opened. */
async function newPoller(fd: number): Promise<Poller> {
  const { Poller } = await import('@serialport/bindings-cpp/dist/poller.js');
  return new Poller(fd) as Poller;
}

/** Non-blocking, so reads go through the poller; libuv adds O_CLOEXEC itself. */
function openFd(path: string): Promise<number> {
  return new Promise((resolve, reject) =>
    open(path, constants.O_RDONLY | constants.O_NONBLOCK, (err, fd) => (err ? reject(err) : resolve(fd))),
  );
}

class HidDevice implements ScannerDevice {
  readonly path: string;
  readonly #eventSize: InputEventSize;

  constructor(path: string, eventSize: InputEventSize) {
    this.path = path;
    this.#eventSize = eventSize;
  }

  async open(sink: DeviceSink): Promise<OpenedDevice> {
    const fd = await openFd(this.path);
    let poller: Poller;
    try {
      poller = await newPoller(fd);
    } catch (e) {
      close(fd, () => {});
      throw e;
    }
    const src: { fd: number | null; poller: Poller } & FdSource = { fd, poller };
    void this.#readLoop(src, sink);
    return {
      close: async () => {
        if (src.fd === null) return;
        src.fd = null;
        poller.stop();
        poller.destroy();
        await new Promise<void>((resolve) => close(fd, () => resolve()));
      },
    };
  }

  async #readLoop(src: FdSource, sink: DeviceSink): Promise<void> {
    const records = new InputEventReader(this.#eventSize);
    const keys = new UsKeyDecoder();
    const buf = Buffer.alloc(this.#eventSize * 64); // evdev reads whole records only
    for (;;) {
      let n: number;
      try {
        n = await readDevice(src, buf, 0, buf.length);
      } catch (e) {
        if (!(e instanceof DeviceReadError) || !e.canceled) sink.gone(e instanceof Error ? e.message : String(e));
        return;
      }
      const bytes = keys.push(records.push(buf.subarray(0, n)));
      if (bytes.length > 0) sink.data(Uint8Array.from(bytes));
    }
  }
}

export class HidScanner extends ReconnectingScanner {
  constructor(opts: HidScannerOptions) {
    super(new HidDevice(opts.path, opts.eventSize ?? inputEventSize()), { ...opts, suffix: 'CR', watch: opts.watch ?? {} });
  }
}
