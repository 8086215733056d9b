// SPDX-License-Identifier: Apache-2.0
// LcdDisplay with johnny-five over mock-firmata: the I2C writes johnny-five makes are fed to an
// HD44780 model (hd44780-model.ts), so the tests read the glass, not the calls.
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ManualTimers } from '../../../timers.ts';
import type { IoConnection } from './firmata-link.ts';
import { Hd44780Model } from './hd44780-model.ts';
import { lcdContract } from './lcd-contract.ts';
import { createLcdDisplay, LCD_DEFAULTS, LcdOptionsError, type LcdDisplay, type LcdDisplayOptions } from './lcd-display.ts';
import { lcdLines } from './lcd-lines.ts';
import { blankLines } from './lcd-screen.ts';
import { SCREENS, viewOf } from './lcd-test-views.ts';
import { turns } from '../../../../shared/testing/wait.ts';

const require = createRequire(import.meta.url);
interface MockIo extends EventEmitter {
  name: string;
  pending?: number;
  i2cWrite(address: number, bytes: number | number[]): void;
}
const { Firmata: MockFirmata } = require('mock-firmata') as { Firmata: new () => MockIo };
const { Board } = require('johnny-five') as { Board: { cache: unknown[] } };

const BACKPACK = 0x27; // johnny-five's default address for a PCF8574 backpack

/** A mock Firmata IO whose I2C writes land on `model`. */
function mockIo(model: Hd44780Model, address = BACKPACK): MockIo {
  const io = new MockFirmata();
  io.i2cWrite = (addr, bytes) => model.i2cWrite(address, addr, bytes);
  return io;
}

function ready(io: MockIo): void {
  io.emit('connect');
  io.emit('ready');
}

interface World {
  lcd: LcdDisplay;
  model: Hd44780Model;
  timers: ManualTimers;
  ios: MockIo[];
  released: number;
  current(): MockIo;
  flush(): Promise<void>;
}

/** An LcdDisplay that opens a fresh mock IO per attempt, all wired to one LCD model. */
async function world(opts: Partial<LcdDisplayOptions> = {}): Promise<World> {
  const model = new Hd44780Model();
  const timers = new ManualTimers();
  const ios: MockIo[] = [];
  const w = {
    model,
    timers,
    ios,
    released: 0,
    current: () => ios[ios.length - 1]!,
    flush: async () => {
      await turns();
      timers.advance(LCD_DEFAULTS.drawIntervalMs);
      await turns();
    },
  } as World;
  const openIo = (): IoConnection => {
    const io = mockIo(model);
    ios.push(io);
    return { io, release: async () => void w.released++ };
  };
  w.lcd = await createLcdDisplay({ openIo, timers, ...opts });
  return w;
}

lcdContract('LcdDisplay (johnny-five over mock-firmata)', async () => {
  const w = await world();
  return {
    screen: w.lcd,
    glass: () => w.model.glass(),
    flush: w.flush,
    connect: async () => {
      ready(w.current());
      await turns();
    },
    fail: async () => {
      w.current().emit('error', new Error('device reports an I/O error'));
      await turns();
    },
    recover: async () => {
      w.timers.advance(LCD_DEFAULTS.retryInitialMs);
      await turns();
      ready(w.current());
      await turns();
    },
  };
});

