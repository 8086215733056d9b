// SPDX-License-Identifier: Apache-2.0
// A serialport binding (BindingInterface from @serialport/bindings-interface) for tests and the
// simulator that, unlike @serialport/binding-mock, can simulate an unplug. All state is on the
// instance: make one UnplugBinding per test.
//
// unplug(path): the open port's pending read (or its next read) rejects with an error that has
//   `disconnected: true` (not `canceled`), which @serialport/stream turns into 'close' with a
//   DisconnectedError, exactly like a real USB unplug; open() then fails until replug(path).
// hangUp(path, 'zero'): the node goes away but the open port is not told: every read resolves
//   with zero bytes, as a hung-up tty's read(2) does (the stream alone takes that for end of stream
//   and never emits 'close').
// hangUp(path, 'never'): the same, seen from outside @serialport/bindings-cpp, whose read loops on
//   those zero bytes: the pending read never settles. Only a watchdog on the node can tell.
// nodeState(path): what stat() on the node would say, for that watchdog.
// close(): pending reads reject with `canceled: true`, as the interface requires.
import type {
  BindingInterface,
  BindingPortInterface,
  OpenOptions,
  PortInfo,
  PortStatus,
  SetOptions,
  UpdateOptions,
} from './binding-types.ts';

export class BindingError extends Error {
  canceled?: true;
  disconnected?: true;
  constructor(message: string, flags: { canceled?: true; disconnected?: true } = {}) {
    super(message);
    this.name = 'BindingError';
    if (flags.canceled) this.canceled = true;
    if (flags.disconnected) this.disconnected = true;
  }
}

interface Device {
  path: string;
  present: boolean;
  /** The currently open port, if any. */
  open?: UnplugPortBinding;
  /** Number of successful opens (for tests). */
  opens: number;
  /** Number of failed opens (for tests). */
  failedOpens: number;
  /** Bumped on every replug: a new node, as udev makes after a re-enumeration. */
  node: number;
}

export class UnplugBinding implements BindingInterface<UnplugPortBinding> {
  readonly #devices = new Map<string, Device>();

  /** Makes a device exist (plugged in). */
  createPort(path: string): void {
    this.#devices.set(path, { path, present: true, opens: 0, failedOpens: 0, node: 1 });
  }

  async list(): Promise<PortInfo[]> {
    return [...this.#devices.values()]
      .filter((d) => d.present)
      .map((d) => ({
        path: d.path,
        manufacturer: 'kioskpay-sim',
        serialNumber: undefined,
        pnpId: undefined,
        locationId: undefined,
        productId: undefined,
        vendorId: undefined,
      }));
  }

  async open(options: OpenOptions): Promise<UnplugPortBinding> {
    await Promise.resolve();
    const dev = this.#devices.get(options.path);
    if (!dev?.present) {
      if (dev) dev.failedOpens++;
      throw new BindingError(`Error: No such file or directory, cannot open ${options.path}`);
    }
    if (dev.open) throw new BindingError('Error Resource temporarily unavailable Cannot lock port');
    const port = new UnplugPortBinding(
      {
        dataBits: 8,
        lock: true,
        stopBits: 1,
        parity: 'none',
        rtscts: false,
        xon: false,
        xoff: false,
        xany: false,
        hupcl: true,
        ...options,
      },
      () => {
        if (dev.open === port) delete dev.open;
      },
    );
    dev.open = port;
    dev.opens++;
    return port;
  }

  /** The open port on `path` (to inject data), or undefined. */
  portOf(path: string): UnplugPortBinding | undefined {
    return this.#devices.get(path)?.open;
  }

  /** Sends bytes from the "scanner" on `path`; false when it is not open. */
  emitData(path: string, data: Uint8Array | string): boolean {
    const port = this.portOf(path);
    if (!port) return false;
    port.emitData(data);
    return true;
  }

  /** Pulls the cable: the open port fails its read as disconnected; opens fail until replug. */
  unplug(path: string): void {
    const dev = this.#devices.get(path);
    if (!dev) throw new Error(`no such port ${path}`);
    dev.present = false;
    dev.open?.disconnect();
  }

  /** The node vanishes without the open port failing: its reads return zero bytes or never settle. */
  hangUp(path: string, reads: 'zero' | 'never'): void {
    const dev = this.#devices.get(path);
    if (!dev) throw new Error(`no such port ${path}`);
    dev.present = false;
    dev.open?.hangUp(reads);
  }

  replug(path: string): void {
    const dev = this.#devices.get(path);
    if (!dev) throw new Error(`no such port ${path}`);
    if (!dev.present) dev.node++;
    dev.present = true;
  }

  /** What a stat() of the node would tell (for the scanner's node watchdog). */
  async nodeState(path: string): Promise<{ present: false } | { present: true; id: string }> {
    await Promise.resolve();
    const dev = this.#devices.get(path);
    return dev?.present ? { present: true, id: `${path}#${dev.node}` } : { present: false };
  }

  stats(path: string): { opens: number; failedOpens: number; isOpen: boolean } {
    const dev = this.#devices.get(path);
    return { opens: dev?.opens ?? 0, failedOpens: dev?.failedOpens ?? 0, isOpen: dev?.open !== undefined };
  }
}

type PendingRead = {
  buffer: Buffer;
  offset: number;
  length: number;
  resolve: (r: { buffer: Buffer; bytesRead: number }) => void;
  reject: (e: Error) => void;
};

export class UnplugPortBinding implements BindingPortInterface {
  readonly openOptions: Required<OpenOptions>;
  isOpen = true;
  /** Bytes written by the application, for tests. */
  recording: Buffer = Buffer.alloc(0);
  #data: Buffer = Buffer.alloc(0);
  #pending: PendingRead | undefined;
  #disconnected = false;
  #hungUp: 'zero' | 'never' | undefined;
  readonly #onClosed: () => void;

