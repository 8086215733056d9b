// SPDX-License-Identifier: Apache-2.0
// SerialScanner with the real native binding on real ttys (socat ptys): the unplugs that
// @serialport/bindings-cpp alone misses. Real time, so every wait is bounded and named.
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nextEvent } from './scanner-contract.ts';
import type { ScannerStatus } from './scanner.ts';
import { SerialScanner } from './serial-scanner.ts';
import { SocatPty } from './socat-pty.ts';

// Both layers alone must notice: our read (watchdog off) and the node watchdog on top.
describe.each([
  { name: 'read fix alone', watch: false as const },
  { name: 'with the node watchdog', watch: { intervalMs: 50 } },
])('SerialScanner on a real pty (native binding, $name)', ({ watch }) => {
  let dir: string;
  let pty: SocatPty;
  let scanner: SerialScanner;
  let writer: number | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kp-pty-'));
    pty = new SocatPty(join(dir, 'scanner'), join(dir, 'kiosk'));
    // Small real delays so a test takes milliseconds.
    scanner = new SerialScanner({ path: pty.kiosk, baudRate: 115200, backoff: { initialMs: 10, maxMs: 100 }, watch });
  });

  afterEach(async () => {
    await scanner.stop();
    closeWriter();
    pty.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The scanner's side stays open, so socat does not stop on its own between scans. */
  function openWriter(): void {
    writer = openSync(pty.device, constants.O_RDWR | constants.O_NOCTTY);
  }
  function closeWriter(): void {
    if (writer !== undefined) closeSync(writer);
    writer = undefined;
  }
  function send(text: string): void {
    writeSync(writer!, `${text}\r`);
  }
  async function plugIn(): Promise<void> {
    await pty.start();
    openWriter();
  }
  function pull(): void {
    pty.kill();
    closeWriter();
  }
  async function waitStatus(s: ScannerStatus, why: string): Promise<void> {
    if (scanner.status === s) return;
    await nextEvent(scanner, 'status', (x) => x === s, { what: `'${s}' ${why}` }).catch((e: Error) => {
      throw new Error(`${e.message} (status is ${scanner.status})`);
    });
  }

  it('an idle hang-up (nothing read yet) reports unavailable', async () => {
    await plugIn();
    scanner.start();
    await waitStatus('ready', 'after opening the pty');
    pull();
    await waitStatus('unavailable', 'after an idle hang-up');
  });

  it('a hang-up within milliseconds of a scan reports unavailable (repeated)', async () => {
    scanner.start();
    for (let round = 0; round < 6; round++) {
      await plugIn();
      await waitStatus('ready', `before round ${round}`);
      send('4901234567894');
      pull(); // at once: the kiosk side may be mid-read or just past a read
      await waitStatus('unavailable', `after a hang-up right after a scan (round ${round})`);
    }
  });

  it('reopens when the node returns (same link) and reads a scan', async () => {
    await plugIn();
    scanner.start();
    await waitStatus('ready', 'at first');
    const first = nextEvent(scanner, 'scan');
    send(']Q1KP1.abc');
    expect((await first)[0]).toEqual({ text: 'KP1.abc', symbology: 'qr', aimId: ']Q1' });
    send('just before the hang-up');
    pull();
    await waitStatus('unavailable', 'after the hang-up');
    await plugIn();
    await waitStatus('ready', 'after the node came back');
    const scan = nextEvent(scanner, 'scan', (s) => s.text === 'second', { what: "the rescanned 'second'" });
    // The open may still flush the tty's input just after 'ready' (a loaded machine stretches that
    // moment); a person rescans, and so does the test, until the scan arrives or the wait's bound passes.
    send('second');
    const rescan = setInterval(() => send('second'), 500);
    try {
      await scan;
    } finally {
      clearInterval(rescan);
    }
  });
});
