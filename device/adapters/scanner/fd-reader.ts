// SPDX-License-Identifier: Apache-2.0
// One read from a non-blocking device file descriptor (a tty or an input event device), waiting on
// a poller when nothing is there yet, and telling an unplug apart from a deliberate close.
//
// Why this exists: @serialport/bindings-cpp's own unix read re-reads at once after a zero-byte
// read. A hung-up tty (a USB CDC-ACM scanner pulled out, or a pty whose other side died) returns
// zero bytes forever, so that loop spins a core and the stream never emits 'close'. Here a zero-byte
// read, EIO, ENODEV, ENXIO or a poller error all mean "the device is gone".
import { read } from 'node:fs';

/** A readiness poller for one fd (bindings-cpp's Poller has this shape). */
export interface ReadPoller {
  once(event: 'readable', callback: (err: Error | null) => void): unknown;
}

/** A device read failure; `disconnected` for an unplug, `canceled` for our own close. */
export class DeviceReadError extends Error {
  override readonly name = 'DeviceReadError';
  readonly disconnected?: true;
  readonly canceled?: true;
  readonly code: string | undefined;
  constructor(message: string, kind: 'disconnected' | 'canceled', code?: string) {
    super(message);
    if (kind === 'disconnected') this.disconnected = true;
    else this.canceled = true;
    this.code = code;
  }
}

const RETRY = new Set(['EAGAIN', 'EWOULDBLOCK', 'EINTR']);

function readOnce(fd: number, buffer: Buffer, offset: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buffer, offset, length, null, (err, n) => (err ? reject(err) : resolve(n))));
}

export interface FdSource {
  /** The fd, or null once closed by us. */
  readonly fd: number | null;
  readonly poller: ReadPoller;
}

/**
 * Reads at least one byte into buffer[offset..offset+length). Resolves with the byte count; rejects
 * with DeviceReadError: `canceled` when the source was closed by us, `disconnected` otherwise.
 */
export async function readDevice(src: FdSource, buffer: Buffer, offset: number, length: number): Promise<number> {
  for (;;) {
    const fd = src.fd;
    if (fd === null) throw new DeviceReadError('device closed', 'canceled');
    let n: number;
    try {
      n = await readOnce(fd, buffer, offset, length);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (src.fd !== fd) throw new DeviceReadError('device closed', 'canceled');
      if (code !== undefined && RETRY.has(code)) {
        await waitReadable(src);
        continue;
      }
      throw new DeviceReadError(`device read failed: ${code ?? String(e)}`, 'disconnected', code);
    }
    if (src.fd !== fd) throw new DeviceReadError('device closed', 'canceled');
    if (n === 0) throw new DeviceReadError('zero-byte read: the device hung up', 'disconnected');
    return n;
  }
}

/**
 * Waits for the poller, then settles from setImmediate. The native poller calls back straight from
 * libuv (napi_call_function, outside any callback scope), and on Node 26 nothing drains the
 * microtask queue after such a call: a promise settled there would resume only when some unrelated
 * event arrived, so a kiosk with a quiet event loop would leave a scan unread. An immediate runs in
 * a proper scope, whose end drains the queue.
 */
function waitReadable(src: FdSource): Promise<void> {
  return new Promise((resolve, reject) => {
    src.poller.once('readable', (err) => setImmediate(settle, err));
    function settle(err: Error | null): void {
      if (!err) resolve();
      else if ((err as { canceled?: boolean }).canceled || src.fd === null) reject(new DeviceReadError('device closed', 'canceled'));
      else reject(new DeviceReadError(`device poll failed: ${err.message}`, 'disconnected'));
    }
  });
}
