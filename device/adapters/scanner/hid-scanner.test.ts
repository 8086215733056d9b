// SPDX-License-Identifier: Apache-2.0
// HidScanner on a faithful fake evdev node: a real FIFO carrying real input_event records.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeEventDevice } from './fake-event-device.ts';
import { HidScanner } from './hid-scanner.ts';
import { EV_KEY, EV_SYN, KEY_PRESS, KEY_RELEASE, KEY_REPEAT, encodeInputEvent } from './input-event.ts';
import { aimForSymbology } from './line-framer.ts';
import { ManualTimers } from './manual-timers.ts';
import { turns } from '../../../shared/testing/wait.ts';
import { nextEvent, scannerContract } from './scanner-contract.ts';
import type { Scan } from './scanner.ts';
import { KEY } from './us-keymap.ts';

const dirs: string[] = [];
function fakeDevice(size: 16 | 24 = 24): { dev: FakeEventDevice; timers: ManualTimers; scanner: HidScanner } {
  const dir = mkdtempSync(join(tmpdir(), 'kp-hid-'));
  dirs.push(dir);
  const dev = new FakeEventDevice(join(dir, 'usb-Scanner_Test-event-kbd'), size);
  const timers = new ManualTimers();
  const scanner = new HidScanner({ path: dev.path, timers, eventSize: size, watch: { intervalMs: 1_000 } });
  return { dev, timers, scanner };
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

scannerContract('HidScanner over a FIFO of input_event records', () => {
  const { dev, timers, scanner } = fakeDevice();
  dev.plug();
  return {
    scanner,
    sendScan: (text, symbology) => dev.type(`${(symbology && aimForSymbology(symbology)) ?? ''}${text}`),
    // A keyboard cannot send arbitrary bytes: printable ASCII is typed, anything else is a key
    // with no character, which the keymap turns into an invalid byte, as noise would be.
    sendRawLine: (bytes) => dev.type(String.fromCharCode(...[...bytes].map((b) => (b >= 0x20 && b < 0x7f ? b : 0x100)))),
    unplug: () => void dev.unplug(),
    replug: () => dev.plug(),
    elapse: () => void timers.fireAll(),
    pendingTimers: () => timers.pending,
    dispose: () => void dev.unplug(),
  };
});

describe('HidScanner', () => {
  it('decodes shift, caps lock, keypad digits and keypad Enter; ignores autorepeat and scan codes', async () => {
    const { dev, scanner } = fakeDevice();
    dev.plug();
    const scans: Scan[] = [];
    scanner.on('scan', (s) => scans.push(s));
    scanner.start();
    await nextEvent(scanner, 'status', (s) => s === 'ready');
    const done = nextEvent(scanner, 'scan', (s) => s.text === '31 0_A');
    dev.type(']Q1KP1.Ab-_9zZ~');
    dev.type('4901234567894', { code: KEY.KPENTER });
    dev.keys([
      { code: KEY.CAPSLOCK, value: KEY_PRESS },
      { code: KEY.CAPSLOCK, value: KEY_RELEASE },
      { code: 30, value: KEY_PRESS },
      { code: 30, value: KEY_REPEAT },
      { code: 30, value: KEY_REPEAT },
      { code: 30, value: KEY_RELEASE }, // 'A' once
      { code: KEY.LEFTSHIFT, value: KEY_PRESS },
      { code: 30, value: KEY_PRESS },
      { code: 30, value: KEY_RELEASE },
      { code: KEY.LEFTSHIFT, value: KEY_RELEASE }, // 'a'
      { code: KEY.CAPSLOCK, value: KEY_PRESS },
      { code: KEY.CAPSLOCK, value: KEY_RELEASE },
      { code: KEY.ENTER, value: KEY_PRESS },
      { code: KEY.ENTER, value: KEY_RELEASE },
      { code: 81, value: KEY_PRESS },
      { code: 81, value: KEY_RELEASE },
      { code: 79, value: KEY_PRESS },
      { code: 79, value: KEY_RELEASE }, // keypad 3 1
      { code: 57, value: KEY_PRESS },
      { code: 57, value: KEY_RELEASE },
      { code: 82, value: KEY_PRESS },
      { code: 82, value: KEY_RELEASE }, // space, keypad 0
      { code: KEY.RIGHTSHIFT, value: KEY_PRESS },
      { code: 12, value: KEY_PRESS },
      { code: 12, value: KEY_RELEASE },
      { code: 30, value: KEY_PRESS },
      { code: 30, value: KEY_RELEASE },
      { code: KEY.RIGHTSHIFT, value: KEY_RELEASE },
      { code: KEY.KPENTER, value: KEY_PRESS },
      { code: KEY.KPENTER, value: KEY_RELEASE },
    ]);
    await done;
    expect(scans).toEqual([
      { text: 'KP1.Ab-_9zZ~', symbology: 'qr', aimId: ']Q1' },
      { text: '4901234567894' },
      { text: 'Aa' },
      { text: '31 0_A' },
    ]);
    await scanner.stop();
    await dev.unplug();
  });

  it('drops lines with control keys (Tab, Ctrl+]) or keys without a character, by reason, never the text', async () => {
    const { dev, scanner } = fakeDevice();
    dev.plug();
    const drops: unknown[] = [];
    scanner.on('dropped', (d) => drops.push(d));
    scanner.start();
    await nextEvent(scanner, 'status', (s) => s === 'ready');
    const ok = nextEvent(scanner, 'scan', (s) => s.text === 'ok');
    dev.keys([
      { code: 30, value: KEY_PRESS },
      { code: KEY.TAB, value: KEY_PRESS },
      { code: KEY.ENTER, value: KEY_PRESS },
    ]);
    dev.keys([
      { code: KEY.LEFTCTRL, value: KEY_PRESS },
      { code: 27, value: KEY_PRESS },
      { code: KEY.LEFTCTRL, value: KEY_RELEASE },
      { code: 30, value: KEY_PRESS },
      { code: KEY.ENTER, value: KEY_PRESS },
    ]);
    dev.keys([
      { code: KEY.F1, value: KEY_PRESS },
      { code: KEY.ENTER, value: KEY_PRESS },
    ]);
    dev.type('ok');
    await ok;
    expect(drops).toEqual([
      { length: 2, reason: 'non-printable' },
      { length: 2, reason: 'non-printable' },
      { length: 1, reason: 'invalid-utf8' },
    ]);
    await scanner.stop();
    await dev.unplug();
  });

  it('reads 16-byte records (32-bit Linux) and records split across reads', async () => {
    const { dev, scanner } = fakeDevice(16);
    dev.plug();
    scanner.start();
    await nextEvent(scanner, 'status', (s) => s === 'ready');
    const scan = nextEvent(scanner, 'scan');
    const rec = (code: number, value: number) =>
      Buffer.concat([encodeInputEvent({ type: EV_KEY, code, value }, 16), encodeInputEvent({ type: EV_SYN, code: 0, value: 0 }, 16)]);
    const all = Buffer.concat([rec(2, 1), rec(2, 0), rec(3, 1), rec(3, 0), rec(KEY.ENTER, 1), rec(KEY.ENTER, 0)]);
    dev.bytes(all.subarray(0, 21));
    await dev.drained();
    await turns();
    dev.bytes(all.subarray(21));
    expect((await scan)[0].text).toBe('12');
    await scanner.stop();
    await dev.unplug();
  });

  it('unplug mid-code: the partial code is reported incomplete, a held shift is forgotten, replug reads again', async () => {
    const { dev, timers, scanner } = fakeDevice();
    dev.plug();
    const events: string[] = [];
    scanner.on('status', (s) => events.push(s));
    scanner.on('dropped', (d) => events.push(`dropped:${d.reason}:${d.length}`));
    scanner.on('scan', (s) => events.push(`scan:${s.text}`));
    scanner.start();
    await nextEvent(scanner, 'status', (s) => s === 'ready');
    dev.keys([
      { code: KEY.LEFTSHIFT, value: KEY_PRESS },
      { code: 37, value: KEY_PRESS },
      { code: 37, value: KEY_RELEASE },
    ]); // 'K', shift still held
    const gone = nextEvent(scanner, 'status', (s) => s === 'unavailable');
    await dev.unplug(); // end of file
    await gone;
    timers.fireAll(); // reopen fails: no node
    await vi.waitFor(() => expect(timers.pending).toBe(1), { timeout: 5_000, interval: 5 }); // the next backoff is set
    dev.plug();
    timers.fireAll();
    await nextEvent(scanner, 'status', (s) => s === 'ready');
    const scan = nextEvent(scanner, 'scan');
    dev.type('kp');
    await scan;
    expect(events).toEqual(['ready', 'dropped:incomplete:1', 'unavailable', 'ready', 'scan:kp']);
    await scanner.stop();
    expect(timers.pending).toBe(0);
    await dev.unplug();
  });

  it('the node vanishing without end of file is noticed by the watchdog', async () => {
    const { dev, timers, scanner } = fakeDevice();
    dev.plug();
    scanner.start();
    await nextEvent(scanner, 'status', (s) => s === 'ready');
    dev.vanish(); // the writer stays open: the reader sees nothing
    await turns();
    expect(scanner.status).toBe('ready');
    const gone = nextEvent(scanner, 'status', (s) => s === 'unavailable');
    timers.fireAll(); // watchdog interval
    await gone;
    await scanner.stop();
    expect(timers.pending).toBe(0);
    await dev.unplug();
  });

  it('a missing node reports unavailable and is retried with backoff', async () => {
    const { timers, scanner } = fakeDevice();
    scanner.start();
    await nextEvent(scanner, 'status', (s) => s === 'unavailable');
    timers.fireAll();
    // The reopen fails on the thread pool: wait for its second backoff (bounded, load-proof).
    await vi.waitFor(() => expect(timers.delays).toEqual([100, 200]), { timeout: 5_000, interval: 5 });
    await scanner.stop();
    expect(timers.pending).toBe(0);
  });
});
