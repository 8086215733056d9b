// SPDX-License-Identifier: Apache-2.0
// The real path: createLcdDisplay({ serialPath }) opens Firmata over serialport 13 (here on the
// scanner's UnplugBinding, which records writes and can pull the cable), johnny-five drives the
// LCD, and the I2C requests that reach the wire are decoded into the HD44780 model.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ManualTimers } from '../../../timers.ts';
import { UnplugBinding } from '../../scanner/unplug-binding.ts';
import { Hd44780Model } from './hd44780-model.ts';
import { createLcdDisplay, LCD_DEFAULTS } from './lcd-display.ts';
import { lcdLines } from './lcd-lines.ts';
import { SCREENS, viewOf } from './lcd-test-views.ts';
import { turns } from '../../../../shared/testing/wait.ts';

const PATH = '/dev/serial/by-id/usb-Arduino_Uno_LCD-if00';
const PINS = 20;

function includes(haystack: Buffer, needle: number[], from = 0): boolean {
  return haystack.indexOf(Buffer.from(needle), from) >= 0;
}

/** Plays StandardFirmata's side of the handshake on the open port; false if it did not happen. */
async function arduinoHandshake(binding: UnplugBinding): Promise<boolean> {
  const port = binding.portOf(PATH);
  if (!port) return false;
  port.emitData(Buffer.from([0xf9, 2, 5])); // REPORT_VERSION 2.5
  port.emitData(Buffer.from([0xf0, 0x79, 2, 5, ...[...'SF'].flatMap((c) => [c.charCodeAt(0), 0]), 0xf7]));
  const answers: Array<[number[], number[]]> = [
    // CAPABILITY_QUERY -> every pin does OUTPUT (1) and I2C (6)
    [
      [0xf0, 0x6b, 0xf7],
      [0xf0, 0x6c, ...Array.from({ length: PINS }, () => [0x01, 0x01, 0x06, 0x01, 0x7f]).flat(), 0xf7],
    ],
    // ANALOG_MAPPING_QUERY -> no analog pins
    [
      [0xf0, 0x69, 0xf7],
      [0xf0, 0x6a, ...Array.from({ length: PINS }, () => 0x7f), 0xf7],
    ],
  ];
  for (const [query, answer] of answers) {
    let rounds = 0;
    while (!includes(port.recording, query)) {
      if (++rounds > 200) return false;
      await turns(1);
    }
    port.emitData(Buffer.from(answer));
  }
  await turns();
  return true;
}

/** The I2C writes in Firmata's outgoing bytes (I2C_REQUEST sysex, write mode), fed to the model. */
function decodeI2cWrites(wire: Buffer, model: Hd44780Model, address: number): number {
  let count = 0;
  for (let i = wire.indexOf(0xf0); i >= 0; i = wire.indexOf(0xf0, i + 1)) {
    const end = wire.indexOf(0xf7, i);
    if (end < 0) break;
    if (wire[i + 1] === 0x76 && (((wire[i + 3] ?? 0) >> 3) & 0x03) === 0) {
      const bytes: number[] = [];
      for (let j = i + 4; j + 1 < end; j += 2) bytes.push((wire[j]! & 0x7f) | ((wire[j + 1]! & 0x7f) << 7));
      model.i2cWrite(address, wire[i + 2]!, bytes);
      count++;
    }
  }
  return count;
}

describe('LcdDisplay over Firmata on serialport 13', () => {
  it('opens the port at 57,600 baud, completes the handshake and writes the view over I2C', async () => {
    const binding = new UnplugBinding();
    binding.createPort(PATH);
    const timers = new ManualTimers();
    const lcd = await createLcdDisplay({ serialPath: PATH, binding, timers });
    const port = binding.portOf(PATH);
    expect(port?.openOptions.baudRate).toBe(57_600);
    const view = viewOf(SCREENS.awaitingCode, { offline: true });
    lcd.render(view); // before ready: kept
    expect(await arduinoHandshake(binding)).toBe(true);
    await turns();
    expect(lcd.health).toBe('ok');
    const model = new Hd44780Model();
    expect(decodeI2cWrites(port!.recording, model, 0x27)).toBeGreaterThan(100);
    expect(model.glass()).toEqual(lcdLines(view));
    await lcd.close();
    expect(binding.stats(PATH).isOpen).toBe(false);
    expect(timers.pending).toBe(0);
    // johnny-five's own serialport 8 (and its unbuilt native binding) was never loaded.
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    expect(loaded.some((f) => f.includes('/johnny-five/'))).toBe(true);
    expect(loaded.filter((f) => /node_modules\/(firmata|johnny-five)\/node_modules\/(@serialport|serialport)\//.test(f))).toEqual([]);
  });

  it('an unplug is a fault; the port is reopened with backoff once it is back', async () => {
    const binding = new UnplugBinding();
    binding.createPort(PATH);
    const timers = new ManualTimers();
    const lcd = await createLcdDisplay({ serialPath: PATH, binding, timers });
    expect(await arduinoHandshake(binding)).toBe(true);
    await turns();
    expect(lcd.health).toBe('ok');
    binding.unplug(PATH);
    await turns();
    expect(lcd.health).toBe('fault');
    timers.advance(LCD_DEFAULTS.retryInitialMs);
    await turns();
    expect(binding.stats(PATH).failedOpens).toBe(1);
    binding.replug(PATH);
    timers.advance(2 * LCD_DEFAULTS.retryInitialMs);
    await turns();
    expect(binding.stats(PATH).opens).toBe(2);
    lcd.render(viewOf(SCREENS.idle));
    expect(await arduinoHandshake(binding)).toBe(true);
    await turns();
    expect(lcd.health).toBe('ok');
    const model = new Hd44780Model();
    decodeI2cWrites(binding.portOf(PATH)!.recording, model, 0x27);
    expect(model.glass()).toEqual(lcdLines(viewOf(SCREENS.idle)));
    await lcd.close();
  });

  it('a port that does not exist is a fault at start, not an exception', async () => {
    const binding = new UnplugBinding();
    const timers = new ManualTimers();
    const lcd = await createLcdDisplay({ serialPath: '/dev/ttyACM9', binding, timers });
    expect(lcd.health).toBe('fault');
    expect(lcd.failures).toBe(1);
    await lcd.close();
    expect(timers.pending).toBe(0);
  });
});
