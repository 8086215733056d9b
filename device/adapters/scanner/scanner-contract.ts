// SPDX-License-Identifier: Apache-2.0
// The contract every Scanner adapter passes (run from serial-scanner.test.ts and
// sim-scanner.test.ts), in the style of MQTT.js abstractStoreTest. See scanner.ts for the
// failure semantics checked here.
import { describe, expect, it } from 'vitest';
import { nextEvent as sharedNextEvent, turns, type WaitOptions } from '../../../shared/testing/wait.ts';
import type { Scanner, ScannerEvents } from './scanner.ts';

export interface ScannerUnderTest {
  scanner: Scanner;
  /** The device sends one scan (the harness adds AIM prefix and suffix as the device would). */
  sendScan(text: string, symbology?: string): void;
  /** The device sends one line of raw bytes (the harness adds the configured suffix). */
  sendRawLine(bytes: Uint8Array): void;
  unplug(): void;
  replug(): void;
  /** Lets pending reconnect delays elapse (fires injected timers). */
  elapse(): void;
  /** Timers the adapter left pending. */
  pendingTimers(): number;
  /** Releases harness resources (after scanner.stop()). */
  dispose?(): void;
}

/** The shared nextEvent, typed by the scanner's events (bounded by WAIT_MS of real time). */
export function nextEvent<E extends keyof ScannerEvents>(
  scanner: Scanner,
  event: E,
  pred?: (...args: ScannerEvents[E]) => boolean,
  o?: Partial<WaitOptions>,
): Promise<ScannerEvents[E]> {
  return sharedNextEvent<ScannerEvents, E>(scanner, event, pred, o);
}

function record(scanner: Scanner): { events: string[] } {
  const events: string[] = [];
  scanner.on('status', (s) => events.push(`status:${s}`));
  scanner.on('scan', (s) => events.push(`scan:${s.text}`));
  scanner.on('dropped', (d) => events.push(`dropped:${d.reason}`));
  return { events };
}

export function scannerContract(name: string, make: () => ScannerUnderTest | Promise<ScannerUnderTest>): void {
  describe(`Scanner contract: ${name}`, () => {
    it('starts asynchronously, reports ready, and delivers a scan with its symbology', async () => {
      const t = await make();
      const { events } = record(t.scanner);
      const ready = nextEvent(t.scanner, 'status', (s) => s === 'ready');
      t.scanner.start();
      expect(events).toEqual([]); // never synchronously
      await ready;
      expect(t.scanner.status).toBe('ready');
      const scan = nextEvent(t.scanner, 'scan');
      t.sendScan('KP1.abc-123', 'qr');
      const [s] = await scan;
      expect(s).toEqual({ text: 'KP1.abc-123', symbology: 'qr', aimId: ']Q1' });
      await t.scanner.stop();
      t.dispose?.();
    });

    it('start() twice is a no-op', async () => {
      const t = await make();
      const { events } = record(t.scanner);
      t.scanner.start();
      t.scanner.start();
      await nextEvent(t.scanner, 'status');
      await turns();
      expect(events).toEqual(['status:ready']);
      await t.scanner.stop();
      t.dispose?.();
    });

    it('drops an over-long line and garbage with a reason and length, never the text, and keeps working', async () => {
      const t = await make();
      t.scanner.start();
      await nextEvent(t.scanner, 'status', (s) => s === 'ready');
      const drops: unknown[] = [];
      t.scanner.on('dropped', (d) => drops.push(d));
      const scan = nextEvent(t.scanner, 'scan');
      t.sendScan('X'.repeat(600)); // over CODE_TEXT_MAX
      t.sendRawLine(Uint8Array.from([0xff, 0xfe, 0x00, 0x80]));
      t.sendScan('4901234567894', 'ean-13');
      const [s] = await scan;
      expect(s.text).toBe('4901234567894');
      expect(s.symbology).toBe('ean-13');
      expect(drops).toEqual([
        { length: expect.any(Number), reason: 'too-long' },
        { length: 4, reason: 'invalid-utf8' },
      ]);
      expect(JSON.stringify(drops)).not.toContain('XXX');
      await t.scanner.stop();
      t.dispose?.();
    });

    it('unplug -> unavailable; stays unavailable while unplugged; replug -> ready; scans again', async () => {
      const t = await make();
      const { events } = record(t.scanner);
      t.scanner.start();
      await nextEvent(t.scanner, 'status', (s) => s === 'ready');

      const unavailable = nextEvent(t.scanner, 'status', (s) => s === 'unavailable');
      t.unplug();
      await unavailable;
      expect(t.scanner.status).toBe('unavailable');

      // Backoff elapses a few times while the cable is out: no flapping.
      for (let i = 0; i < 3; i++) {
        t.elapse();
        await turns();
      }
      expect(t.scanner.status).toBe('unavailable');

      const ready = nextEvent(t.scanner, 'status', (s) => s === 'ready');
      t.replug();
      // The reopen is real I/O racing the backoff timer: if an attempt comes too early it sets the
      // next backoff, so keep elapsing timers until the scanner is back (bounded by nextEvent).
      const pump = setInterval(() => t.elapse(), 20);
      try {
        await ready;
      } finally {
        clearInterval(pump);
      }
      const scan = nextEvent(t.scanner, 'scan');
      t.sendScan('after-replug');
      expect((await scan)[0].text).toBe('after-replug');
      expect(events).toEqual(['status:ready', 'status:unavailable', 'status:ready', 'scan:after-replug']);
      await t.scanner.stop();
      t.dispose?.();
    });

    it('stop is clean: no events afterwards, no timers left, idempotent, restartable', async () => {
      const t = await make();
      t.scanner.start();
      await nextEvent(t.scanner, 'status', (s) => s === 'ready');
      const unavailable = nextEvent(t.scanner, 'status', (s) => s === 'unavailable');
      t.unplug(); // may emit synchronously (sim) or later (serial)
      await unavailable;
      await t.scanner.stop(); // a reconnect is pending here
      await t.scanner.stop();
      expect(t.pendingTimers()).toBe(0);
      expect(t.scanner.status).toBeUndefined();

      const { events } = record(t.scanner);
      t.replug();
      t.elapse();
      await turns();
      t.sendScan('ignored');
      await turns();
      expect(events).toEqual([]);

      t.scanner.start();
      await nextEvent(t.scanner, 'status', (s) => s === 'ready');
      await t.scanner.stop();
      expect(t.pendingTimers()).toBe(0);
      await turns();
      expect(events).toEqual(['status:ready']);
      t.dispose?.();
    });

    it('stop while ready closes the device', async () => {
      const t = await make();
      t.scanner.start();
      await nextEvent(t.scanner, 'status', (s) => s === 'ready');
      await t.scanner.stop();
      const { events } = record(t.scanner);
      t.sendScan('late');
      await turns();
      expect(events).toEqual([]);
      expect(t.pendingTimers()).toBe(0);
      t.dispose?.();
    });
  });
}
