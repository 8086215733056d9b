// SPDX-License-Identifier: Apache-2.0
// The /dev/lcd adapter against a named pipe read into a model of the kernel's charlcd driver
// (charlcd-fifo.ts, charlcd-model.ts): the tests read the glass the driver would produce.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualTimers } from '../../../timers.ts';
import { CHARLCD_DEFAULTS, createCharlcdDisplay, type CharlcdDisplay } from './charlcd-display.ts';
import { charlcdGoto } from './charlcd-escapes.ts';
import { FifoCharlcd } from './charlcd-fifo.ts';
import { CharlcdModel } from './charlcd-model.ts';
import { lcdContract } from './lcd-contract.ts';
import { lcdLines } from './lcd-lines.ts';
import { blankLines } from './lcd-screen.ts';
import { SCREENS, viewOf } from './lcd-test-views.ts';
import { eventually } from '../../../../shared/testing/wait.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Rig {
  lcd: CharlcdDisplay;
  fifo: FifoCharlcd;
  timers: ManualTimers;
  /** Due draws happen and every byte written has reached the model. */
  flush(): Promise<void>;
}

async function rig(o: { plugged?: boolean; leftover?: string[] } = {}): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'kp-charlcd-'));
  const fifo = new FifoCharlcd(join(dir, 'lcd'), 20, 4, o.leftover);
  if (o.plugged) fifo.plugIn();
  const timers = new ManualTimers();
  const lcd = await createCharlcdDisplay({ path: fifo.path, timers });
  cleanups.push(async () => {
    await lcd.close();
    fifo.close();
    await rm(dir, { recursive: true, force: true });
  });
  const delivered = () => !lcd.busy && fifo.received === lcd.bytesWritten;
  const flush = async () => {
    for (let round = 0; round < 5; round++) {
      timers.advance(CHARLCD_DEFAULTS.drawIntervalMs);
      await eventually(() => delivered() || lcd.state !== 'ready', { what: 'the LCD writes to reach the device' });
      await new Promise<void>((r) => setImmediate(r));
      if (delivered()) return;
    }
  };
  if (o.plugged) await eventually(() => lcd.state === 'ready' && delivered(), { what: 'the LCD to be ready' });
  return { lcd, fifo, timers, flush };
}

lcdContract('CharlcdDisplay (/dev/lcd on a named pipe, kernel charlcd model)', async () => {
  const r = await rig();
  return {
    screen: r.lcd,
    glass: () => r.fifo.model.glass(),
    flush: r.flush,
    connect: async () => {
      r.fifo.plugIn();
      r.timers.advance(CHARLCD_DEFAULTS.retryInitialMs);
      await eventually(() => r.lcd.state === 'ready', { what: 'the LCD to be ready' });
    },
    fail: async () => {
      r.fifo.unplug();
      r.timers.advance(CHARLCD_DEFAULTS.probeIntervalMs);
      await eventually(() => r.lcd.state === 'fault', { what: 'the LCD to notice the device is gone' });
    },
    recover: async () => {
      r.fifo.plugIn();
      r.timers.advance(CHARLCD_DEFAULTS.retryMaxMs);
      await eventually(() => r.lcd.state === 'ready', { what: 'the LCD to be ready again' });
    },
  };
});

