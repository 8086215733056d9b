// SPDX-License-Identifier: Apache-2.0
// The kiosk's config file: the documented example stays valid, errors name their fields, and --sim
// replaces every piece of hardware.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KioskConfigError, loadKioskConfig, parseKioskConfig } from '../../device/kiosk/config.ts';

const example = new URL('../../docs/examples/kiosk.json', import.meta.url).pathname;

describe('kiosk config', () => {
  it('accepts the example in docs/examples/kiosk.json', () => {
    const c = loadKioskConfig(example);
    expect(c).toMatchObject({
      kioskId: 'kiosk-17',
      mode: 'self-checkout',
      scanner: { kind: 'serial', baudRate: 115200 },
      gpio: { backend: 'gpiod' },
      sim: false,
    });
    expect(c.mqtt.username).toBe('kiosk-17');
  });

  it('--sim swaps the scanner, GPIO and LCD for simulated ones', () => {
    const c = loadKioskConfig(example, { sim: true });
    expect(c).toMatchObject({ sim: true, scanner: { kind: 'sim' }, gpio: { backend: 'sim' } });
    expect(c.display.lcd).toBeUndefined();
    expect(c.display.web).toBeDefined();
  });

  it('display.lcd: charlcd (/dev/lcd) or firmata; without kind it is firmata, as configs were before', () => {
    const base = {
      kioskId: 'k1',
      dataDir: '/tmp/k1',
      mqtt: { url: 'mqtt://broker', password: 'x' },
      issuerKeys: [{ keyId: 1, publicKey: 'A'.repeat(43) }],
    };
    const lcd = (l: unknown) => parseKioskConfig({ ...base, display: { lcd: l } }).display.lcd;
    expect(lcd({ kind: 'charlcd' })).toEqual({ kind: 'charlcd', path: '/dev/lcd', cols: 20, rows: 4 });
    expect(lcd({ kind: 'charlcd', path: '/dev/lcd', cols: 16, rows: 2 })).toEqual({ kind: 'charlcd', path: '/dev/lcd', cols: 16, rows: 2 });
    expect(lcd({ serialPath: '/dev/ttyACM0', address: 63 })).toEqual({
      kind: 'firmata',
      serialPath: '/dev/ttyACM0',
      controller: 'PCF8574',
      address: 63,
    });
    expect(lcd({ kind: 'firmata', serialPath: '/dev/ttyACM0' })).toMatchObject({ kind: 'firmata', controller: 'PCF8574' });
    expect(() => lcd({ kind: 'charlcd', serialPath: '/dev/ttyACM0' })).toThrow(KioskConfigError);
    expect(() => lcd({ kind: 'charlcd', rows: 8 })).toThrow(KioskConfigError);
    expect(() => lcd({ kind: 'hdmi' })).toThrow(KioskConfigError);
  });

  it('names every bad field', () => {
    let message = '';
    try {
      parseKioskConfig({
        kioskId: 'Kiosk 1',
        dataDir: '',
        mqtt: { url: 'http://x' },
        issuerKeys: [{ keyId: 1, publicKey: 'short' }],
        gpio: {
          backend: 'sysfs',
          pins: { leds: { ready: 5, offline: 5, fault: 6 }, buzzer: 7, relay: 8, buttons: { cancel: 9, help: 10 } },
        },
      });
    } catch (e) {
      expect(e).toBeInstanceOf(KioskConfigError);
      message = (e as Error).message;
    }
    for (const field of ['kioskId', 'dataDir', 'mqtt.url', 'mqtt', 'issuerKeys.0.publicKey', 'gpio.pins.leds.offline'])
      expect(message).toContain(`  ${field}: `);
  });

  it('resolves relative paths from the config file and says clearly when the file is missing or not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kp-cfg-'));
    try {
      const path = join(dir, 'kiosk.json');
      writeFileSync(
        path,
        JSON.stringify({
          kioskId: 'k1',
          dataDir: 'state',
          mqtt: { url: 'mqtt://h:1', passwordFile: 'pw' },
          issuerKeys: [{ keyId: 1, publicKey: 'A'.repeat(43) }],
        }),
      );
      const c = loadKioskConfig(path);
      expect(c.dataDir).toBe(join(dir, 'state'));
      expect(c.mqtt.passwordFile).toBe(join(dir, 'pw'));
      writeFileSync(path, '{not json');
      expect(() => loadKioskConfig(path)).toThrow(/is not JSON/);
      expect(() => loadKioskConfig(join(dir, 'absent.json'))).toThrow(/cannot read kiosk config/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