  constructor(openOptions: Required<OpenOptions>, onClosed: () => void) {
    this.openOptions = openOptions;
    this.#onClosed = onClosed;
  }

  emitData(data: Uint8Array | string): void {
    if (!this.isOpen) throw new Error('Port must be open to pretend to receive data');
    if (this.#hungUp) return; // the cable is out: nothing arrives
    this.#data = Buffer.concat([this.#data, typeof data === 'string' ? Buffer.from(data) : Buffer.from(data)]);
    this.#serve();
  }

  /** Called by UnplugBinding.unplug. */
  disconnect(): void {
    this.#disconnected = true;
    const p = this.#pending;
    this.#pending = undefined;
    p?.reject(new BindingError('Error: EIO: i/o error, read (device unplugged)', { disconnected: true }));
  }

  /** Called by UnplugBinding.hangUp. */
  hangUp(reads: 'zero' | 'never'): void {
    this.#hungUp = reads;
    this.#data = Buffer.alloc(0);
    this.#serve();
  }

  #serve(): void {
    const p = this.#pending;
    if (p && this.#hungUp === 'zero') {
      this.#pending = undefined;
      p.resolve({ buffer: p.buffer, bytesRead: 0 });
      return;
    }
    if (!p || this.#data.length === 0) return;
    this.#pending = undefined;
    const n = Math.min(p.length, this.#data.length);
    this.#data.copy(p.buffer, p.offset, 0, n);
    this.#data = this.#data.subarray(n);
    p.resolve({ buffer: p.buffer, bytesRead: n });
  }

  async read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    if (!this.isOpen) throw new BindingError('Read canceled', { canceled: true });
    if (this.#disconnected) throw new BindingError('Error: EIO: i/o error, read', { disconnected: true });
    if (this.#pending) throw new Error('overlapping reads');
    return new Promise((resolve, reject) => {
      this.#pending = { buffer, offset, length, resolve, reject };
      queueMicrotask(() => this.#serve());
    });
  }

  async close(): Promise<void> {
    if (!this.isOpen) throw new Error('Port is not open');
    this.isOpen = false;
    this.#data = Buffer.alloc(0);
    const p = this.#pending;
    this.#pending = undefined;
    p?.reject(new BindingError('port is closed', { canceled: true }));
    this.#onClosed();
  }

  async write(buffer: Buffer): Promise<void> {
    if (!this.isOpen) throw new BindingError('Write canceled', { canceled: true });
    if (this.#disconnected) throw new BindingError('Error: EIO: i/o error, write', { disconnected: true });
    this.recording = Buffer.concat([this.recording, buffer]);
  }

  async update(_options: UpdateOptions): Promise<void> {
    if (!this.isOpen) throw new Error('Port is not open');
  }

  async set(_options: SetOptions): Promise<void> {
    if (!this.isOpen) throw new Error('Port is not open');
  }

  async get(): Promise<PortStatus> {
    if (!this.isOpen) throw new Error('Port is not open');
    return { cts: true, dsr: true, dcd: true };
  }

  async getBaudRate(): Promise<{ baudRate: number }> {
    if (!this.isOpen) throw new Error('Port is not open');
    return { baudRate: this.openOptions.baudRate };
  }

  async flush(): Promise<void> {
    this.#data = Buffer.alloc(0);
  }

  async drain(): Promise<void> {}
}