describe('LcdDisplay over mock-firmata', () => {
  it('writes the four lines to the LCD through the backpack, ¥ as ROM code 0x5C', async () => {
    const model = new Hd44780Model();
    const io = mockIo(model);
    const lcd = await createLcdDisplay({ io, timers: new ManualTimers() });
    ready(io);
    await turns();
    const view = viewOf(SCREENS.awaitingCode, { offline: true, storedCount: 3 });
    lcd.render(view);
    await turns();
    expect(model.glass()).toEqual(['Pay ¥1,200          ', 'Scan your payment   ', 'code.               ', '3 stored     OFFLINE']);
    expect(model.glass()).toEqual(lcdLines(view));
    expect(model.backlight).toBe(true);
    await lcd.close();
  });

  it('uses the configured I2C address', async () => {
    const model = new Hd44780Model();
    const io = mockIo(model, 0x3f);
    const lcd = await createLcdDisplay({ io, address: 0x3f, timers: new ManualTimers() });
    ready(io);
    await turns();
    lcd.render(viewOf(SCREENS.idle));
    await turns();
    expect(model.glass()[0]).toBe('Welcome             ');
    await lcd.close();
  });

  it('rewrites only the cells of rows that changed', async () => {
    const w = await world();
    ready(w.current());
    await turns();
    w.lcd.render(viewOf(SCREENS.basket));
    await w.flush();
    w.model.resetCounts();
    w.lcd.render(viewOf(SCREENS.basket, { offline: true }));
    await w.flush();
    expect(w.model.charsWritten).toEqual([0, 0, 0, 'OFFLINE'.length]);
    expect(w.model.clears).toBe(0);
    w.model.resetCounts();
    w.lcd.render(viewOf(SCREENS.basket, { offline: true }));
    await w.flush();
    expect(w.model.charsWritten).toEqual([0, 0, 0, 0]);
    await w.lcd.close();
  });

  it('draws at most once per interval; renders in between are coalesced', async () => {
    const w = await world();
    ready(w.current());
    await turns();
    w.lcd.render(viewOf(SCREENS.idle));
    await turns(); // first draw: at once
    w.model.resetCounts();
    w.lcd.render(viewOf(SCREENS.basket));
    w.lcd.render(viewOf(SCREENS.awaitingCode));
    await turns();
    expect(w.model.charsWritten).toEqual([0, 0, 0, 0]); // inside the interval: nothing yet
    w.timers.advance(LCD_DEFAULTS.drawIntervalMs);
    await turns();
    expect(w.model.glass()).toEqual(lcdLines(viewOf(SCREENS.awaitingCode)));
    await w.lcd.close();
  });

  it('waits while Firmata writes back up, then draws', async () => {
    const w = await world();
    const io = w.current();
    ready(io);
    await turns();
    io.pending = LCD_DEFAULTS.pendingWritesMax + 1;
    w.lcd.render(viewOf(SCREENS.idle));
    await w.flush();
    expect(w.model.glass()).toEqual(blankLines(20, 4));
    io.pending = 0;
    await w.flush();
    expect(w.model.glass()).toEqual(lcdLines(viewOf(SCREENS.idle)));
    await w.lcd.close();
  });

  it('installs no SIGINT handler and starts no REPL', async () => {
    const before = process.listenerCount('SIGINT');
    const model = new Hd44780Model();
    const io = mockIo(model);
    io.name = 'Firmata'; // johnny-five skips its SIGINT handler for an IO named "Mock"
    const lcd = await createLcdDisplay({ io, timers: new ManualTimers() });
    ready(io);
    await turns();
    expect(lcd.health).toBe('ok');
    expect(process.listenerCount('SIGINT')).toBe(before);
    await lcd.close();
  });

  it('an IO error makes health fault; an IO given by the caller is not reopened', async () => {
    const timers = new ManualTimers();
    const io = mockIo(new Hd44780Model());
    const lcd = await createLcdDisplay({ io, timers });
    ready(io);
    await turns();
    expect(lcd.health).toBe('ok');
    io.emit('error', new Error('write EIO'));
    io.emit('error', new Error('again'));
    await turns();
    expect(lcd.health).toBe('fault');
    expect(lcd.state).toBe('fault');
    expect(lcd.failures).toBe(1);
    expect(timers.pending).toBe(0);
    await lcd.close();
  });

  it('a close or unplug of the IO is a fault, and the next attempt opens a new IO after a backoff', async () => {
    const w = await world();
    ready(w.current());
    await turns();
    w.current().emit('close');
    await turns();
    expect(w.lcd.health).toBe('fault');
    expect(w.released).toBe(1);
    w.timers.advance(LCD_DEFAULTS.retryInitialMs - 1);
    await turns();
    expect(w.ios).toHaveLength(1);
    w.timers.advance(1);
    await turns();
    expect(w.ios).toHaveLength(2);
    expect(w.lcd.state).toBe('connecting');
    w.current().emit('disconnect');
    await turns();
    expect(w.lcd.failures).toBe(2);
    w.timers.advance(2 * LCD_DEFAULTS.retryInitialMs); // doubled
    await turns();
    expect(w.ios).toHaveLength(3);
    ready(w.current());
    await turns();
    expect(w.lcd.health).toBe('ok');
    expect(w.lcd.failures).toBe(0);
    await w.lcd.close();
  });

  it('backs off exponentially up to the cap while the port cannot be opened', async () => {
    const timers = new ManualTimers();
    let attempts = 0;
    const lcd = await createLcdDisplay({
      openIo: () => {
        attempts++;
        throw new Error('ENOENT: no such file /dev/ttyACM0');
      },
      timers,
      retryInitialMs: 100,
      retryMaxMs: 400,
    });
    expect(lcd.health).toBe('fault');
    const at: number[] = [];
    for (let i = 0; i < 6; i++) {
      const before = attempts;
      while (attempts === before) {
        timers.advance(1);
        await turns(2);
      }
      at.push(timers.now());
    }
    expect(at).toEqual([100, 300, 700, 1100, 1500, 1900]);
    await lcd.close();
    expect(timers.pending).toBe(0);
  });

  it('a board that never gets ready times out, is released and retried', async () => {
    const w = await world({ readyTimeoutMs: 5_000 });
    w.timers.advance(5_000);
    await turns();
    expect(w.lcd.health).toBe('fault');
    expect(w.released).toBe(1);
    w.timers.advance(LCD_DEFAULTS.retryInitialMs);
    await turns();
    expect(w.ios).toHaveLength(2);
    await w.lcd.close();
  });

  it('does not grow johnny-five board list across reconnects', async () => {
    const before = Board.cache.length;
    const w = await world();
    for (let i = 0; i < 5; i++) {
      ready(w.current());
      await turns();
      w.current().emit('error', new Error('unplugged'));
      await turns();
      w.timers.advance(LCD_DEFAULTS.retryInitialMs);
      await turns();
    }
    expect(w.ios).toHaveLength(6);
    expect(Board.cache.length).toBeLessThanOrEqual(before + 1);
    await w.lcd.close();
    expect(Board.cache.length).toBe(before);
  });

  it('close clears the LCD, releases the IO once, cancels every timer, and is idempotent', async () => {
    const w = await world();
    ready(w.current());
    await turns();
    w.lcd.render(viewOf(SCREENS.idle));
    await turns();
    w.lcd.render(viewOf(SCREENS.basket)); // a draw is pending on the interval
    await Promise.all([w.lcd.close(), w.lcd.close()]);
    await w.lcd.close();
    expect(w.model.glass()).toEqual(blankLines(20, 4));
    expect(w.model.clears).toBeGreaterThanOrEqual(2); // at initialisation and at close
    expect(w.released).toBe(1);
    expect(w.timers.pending).toBe(0);
    expect(w.lcd.state).toBe('closed');
  });

  it('close while connecting stops the attempt and leaves no timers', async () => {
    const w = await world();
    await w.lcd.close();
    expect(w.timers.pending).toBe(0);
    ready(w.ios[0]!); // late ready of the abandoned IO
    await turns();
    expect(w.lcd.health).toBe('fault');
  });

  it('refuses bad options with a typed error that names the field', async () => {
    await expect(createLcdDisplay({})).rejects.toThrow(LcdOptionsError);
    await expect(createLcdDisplay({ io: new MockFirmata(), serialPath: '/dev/ttyACM0' })).rejects.toThrow(/exactly one/);
    await expect(createLcdDisplay({ io: 42 })).rejects.toThrow(/Firmata-compatible/);
    await expect(createLcdDisplay({ io: new MockFirmata(), controller: 'HD44780' as never })).rejects.toThrow(/controller/);
    await expect(createLcdDisplay({ io: new MockFirmata(), cols: 99 })).rejects.toThrow(/cols/);
    await expect(createLcdDisplay({ io: new MockFirmata(), controller: 'JHD1313M1', rows: 4 })).rejects.toThrow(/2 rows/);
  });

  it('lays out a Grove JHD1313M1 as the 16x2 module it is', async () => {
    const lcd = await createLcdDisplay({ io: new MockFirmata(), controller: 'JHD1313M1', timers: new ManualTimers() });
    expect([lcd.cols, lcd.rows]).toEqual([16, 2]);
    await lcd.close();
  });
});