describe('CharlcdDisplay on /dev/lcd', () => {
  it('sets the display up (cursor and blink off, backlight on), clears what was left, and writes ¥ as ROM 0x5C', async () => {
    const { lcd, fifo, flush } = await rig({ plugged: true, leftover: ['Linux-6.12.25+rpt', 'old kiosk text'] });
    const m = fifo.model;
    expect(m.glass()).toEqual(blankLines(20, 4));
    expect([m.display, m.cursor, m.blink, m.backlight]).toEqual([true, false, false, true]);
    const view = viewOf(SCREENS.awaitingCode, { offline: true, storedCount: 3 });
    lcd.render(view);
    await flush();
    expect(m.glass()).toEqual(['Pay ¥1,200          ', 'Scan your payment   ', 'code.               ', '3 stored     OFFLINE']);
    expect(m.glass()).toEqual(lcdLines(view));
    expect(lcd.lines).toEqual(m.glass());
  });

  it('rewrites only the cells that changed, each run placed with a goto', async () => {
    const { lcd, fifo, flush } = await rig({ plugged: true });
    lcd.render(viewOf(SCREENS.basket));
    await flush();
    fifo.model.resetCounts();
    const before = lcd.bytesWritten;
    lcd.render(viewOf(SCREENS.basket, { offline: true }));
    await flush();
    expect(fifo.model.charsWritten).toEqual([0, 0, 0, 'OFFLINE'.length]);
    expect(fifo.model.clears).toBe(0);
    expect(lcd.bytesWritten - before).toBe(charlcdGoto(13, 3).length + 'OFFLINE'.length);
    lcd.render(viewOf(SCREENS.basket, { offline: true }));
    await flush();
    expect(lcd.bytesWritten - before).toBe(charlcdGoto(13, 3).length + 'OFFLINE'.length);
  });

  it('starts without the device (fault), retries with capped backoff, never creates the path', async () => {
    const { lcd, fifo, timers } = await rig();
    expect(lcd.state).toBe('fault');
    expect(lcd.failures).toBe(1);
    timers.advance(CHARLCD_DEFAULTS.retryInitialMs);
    await eventually(() => lcd.failures === 2, { what: 'the second attempt' });
    timers.advance(CHARLCD_DEFAULTS.retryInitialMs * 2); // the backoff doubled
    await eventually(() => lcd.failures === 3, { what: 'the third attempt' });
    expect(existsSync(fifo.path)).toBe(false);
    fifo.plugIn();
    timers.advance(CHARLCD_DEFAULTS.retryInitialMs * 4);
    await eventually(() => lcd.state === 'ready', { what: 'the LCD to be ready' });
    expect(lcd.failures).toBe(0);
  });

  it('refuses a regular file at the device path (left by an `echo > /dev/lcd` before the overlay)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kp-charlcd-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'lcd');
    await writeFile(path, '');
    const lcd = await createCharlcdDisplay({ path, timers: new ManualTimers() });
    expect(lcd.state).toBe('fault');
    await lcd.close();
  });

  it('a write failing (the reader gone: EPIPE) is a fault; the next device gets the whole view', async () => {
    const { lcd, fifo, timers, flush } = await rig({ plugged: true });
    lcd.render(viewOf(SCREENS.basket));
    await flush();
    fifo.unplug();
    lcd.render(viewOf(SCREENS.approved));
    timers.advance(CHARLCD_DEFAULTS.drawIntervalMs);
    await eventually(() => lcd.state === 'fault', { what: 'the failed write to make a fault' });
    const fresh = new FifoCharlcd(fifo.path, 20, 4, ['stale']);
    fresh.plugIn();
    cleanups.push(async () => fresh.close());
    timers.advance(CHARLCD_DEFAULTS.retryInitialMs);
    await eventually(() => lcd.state === 'ready', { what: 'the LCD to be ready again' });
    timers.advance(CHARLCD_DEFAULTS.drawIntervalMs);
    await eventually(() => !lcd.busy && fresh.received === lcd.bytesWritten - fifo.received, { what: 'the redraw' });
    expect(fresh.model.glass()).toEqual(lcdLines(viewOf(SCREENS.approved)));
  });
});

describe('the charlcd model (what the fake device does with bytes)', () => {
  const feed = (m: CharlcdModel, s: string) => m.feed(Buffer.from(s, 'latin1'));

  it('clips at the last column instead of wrapping, and \\n blanks the rest of the row', () => {
    const m = new CharlcdModel(20, 4, ['', 'xxxxxxxxxxxxxxxxxxxx']);
    feed(m, `${'a'.repeat(25)}\nb`);
    expect(m.glass()[0]).toBe('a'.repeat(20));
    expect(m.glass()[1]).toBe('b'.padEnd(20, 'x'));
    expect(m.glass()[2]).toBe(' '.repeat(20)); // an HD44780 alone would have run on into row 2
    feed(m, '\n\n\nc'); // rows wrap around: 1 -> 2 -> 3 -> 0
    expect(m.glass()[0]).toBe('c'.padEnd(20, 'a'));
  });

  it('goto: 0-based, past the end lands on the last cell, rows use the low two bits, invalid is ignored', () => {
    const m = new CharlcdModel();
    feed(m, '\x1b[Lx3y2;A\x1b[Lx99y0;B\x1b[Ly5x0;C\x1b[Lx;D');
    // B: the goto lands on the last cell but the driver's column is 99, so the byte is dropped.
    expect(m.glass()).toEqual([' '.repeat(20), 'CD'.padEnd(20), '   A'.padEnd(20), ' '.repeat(20)]);
  });

  it('an unknown escape swallows up to 24 bytes of the text after it; \\n aborts an escape', () => {
    const m = new CharlcdModel();
    feed(m, '\x1b[1mHello, world! and more text');
    expect(m.glass()[0]).toBe('e text'.padEnd(20)); // "[1mHello, world! and mor" went into the escape
    feed(m, '\f\x1b[LZab\nok');
    expect(m.glass().slice(0, 2)).toEqual([' '.repeat(20), 'ok'.padEnd(20)]);
  });

  it('clear, kill to end of line, init (cursor and blink back on), backlight', () => {
    const m = new CharlcdModel();
    feed(m, '\x1b[Lc\x1b[Lb\x1b[L+hello world\r\x1b[Lx5y0;\x1b[Lk!');
    expect(m.glass()[0]).toBe('hello!'.padEnd(20));
    expect([m.cursor, m.blink, m.backlight]).toEqual([false, false, true]);
    feed(m, '\x1b[LI');
    expect([m.cursor, m.blink, m.glass()[0]]).toEqual([true, true, ' '.repeat(20)]);
    feed(m, 'x\x1b[2J');
    expect(m.glass()[0]).toBe(' '.repeat(20));
  });

  it('bytes are ROM codes: 0x5C is ¥, and ¥ written as UTF-8 shows two wrong cells', () => {
    const m = new CharlcdModel();
    m.feed(Buffer.from([0x5c]));
    feed(m, '\n');
    m.feed(Buffer.from('¥', 'utf8'));
    expect(m.glass()[0]?.[0]).toBe('¥');
    expect(m.glass()[1]?.slice(0, 2)).toBe('\uFFFD\uFFFD');
  });
});
