// SPDX-License-Identifier: Apache-2.0
// Chooses and opens the kiosk's hardware adapters from its config, once, at start: the real
// adapters on a Pi, or their simulated twins (`--sim`, `npm start`). Nothing else in the kiosk knows
// which it got. A real adapter that cannot open is a start-up error that names the config field.
import type { Logger } from 'pino';
import { createKioskGpio } from '../adapters/gpio/kiosk-gpio.ts';
import { buttonsBias, type KioskGpio } from '../adapters/gpio/gpio.ts';
import type { GpioLines } from '../adapters/gpio/lines.ts';
import { SimLines } from '../adapters/gpio/sim-lines.ts';
import { SimOutputs } from '../adapters/gpio/sim-outputs.ts';
import type { Scanner } from '../adapters/scanner/scanner.ts';
import { SimScanner } from '../adapters/scanner/sim-scanner.ts';
import type { Display } from '../display/display.ts';
import type { KioskConfig } from './config.ts';

/** The pin map the simulated GPIO uses (any distinct BCM numbers would do). */
export const SIM_GPIO_PINS = Object.freeze({
  leds: { ready: 5, offline: 6, fault: 13 },
  buzzer: 12,
  relay: 16,
  buttons: { cancel: 20, help: 21, pay: 26 },
  slots: [4, 17, 27, 22, 23, 24],
});

export interface OpenedHardware {
  scanner: Scanner;
  /** The simulated scanner, when that is what the kiosk got (the sim controls feed it). */
  simScanner: SimScanner | undefined;
  gpio: KioskGpio | undefined;
  lines: GpioLines | undefined;
  /** The simulated GPIO's LEDs, buzzer and relay, when that is what the kiosk got (its screen shows them). */
  simOutputs: SimOutputs | undefined;
  lcd: Display | undefined;
  simulated: boolean;
  close(): Promise<void>;
}

export class HardwareError extends Error {
  override readonly name = 'HardwareError';
}

export async function openHardware(cfg: Readonly<KioskConfig>, log: Logger): Promise<OpenedHardware> {
  const closers: Array<() => Promise<void>> = [];
  try {
    const sc = cfg.scanner;
    const simScanner = sc.kind === 'sim' ? new SimScanner() : undefined;
    // serialport (and its native binding) is loaded only by a kiosk that has a real scanner.
    const scanner: Scanner =
      sc.kind === 'serial'
        ? new (await import('../adapters/scanner/serial-scanner.ts')).SerialScanner({
            path: sc.path,
            baudRate: sc.baudRate,
            suffix: sc.suffix,
            aim: sc.aim,
          })
        : sc.kind === 'hid'
          ? new (await import('../adapters/scanner/hid-scanner.ts')).HidScanner({ path: sc.path, keymap: sc.keymap, aim: sc.aim })
          : simScanner!;
    closers.push(() => scanner.stop());

    const { gpio, lines } = await openGpio(cfg, log);
    if (gpio) closers.push(() => gpio.close());
    const simOutputs = lines instanceof SimLines ? new SimOutputs(lines, SIM_GPIO_PINS) : undefined;
    if (simOutputs) closers.push(async () => simOutputs.close());

    let lcd: Display | undefined;
    const lc = cfg.display.lcd;
    if (lc?.kind === 'charlcd') {
      const { createCharlcdDisplay } = await import('../adapters/display/lcd/charlcd-display.ts');
      const opened = await createCharlcdDisplay({ path: lc.path, cols: lc.cols, rows: lc.rows, logger: log });
      lcd = opened;
      closers.push(() => opened.close());
    } else if (lc) {
      const { createLcdDisplay } = await import('../adapters/display/lcd/lcd-display.ts');
      const opened = await createLcdDisplay({
        serialPath: lc.serialPath,
        controller: lc.controller,
        ...(lc.address !== undefined ? { address: lc.address } : {}),
        logger: log,
      });
      lcd = opened;
      closers.push(() => opened.close());
    }
    const simulated = sc.kind === 'sim' && (cfg.gpio.backend === 'sim' || cfg.gpio.backend === 'none');
    if (simulated)
      log.warn(
        'SIMULATED HARDWARE: no scanner, GPIO or LCD is driven; use the kiosk web screen to scan and press buttons, and to see the LEDs, buzzer and relay',
      );
    return {
      scanner,
      simScanner,
      gpio,
      lines,
      simOutputs,
      lcd,
      simulated,
      async close() {
        for (const c of closers.reverse())
          await c().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'hardware close failed'));
      },
    };
  } catch (e) {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    throw e instanceof HardwareError ? e : new HardwareError(`cannot open the kiosk hardware: ${(e as Error).message}`);
  }
}

async function openGpio(cfg: Readonly<KioskConfig>, log: Logger): Promise<{ gpio: KioskGpio | undefined; lines: GpioLines | undefined }> {
  const g = cfg.gpio;
  const onError = (err: unknown) => log.error({ err: (err as Error).message }, 'gpio error');
  switch (g.backend) {
    case 'none':
      return { gpio: undefined, lines: undefined };
    case 'sim': {
      const lines = new SimLines();
      return { gpio: createKioskGpio(lines, { pins: SIM_GPIO_PINS }, { onError }), lines };
    }
    case 'sysfs': {
      const { openSysfsLines } = await import('../adapters/gpio/sysfs-lines.ts');
      const { backend: _b, sysfsRoot, ...gpioConfig } = g;
      const lines = await openSysfsLines({ sysfsRoot, onError }).catch((e: unknown) => {
        throw new HardwareError(`gpio (sysfs): ${(e as Error).message}`);
      });
      // sysfs cannot set a pull: the firmware must (`gpio=...` in config.txt; `kioskpay kiosk doctor` checks it).
      log.info({ buttonsBias: buttonsBias(gpioConfig) }, 'gpio (sysfs): button bias comes from config.txt, not from the kiosk');
      return { gpio: createKioskGpio(lines, gpioConfig, { onError }), lines };
    }
    case 'gpiod': {
      const { openGpiodLines } = await import('../adapters/gpio/gpiod-lines.ts');
      const { backend: _b, chip, ...gpioConfig } = g;
      const lines = await openGpiodLines({ chip, onError }).catch((e: unknown) => {
        throw new HardwareError(`gpio (gpiod): ${(e as Error).message}`);
      });
      log.info({ chip: lines.chip, libgpiod: lines.version, buttonsBias: buttonsBias(gpioConfig) }, 'gpio (gpiod) opened');
      return { gpio: createKioskGpio(lines, gpioConfig, { onError }), lines };
    }
  }
}
