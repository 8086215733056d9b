// SPDX-License-Identifier: Apache-2.0
// KioskGpio written once over GpioLines: LEDs, buzzer patterns, a relay with a hard maximum
// on-time, and debounced buttons. Failure semantics are documented on the interface (gpio.ts).
import { Debouncer } from './debounce.ts';
import {
  BEEP_PATTERNS,
  buttonsBias,
  GpioBusyError,
  GpioClosedError,
  GpioConfigSchema,
  RELAY_ON_MS_MAX,
  type BeepPattern,
  type GpioConfigInput,
  type KioskButton,
  type KioskGpio,
  type LedName,
} from './gpio.ts';
import type { GpioLines, Level, OutLine } from './lines.ts';
import { systemTimers, type TimerHandle, type Timers } from '../../timers.ts';

export interface KioskGpioOptions {
  timers?: Timers;
  /** Where exceptions from button listeners and failed writes in timer callbacks go. */
  onError?: (err: unknown) => void;
}

interface Pulse {
  timer: TimerHandle;
  resolve(): void;
  reject(err: unknown): void;
}

/** Builds KioskGpio over `lines`. Claims every configured line now; throws if one cannot be claimed. */
export function createKioskGpio(lines: GpioLines, config: GpioConfigInput, opts: KioskGpioOptions = {}): KioskGpio {
  const cfg = GpioConfigSchema.parse(config);
  const timers = opts.timers ?? systemTimers;
  const onError = opts.onError ?? (() => {});
  const pins = cfg.pins;

  const relayOff: Level = cfg.relayActiveLow ? 1 : 0;
  const relayOn: Level = cfg.relayActiveLow ? 0 : 1;
  const pressed: Level = cfg.buttonsActiveLow ? 0 : 1;
  const idle: Level = cfg.buttonsActiveLow ? 1 : 0;
  const bias = buttonsBias(cfg);

  const claimed: { close(): Promise<void> } = lines;
  let relay: OutLine;
  let buzzer: OutLine;
  let leds: Record<LedName, OutLine>;
  try {
    // The relay first: it is the line that must never float on.
    relay = lines.output(pins.relay, relayOff);
    buzzer = lines.output(pins.buzzer, 0);
    leds = {
      ready: lines.output(pins.leds.ready, 0),
      offline: lines.output(pins.leds.offline, 0),
      fault: lines.output(pins.leds.fault, 0),
    };
  } catch (err) {
    void claimed.close();
    throw err;
  }

  const listeners = new Set<(b: KioskButton) => void>();
  const buttonTimers = new Set<TimerHandle>();
  const buttons: [number, KioskButton][] = [
    [pins.buttons.cancel, 'cancel'],
    [pins.buttons.help, 'help'],
    ...(pins.buttons.pay === undefined ? [] : ([[pins.buttons.pay, 'pay']] as [number, KioskButton][])),
    ...pins.slots.map((p, slot): [number, KioskButton] => [p, { slot }]),
  ];

  let closed = false;

  const emit = (b: KioskButton): void => {
    for (const fn of [...listeners]) {
      try {
        fn(typeof b === 'string' ? b : { ...b });
      } catch (err) {
        onError(err);
      }
    }
  };

  try {
    for (const [bcm, button] of buttons) {
      const line = lines.input(bcm, 'both', { bias });
      // Until the line's real level is read, assume it idle; then start from what it reads, so a
      // button held at boot is not a press and a line that reads pressed is not pressed again.
      let deb = new Debouncer(cfg.debounceMs, () => timers.now(), idle);
      let edged = false;
      line.initial.then(
        (level) => {
          if (!closed && !edged) deb = new Debouncer(cfg.debounceMs, () => timers.now(), level);
        },
        (err: unknown) => onError(err),
      );
      let armed: TimerHandle | undefined;
      const seen = (changed: Level | null): void => {
        if (changed === pressed) emit(button);
        const due = deb.deadline();
        if (due === null || armed !== undefined) return;
        const h = timers.setTimeout(
          () => {
            buttonTimers.delete(h);
            armed = undefined;
            if (!closed) seen(deb.settle());
          },
          Math.max(0, due - timers.now()),
        );
        armed = h;
        buttonTimers.add(h);
      };
      line.onEdge((level) => {
        edged = true;
        if (!closed) seen(deb.feed(level));
      });
    }
  } catch (err) {
    void claimed.close();
    throw err;
  }

  // ---- buzzer ----
  let beepTimer: TimerHandle | undefined;
  const stopBeep = (): void => {
    if (beepTimer !== undefined) timers.clearTimeout(beepTimer);
    beepTimer = undefined;
  };
  const safeWrite = (line: OutLine, level: Level): void => {
    try {
      line.write(level);
    } catch (err) {
      onError(err);
    }
  };

  // ---- relay ----
  let pulse: Pulse | undefined;
  const endPulse = (p: Pulse, err?: unknown): void => {
    if (pulse !== p) return;
    pulse = undefined;
    timers.clearTimeout(p.timer);
    let offErr: unknown;
    try {
      relay.write(relayOff);
    } catch (e) {
      offErr = e;
    }
    if (err !== undefined) p.reject(err);
    else if (offErr !== undefined) p.reject(offErr);
    else p.resolve();
  };

  const assertOpen = (): void => {
    if (closed) throw new GpioClosedError();
  };

  return {
    setLed(led: LedName, on: boolean): void {
      assertOpen();
      leds[led].write(on ? 1 : 0);
    },

    beep(pattern: BeepPattern): void {
      assertOpen();
      const steps = BEEP_PATTERNS[pattern];
      stopBeep();
      buzzer.write(0);
      let i = 0;
      const step = (): void => {
        beepTimer = undefined;
        if (closed) return;
        if (i >= steps.length) {
          safeWrite(buzzer, 0);
          return;
        }
        safeWrite(buzzer, i % 2 === 0 ? 1 : 0);
        const ms = steps[i++] ?? 0;
        beepTimer = timers.setTimeout(step, ms);
      };
      step();
    },

    pulseRelay(onMs: number): Promise<void> {
      if (closed) return Promise.reject(new GpioClosedError());
      if (typeof onMs !== 'number' || !Number.isFinite(onMs) || onMs <= 0) {
        return Promise.reject(new RangeError(`relay on-time must be a finite number of ms > 0, got ${String(onMs)}`));
      }
      if (pulse) return Promise.reject(new GpioBusyError('relay pulse already running'));
      const ms = Math.min(onMs, RELAY_ON_MS_MAX);
      return new Promise<void>((resolve, reject) => {
        const p: Pulse = { timer: {}, resolve, reject };
        pulse = p;
        try {
          relay.write(relayOn);
        } catch (err) {
          endPulse(p, err);
          return;
        }
        p.timer = timers.setTimeout(() => endPulse(p), ms);
      });
    },

    onButton(fn: (b: KioskButton) => void): () => void {
      assertOpen();
      const wrapped = (b: KioskButton): void => fn(b);
      listeners.add(wrapped);
      return () => void listeners.delete(wrapped);
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (pulse) endPulse(pulse, new GpioClosedError('GPIO closed during a relay pulse', true));
      else safeWrite(relay, relayOff);
      stopBeep();
      for (const h of buttonTimers) timers.clearTimeout(h);
      buttonTimers.clear();
      listeners.clear();
      safeWrite(buzzer, 0);
      for (const led of Object.values(leds)) safeWrite(led, 0);
      await lines.close();
    },
  };
}
