// SPDX-License-Identifier: Apache-2.0
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../../../shared/random.ts';
import { aimForSymbology } from './line-framer.ts';
import { ManualTimers } from './manual-timers.ts';
import { turns } from '../../../shared/testing/wait.ts';
import { nextEvent, scannerContract } from './scanner-contract.ts';
import type { Scan } from './scanner.ts';
import { SerialScanner } from './serial-scanner.ts';
import { UnplugBinding } from './unplug-binding.ts';
// @serialport/binding-mock's export map has no types for its ESM entry (TS7016 under NodeNext):
// take the types from its CJS declarations and the value from the ESM build.
import type { MockBindingInterface, MockPortBinding } from './binding-types.ts';

const mockModuleName: string = '@serialport/binding-mock';
const { MockBinding } = (await import(mockModuleName)) as { MockBinding: MockBindingInterface };

const PATH = '/dev/serial/by-id/usb-Scanner_Test-if00';

function overUnplugBinding(opts: { suffix?: 'CR' | 'LF' | 'CRLF'; watch?: boolean } = {}) {
  const binding = new UnplugBinding();
  binding.createPort(PATH);
  const timers = new ManualTimers();
  const suffix = opts.suffix ?? 'CR';
  const term = suffix === 'CR' ? '\r' : suffix === 'LF' ? '\n' : '\r\n';
  const watch = opts.watch ? { intervalMs: 1_000, nodeState: (p: string) => binding.nodeState(p) } : false;
  const scanner = new SerialScanner({ path: PATH, baudRate: 115200, binding, timers, suffix, watch });
  return { binding, timers, scanner, term };
}

scannerContract('SerialScanner over UnplugBinding', () => {
  const { binding, timers, scanner, term } = overUnplugBinding({ suffix: 'CRLF' });
  return {
    scanner,
    sendScan: (text, symbology) => void binding.emitData(PATH, `${(symbology && aimForSymbology(symbology)) ?? ''}${text}${term}`),
    sendRawLine: (bytes) => void binding.emitData(PATH, Buffer.concat([bytes, Buffer.from(term)])),
    unplug: () => binding.unplug(PATH),
    replug: () => binding.replug(PATH),
    elapse: () => void timers.fireAll(),
    pendingTimers: () => timers.pending,
  };
});

// A hung-up tty that reads zero bytes: the stream alone would end silently and stay "ready".
scannerContract('SerialScanner over UnplugBinding, unplug as zero-byte reads', () => {
  const { binding, timers, scanner, term } = overUnplugBinding({ suffix: 'CR' });
  return {
    scanner,
    sendScan: (text, symbology) => void binding.emitData(PATH, `${(symbology && aimForSymbology(symbology)) ?? ''}${text}${term}`),
    sendRawLine: (bytes) => void binding.emitData(PATH, Buffer.concat([bytes, Buffer.from(term)])),
    unplug: () => binding.hangUp(PATH, 'zero'),
    replug: () => binding.replug(PATH),
    elapse: () => void timers.fireAll(),
    pendingTimers: () => timers.pending,
  };
});

// bindings-cpp spinning on those zero bytes: the read never settles; only the node watchdog sees
// the node vanish (unplug lets one watchdog interval pass).
scannerContract('SerialScanner over UnplugBinding, unplug as a read that never settles (node watchdog)', () => {
  const { binding, timers, scanner, term } = overUnplugBinding({ suffix: 'LF', watch: true });
  return {
    scanner,
    sendScan: (text, symbology) => void binding.emitData(PATH, `${(symbology && aimForSymbology(symbology)) ?? ''}${text}${term}`),
    sendRawLine: (bytes) => void binding.emitData(PATH, Buffer.concat([bytes, Buffer.from(term)])),
    unplug: () => {
      binding.hangUp(PATH, 'never');
      timers.fireAll();
    },
    replug: () => binding.replug(PATH),
    elapse: () => void timers.fireAll(),
    pendingTimers: () => timers.pending,
  };
});

/** MockBinding, remembering the ports it opened so tests can call port.emitData() after open. */
function recordingMockBinding() {
  const opened: MockPortBinding[] = [];
  const binding = {
    list: () => MockBinding.list(),
    open: async (o: Parameters<typeof MockBinding.open>[0]) => {
      const p = await MockBinding.open(o);
      opened.push(p);
      return p;
    },
  };
  return { binding, opened };
}

