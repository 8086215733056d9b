// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { turns } from '../../../shared/testing/wait.ts';
import { nextEvent, scannerContract } from './scanner-contract.ts';
import { SimScanner } from './sim-scanner.ts';

scannerContract('SimScanner', () => {
  const scanner = new SimScanner();
  return {
    scanner,
    sendScan: (text, symbology) => void scanner.emitScan(text, symbology),
    sendRawLine: (bytes) => scanner.emitBytes(Buffer.concat([bytes, Buffer.from('\r')])),
    unplug: () => scanner.unplug(),
    replug: () => scanner.replug(),
    elapse: () => {},
    pendingTimers: () => 0,
  };
});

describe('SimScanner controls', () => {
  it('starts unavailable when created unplugged, then ready on replug', async () => {
    const s = new SimScanner({ unplugged: true });
    s.start();
    await nextEvent(s, 'status', (st) => st === 'unavailable');
    expect(s.emitScan('x')).toBe(false);
    s.replug();
    await nextEvent(s, 'status', (st) => st === 'ready');
    expect(s.emitScan('x')).toBe(true);
    await s.stop();
  });

  it('emitScan without a symbology has no symbology or aimId; unknown symbologies pass through', async () => {
    const s = new SimScanner();
    const scans: unknown[] = [];
    s.on('scan', (x) => scans.push(x));
    s.start();
    await nextEvent(s, 'status');
    s.emitScan('plain');
    s.emitScan('odd', 'maxicode');
    expect(scans).toEqual([{ text: 'plain' }, { text: 'odd', symbology: 'maxicode' }]);
    await s.stop();
  });

  it('emitScan refuses control characters as the framer would (dropped, not scanned)', async () => {
    const s = new SimScanner();
    const drops: unknown[] = [];
    s.on('dropped', (d) => drops.push(d));
    s.start();
    await nextEvent(s, 'status');
    expect(s.emitScan('a\nb')).toBe(false);
    expect(s.emitScan('')).toBe(false);
    expect(drops).toEqual([
      { length: 3, reason: 'non-printable' },
      { length: 0, reason: 'empty' },
    ]);
    await s.stop();
  });

  it('unplug mid-line reports the partial line as incomplete', async () => {
    const s = new SimScanner();
    const drops: unknown[] = [];
    s.on('dropped', (d) => drops.push(d));
    s.start();
    await nextEvent(s, 'status');
    s.emitBytes(']Q1KP1.partial');
    s.unplug();
    await turns();
    expect(drops).toEqual([{ length: 14, reason: 'incomplete' }]);
    await s.stop();
  });
});
