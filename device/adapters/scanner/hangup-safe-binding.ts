// SPDX-License-Identifier: Apache-2.0
// Wraps a serialport binding so that every kind of unplug reaches @serialport/stream as a read
// error with `disconnected: true` (which the stream turns into 'close'):
// - a native port (bindings-cpp: it has `fd` and `poller`) is read with our own loop (fd-reader.ts)
//   instead of bindings-cpp's, which spins on the zero-byte reads of a hung-up tty and never fails;
// - any other port (test bindings) has a zero-byte read turned into a disconnect instead of the
//   stream's silent end-of-stream (which would leave the stream open and the scanner "ready");
// - a native port's poller settles bindings-cpp's own write waits from setImmediate, for the reason
//   fd-reader.ts gives (on Node 26 a wait settled straight from the poller resumes only at the next
//   unrelated event). Reads need no such help: fd-reader.ts already waits that way.
import type { BindingInterface, BindingPortInterface, OpenOptions } from './binding-types.ts';
import { DeviceReadError, readDevice, type FdSource } from './fd-reader.ts';

function isFdSource(port: object): port is BindingPortInterface & FdSource {
  const p = port as { fd?: unknown; poller?: { once?: unknown } };
  return (typeof p.fd === 'number' || p.fd === null) && typeof p.poller?.once === 'function';
}

async function safeRead(
  inner: BindingPortInterface,
  buffer: Buffer,
  offset: number,
  length: number,
): Promise<{ buffer: Buffer; bytesRead: number }> {
  if (isFdSource(inner)) {
    if (!inner.isOpen) throw new DeviceReadError('port is not open', 'canceled');
    return { buffer, bytesRead: await readDevice(inner, buffer, offset, length) };
  }
  const r = await inner.read(buffer, offset, length);
  if (r.bytesRead === 0) throw new DeviceReadError('zero-byte read: the device hung up', 'disconnected');
  return r;
}

/** Wraps this poller's once() so 'writable' callbacks run from an immediate (fd-reader.ts says why). */
function settleWritableInScope(poller: FdSource['poller']): void {
  const once = poller.once.bind(poller) as (event: string, cb: (err: Error | null) => void) => unknown;
  Object.assign(poller, {
    once: (event: string, cb: (err: Error | null) => void) =>
      once(event, event === 'writable' ? (err: Error | null) => setImmediate(cb, err) : cb),
  });
}

/** The same binding, with unplugs that always surface. */
export function hangupSafeBinding(inner: BindingInterface): BindingInterface {
  return {
    list: () => inner.list(),
    async open(options: OpenOptions): Promise<BindingPortInterface> {
      const port = await inner.open(options);
      if (isFdSource(port)) settleWritableInScope(port.poller);
      // Delegate everything to the real port object (keeps its `this`), replacing read only.
      return new Proxy(port, {
        get(target, prop) {
          if (prop === 'read') return (b: Buffer, o: number, l: number) => safeRead(target, b, o, l);
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    },
  };
}