describe('SerialScanner over MockBinding', () => {
  afterEach(() => MockBinding.reset());

  it('reads scans split across chunks, strips the AIM prefix, opens with the configured baud rate', async () => {
    MockBinding.createPort(PATH, { echo: false, record: true });
    const { binding, opened } = recordingMockBinding();
    const timers = new ManualTimers();
    const scanner = new SerialScanner({ path: PATH, baudRate: 115200, binding, suffix: 'CRLF', timers });
    const scans: Scan[] = [];
    scanner.on('scan', (s) => scans.push(s));
    scanner.start();
    await nextEvent(scanner, 'status', (s) => s === 'ready');
    const port = opened[0]!;
    expect(port.openOptions.baudRate).toBe(115200);
    expect(port.openOptions.path).toBe(PATH);

    const done = nextEvent(scanner, 'scan', (s) => s.text === '4901234567894');
    port.emitData(']Q1KP1.');
    await turns();
    port.emitData('abc\r');
    await turns();
    port.emitData('\n]E04901234567894\r\n');
    await done;
    expect(scans).toEqual([
      { text: 'KP1.abc', symbology: 'qr', aimId: ']Q1' },
      { text: '4901234567894', symbology: 'ean-13', aimId: ']E0' },
    ]);
    await scanner.stop();
    expect(port.isOpen).toBe(false);
    expect(timers.pending).toBe(0);
  });

  it('survives seeded binary garbage on the wire and still reads the next scan', async () => {
    MockBinding.createPort(PATH, { echo: false, record: true });
    const { binding, opened } = recordingMockBinding();
    const scanner = new SerialScanner({ path: PATH, binding, timers: new ManualTimers() });
    const drops: unknown[] = [];
    scanner.on('dropped', (d) => drops.push(d));
    scanner.start();
    await nextEvent(scanner, 'status', (s) => s === 'ready');
    const rnd = seededRandom(7);
    for (let i = 0; i < 20; i++) opened[0]!.emitData(Buffer.from(rnd.bytes(500)));
    await turns();
    const ok = nextEvent(scanner, 'scan', (s) => s.text === 'ok');
    opened[0]!.emitData('\rok\r');
    await ok;
    expect(drops.length).toBeGreaterThan(0);
    await scanner.stop();
  });

  it('a missing device reports unavailable and retries with capped exponential backoff', async () => {
    const { binding } = recordingMockBinding(); // no createPort: open fails
    const timers = new ManualTimers();
    const scanner = new SerialScanner({ path: PATH, binding, timers, backoff: { initialMs: 100, maxMs: 1_000 } });
    const statuses: string[] = [];
    scanner.on('status', (s) => statuses.push(s));
    scanner.start();
    await nextEvent(scanner, 'status', (s) => s === 'unavailable');
    for (let i = 0; i < 6; i++) {
      expect(timers.fireAll()).toBe(1);
      await turns();
    }
    expect(timers.delays).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
    MockBinding.createPort(PATH, { echo: false, record: true });
    timers.fireAll();
    await nextEvent(scanner, 'status', (s) => s === 'ready');
    expect(statuses).toEqual(['unavailable', 'ready']);
    expect(scanner.reconnectAttempts).toBe(0);
    await scanner.stop();
    expect(timers.pending).toBe(0);
  });
});

describe('SerialScanner over UnplugBinding: reconnect details', () => {
  it('backoff restarts from the initial delay after a successful reconnect', async () => {
    const { binding, timers, scanner } = overUnplugBinding();
    scanner.start();
    await nextEvent(scanner, 'status', (s) => s === 'ready');
    binding.unplug(PATH);
    await nextEvent(scanner, 'status', (s) => s === 'unavailable');
    timers.fireAll(); // attempt fails: still unplugged
    await turns();
    binding.replug(PATH);
    timers.fireAll();
    await nextEvent(scanner, 'status', (s) => s === 'ready');
    binding.unplug(PATH);
    await nextEvent(scanner, 'status', (s) => s === 'unavailable');
    expect(timers.delays).toEqual([100, 200, 100]);
    expect(binding.stats(PATH)).toMatchObject({ opens: 2, failedOpens: 1, isOpen: false });
    await scanner.stop();
    expect(timers.pending).toBe(0);
  });

  it('a zero-byte read is an unplug: partial line reported incomplete, unavailable, reopen', async () => {
    const { binding, timers, scanner } = overUnplugBinding();
    const events: string[] = [];
    scanner.on('status', (s) => events.push(s));
    scanner.on('dropped', (d) => events.push(`dropped:${d.reason}:${d.length}`));
    scanner.start();
    await nextEvent(scanner, 'status', (s) => s === 'ready');
    binding.emitData(PATH, 'KP1.ab');
    await turns();
    binding.hangUp(PATH, 'zero');
    await nextEvent(scanner, 'status', (s) => s === 'unavailable');
    binding.replug(PATH);
    timers.fireAll();
    await nextEvent(scanner, 'status', (s) => s === 'ready');
    expect(events).toEqual(['ready', 'dropped:incomplete:6', 'unavailable', 'ready']);
    await scanner.stop();
  });

  it('the watchdog notices a node replaced under the same name (a quick replug) and reopens', async () => {
    const { binding, timers, scanner } = overUnplugBinding({ watch: true });
    const events: string[] = [];
    scanner.on('status', (s) => events.push(s));
    scanner.start();
    await nextEvent(scanner, 'status', (s) => s === 'ready');
    binding.hangUp(PATH, 'never');
    binding.replug(PATH); // back before the watchdog looked: same path, new node
    timers.fireAll(); // watchdog interval
    await nextEvent(scanner, 'status', (s) => s === 'unavailable');
    timers.fireAll(); // reconnect delay
    await nextEvent(scanner, 'status', (s) => s === 'ready');
    const scan = nextEvent(scanner, 'scan');
    binding.emitData(PATH, 'again\r');
    expect((await scan)[0].text).toBe('again');
    expect(events).toEqual(['ready', 'unavailable', 'ready']);
    expect(binding.stats(PATH)).toMatchObject({ opens: 2, isOpen: true });
    await scanner.stop();
    expect(timers.pending).toBe(0);
  });

  it('stop() during an open in flight closes the port once it lands and emits nothing', async () => {
    const { binding, timers, scanner } = overUnplugBinding();
    const events: string[] = [];
    scanner.on('status', (s) => events.push(s));
    scanner.start();
    await scanner.stop();
    await turns();
    expect(events).toEqual([]);
    expect(binding.stats(PATH).isOpen).toBe(false);
    expect(timers.pending).toBe(0);
  });

  it('uses the real timers by default and leaves none behind after stop', async () => {
    const binding = new UnplugBinding(); // no port: first open fails, a real 100 ms timer is pending
    const scanner = new SerialScanner({ path: PATH, binding });
    scanner.start();
    await nextEvent(scanner, 'status', (s) => s === 'unavailable');
    await scanner.stop(); // clears it; vitest would hang or report otherwise
    expect(scanner.status).toBeUndefined();
  });
});
