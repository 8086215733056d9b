// SPDX-License-Identifier: Apache-2.0
// The Scanner adapter for a scanner in USB-serial (CDC-ACM) mode, read with serialport. Reconnects,
// framing and the node watchdog are ReconnectingScanner's; this file only opens the port.
// serialport has no auto-reconnect: an unplug arrives as 'close' with err.disconnected. The binding
// is wrapped (hangup-safe-binding.ts) so a hung-up tty's zero-byte reads also end in 'close'.
import { SerialPort } from 'serialport';
import { SerialPortStream } from '@serialport/stream';
import type { BindingInterface } from './binding-types.ts';
import { hangupSafeBinding } from './hangup-safe-binding.ts';
import {
  ReconnectingScanner,
  type DeviceSink,
  type OpenedDevice,
  type ReconnectingScannerOptions,
  type ScannerDevice,
} from './reconnecting-scanner.ts';

export interface SerialScannerOptions extends ReconnectingScannerOptions {
  /** Prefer /dev/serial/by-id/... (stable across re-enumeration after an unplug); a pty works too. */
  path: string;
  /** Default 9600. */
  baudRate?: number;
  /**
   * Default: serialport's autodetected native binding, with the node watchdog on unless `watch`
   * says otherwise. Tests pass MockBinding or UnplugBinding (no watchdog unless `watch` is given).
   */
  binding?: BindingInterface;
}

class SerialDevice implements ScannerDevice {
  readonly path: string;
  readonly #binding: BindingInterface;
  readonly #baudRate: number;

  constructor(path: string, binding: BindingInterface, baudRate: number) {
    this.path = path;
    this.#binding = binding;
    this.#baudRate = baudRate;
  }

  async open(sink: DeviceSink): Promise<OpenedDevice> {
    const port = new SerialPortStream({ binding: this.#binding, path: this.path, baudRate: this.#baudRate, autoOpen: false });
    // Never let a stream 'error' go unhandled: failures arrive through open and 'close'.
    port.on('error', () => {});
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    port.on('data', (chunk: Buffer) => sink.data(chunk));
    // An unplug (err.disconnected) or any close we did not ask for; our own closes are ignored
    // by ReconnectingScanner because it forgets the link first.
    port.on('close', () => sink.gone('port closed'));
    port.on('end', () => sink.gone('end of stream'));
    return {
      close: () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
    };
  }
}

export class SerialScanner extends ReconnectingScanner {
  constructor(opts: SerialScannerOptions) {
    const binding = hangupSafeBinding(opts.binding ?? SerialPort.binding);
    const watch = opts.watch ?? (opts.binding === undefined ? {} : false);
    super(new SerialDevice(opts.path, binding, opts.baudRate ?? 9600), { ...opts, watch });
  }
}
