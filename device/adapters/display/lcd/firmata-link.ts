// SPDX-License-Identifier: Apache-2.0
// Opens a Firmata board (an Arduino running StandardFirmata) over serialport 13, for johnny-five.
// johnny-five's own path opens the port with serialport 8 (through the `firmata` package), whose
// native binding we do not build. `firmata-io` is the same Firmata client without a transport: its
// Firmata class takes any opened-or-opening stream with write()/'data'/'open'/'close'/'error', so
// we hand it a serialport 13 stream and serialport 8 is never loaded.
import { createRequire } from 'node:module';
import { SerialPortStream } from '@serialport/stream';
import type { BindingInterface } from '../../scanner/binding-types.ts';
import { hangupSafeBinding } from '../../scanner/hangup-safe-binding.ts';
import type { Timers } from '../../../timers.ts';

/** The part of a Firmata-compatible IO (firmata-io, mock-firmata, an IO plugin) we touch. */
export interface FirmataLikeIo {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener?(event: string, listener: (...args: unknown[]) => void): unknown;
  readonly isReady?: boolean;
  /** Writes handed to the transport and not yet finished (firmata-io counts them). */
  readonly pending?: number;
  name?: string;
}

/** One IO and how to let it go. */
export interface IoConnection {
  readonly io: FirmataLikeIo;
  /**
   * Opens the transport, when the connection has one to open. Called after johnny-five's Board
   * listens on the IO: the IO's 'connect' comes with the transport's 'open', and a Board that
   * misses it never reports 'ready'.
   */
  connect?(): Promise<void>;
  /** Closes what was opened for this connection; resolves within its own time limit, never throws. */
  release(): Promise<void>;
}

export interface FirmataSerialOptions {
  /** Prefer /dev/serial/by-id/... (stable across re-enumeration after an unplug). */
  path: string;
  /** StandardFirmata's default is 57,600 baud. */
  baudRate: number;
  /** Default: serialport's native binding. Tests pass MockBinding. */
  binding?: BindingInterface;
  timers: Timers;
  /** Longest wait for pending writes (the last clear) to leave, and then for the close. */
  closeTimeoutMs: number;
}

interface FirmataIoModule {
  Firmata: new (transport: object, options?: object) => FirmataLikeIo & { reportVersionTimeoutId?: unknown };
}

const require = createRequire(import.meta.url);

/** A Firmata IO on a serial port, not yet open (see IoConnection.connect). */
export async function openFirmataSerial(o: FirmataSerialOptions): Promise<IoConnection> {
  // The native binding is wrapped like the scanner's: unplugs surface as 'close', and reads and
  // write waits resume on a quiet event loop (Node 26; see hangup-safe-binding.ts).
  const binding = o.binding ?? hangupSafeBinding((await import('serialport')).SerialPort.binding);
  const { Firmata } = require('firmata-io') as FirmataIoModule;
  const port = new SerialPortStream({ binding, path: o.path, baudRate: o.baudRate, autoOpen: false });
  // A stream 'error' must never go unhandled; Firmata also listens and re-emits it on the IO.
  port.on('error', () => {});
  const io = new Firmata(port);
  const stopVersionTimer = () => clearTimeout(io.reportVersionTimeoutId as ReturnType<typeof setTimeout>);
  return {
    io,
    connect: () => new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve()))),
    release: async () => {
      // Firmata's own 5 s "ask for the version again" timer would write to a closed port.
      stopVersionTimer();
      if (!port.isOpen) return;
      await within(o.timers, o.closeTimeoutMs, new Promise<void>((resolve) => port.drain(() => resolve())));
      await within(o.timers, o.closeTimeoutMs, new Promise<void>((resolve) => port.close(() => resolve())));
    },
  };
}

/** Waits for `p`, or `ms` on the injected timers, whichever is first. */
function within(timers: Timers, ms: number, p: Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = timers.setTimeout(resolve, ms);
    void p.then(() => {
      timers.clearTimeout(t);
      resolve();
    });
  });
}
