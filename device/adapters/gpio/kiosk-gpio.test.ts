// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { BEEP_PATTERNS, GpioBusyError, GpioClosedError, RELAY_ON_MS_MAX, type GpioConfigInput, type KioskButton } from './gpio.ts';
import { createKioskGpio } from './kiosk-gpio.ts';
import { SimLines } from './sim-lines.ts';
import { ManualTimers } from '../../timers.ts';

const PINS = {
  leds: { ready: 5, offline: 6, fault: 13 },
  buzzer: 12,
  relay: 17,
  buttons: { cancel: 22, help: 23, pay: 24 },
  slots: [25, 26],
};

function setup(over: Partial<GpioConfigInput> = {}, held: Record<number, 0 | 1> = {}) {
  const lines = new SimLines();
  for (const [bcm, level] of Object.entries(held)) lines.hold(Number(bcm), level);
  const timers = new ManualTimers();
  const errors: unknown[] = [];
  const gpio = createKioskGpio(lines, { pins: PINS, ...over }, { timers, onError: (e) => errors.push(e) });
  const pressed: KioskButton[] = [];
  gpio.onButton((b) => pressed.push(b));
  return { lines, timers, gpio, pressed, errors };
}

/** Lets settled promises' callbacks run, without waiting for real time. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** Settles a promise's state without waiting for real time. */
async function state(p: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let s: 'pending' | 'resolved' | 'rejected' = 'pending';
  p.then(
    () => (s = 'resolved'),
    () => (s = 'rejected'),
  );
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return s;
}

describe('KioskGpio over SimLines', () => {
  it('claims every configured line, all outputs off at start', () => {
    const { lines } = setup();
    expect(lines.claimed).toEqual([5, 6, 12, 13, 17, 22, 23, 24, 25, 26]);
    for (const bcm of [5, 6, 12, 13, 17]) expect(lines.level(bcm)).toBe(0);
    expect(lines.history).toEqual([]);
  });

  it('an active-low relay starts high (off) and pulses low', async () => {
    const { lines, timers, gpio } = setup({ relayActiveLow: true });
    expect(lines.level(17)).toBe(1);
    const p = gpio.pulseRelay(100);
    expect(lines.level(17)).toBe(0);
    timers.advance(100);
    await p;
    expect(lines.level(17)).toBe(1);
  });

  it('setLed drives the LED lines', () => {
    const { lines, gpio } = setup();
    gpio.setLed('ready', true);
    gpio.setLed('fault', true);
    gpio.setLed('ready', false);
    expect(lines.history).toEqual([
      { bcm: 5, level: 1 },
      { bcm: 13, level: 1 },
      { bcm: 5, level: 0 },
    ]);
    expect(lines.level(13)).toBe(1);
  });

  describe('relay', () => {
    it('switches on for the requested time, then off', async () => {
      const { lines, timers, gpio } = setup();
      const p = gpio.pulseRelay(500);
      expect(lines.level(17)).toBe(1);
      timers.advance(499);
      expect(lines.level(17)).toBe(1);
      expect(await state(p)).toBe('pending');
      timers.advance(1);
      expect(lines.level(17)).toBe(0);
      await expect(p).resolves.toBeUndefined();
      expect(lines.history.filter((w) => w.bcm === 17)).toEqual([
        { bcm: 17, level: 1 },
        { bcm: 17, level: 0 },
      ]);
    });

    it(`is capped at RELAY_ON_MS_MAX (${RELAY_ON_MS_MAX} ms) whatever is asked`, async () => {
      const { lines, timers, gpio } = setup();
      const p = gpio.pulseRelay(60_000);
      timers.advance(RELAY_ON_MS_MAX - 1);
      expect(lines.level(17)).toBe(1);
      timers.advance(1);
      expect(lines.level(17)).toBe(0);
      await p;
      const p2 = gpio.pulseRelay(Number.MAX_SAFE_INTEGER);
      timers.advance(RELAY_ON_MS_MAX);
      await p2;
      expect(lines.level(17)).toBe(0);
    });

    it('refuses a bad on-time without touching the relay', async () => {
      const { lines, gpio } = setup();
      for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, '100' as unknown as number]) {
        await expect(gpio.pulseRelay(bad)).rejects.toBeInstanceOf(RangeError);
      }
      expect(lines.history).toEqual([]);
    });

    it('refuses an overlapping pulse (never extends the on-time)', async () => {
      const { lines, timers, gpio } = setup();
      const p = gpio.pulseRelay(1000);
      timers.advance(900);
      await expect(gpio.pulseRelay(1000)).rejects.toBeInstanceOf(GpioBusyError);
      timers.advance(100);
      await p;
      expect(lines.level(17)).toBe(0);
      // and a new pulse is fine afterwards
      const p3 = gpio.pulseRelay(10);
      timers.advance(10);
      await p3;
    });

    it('close() during a pulse switches the relay off, cancels the timer and rejects with canceled', async () => {
      const { lines, timers, gpio } = setup();
      const p = gpio.pulseRelay(5000);
      const caught = p.catch((e: unknown) => e);
      timers.advance(1000);
      await gpio.close();
      expect(lines.level(17)).toBe(0);
      const err = await caught;
      expect(err).toBeInstanceOf(GpioClosedError);
      expect((err as GpioClosedError).canceled).toBe(true);
      expect(timers.pending).toBe(0);
      expect(lines.closed).toBe(true);
      expect(lines.history.filter((w) => w.bcm === 17).at(-1)).toEqual({ bcm: 17, level: 0 });
    });

    it('if switching on fails, it still switches off and rejects', async () => {
      // The relay's first write reaches the pin, then the backend reports a failure.
      class FailingOn extends SimLines {
        override output(bcm: number, initial?: 0 | 1) {
          const line = super.output(bcm, initial);
          if (bcm !== 17) return line;
          let first = true;
          return {
            bcm,
            write: (l: 0 | 1) => {
              if (first) {
                first = false;
                line.write(1);
                throw new Error('EIO');
              }
              line.write(l);
            },
          };
        }
      }
      const fl = new FailingOn();
      const g = createKioskGpio(fl, { pins: PINS }, { timers: new ManualTimers() });
      await expect(g.pulseRelay(100)).rejects.toThrow('EIO');
      expect(fl.level(17)).toBe(0);
      await g.close();
    });

    it('rejects after close', async () => {
      const { gpio } = setup();
      await gpio.close();
      await expect(gpio.pulseRelay(10)).rejects.toBeInstanceOf(GpioClosedError);
    });
  });

  describe('buzzer', () => {
    it('plays a pattern as on/off steps with the pattern durations, then stays off', () => {
      const { lines, timers, gpio } = setup();
      gpio.beep('accept'); // [80, 60, 80]
      const [on1, off1, on2] = BEEP_PATTERNS.accept as [number, number, number];
      expect(lines.level(12)).toBe(1);
      timers.advance(on1 - 1);
      expect(lines.level(12)).toBe(1);
      timers.advance(1);
      expect(lines.level(12)).toBe(0);
      timers.advance(off1);
      expect(lines.level(12)).toBe(1);
      timers.advance(on2);
      expect(lines.level(12)).toBe(0);
      expect(timers.pending).toBe(0);
      expect(lines.history.filter((w) => w.bcm === 12).map((w) => w.level)).toEqual([0, 1, 0, 1, 0]);
    });

    it('records the timing of every pattern', () => {
      for (const pattern of ['accept', 'decline', 'attention'] as const) {
        const { lines, timers, gpio } = setup();
        const edges: [number, number][] = [];
        let last = lines.level(12);
        gpio.beep(pattern);
        for (let t = 0; t <= 2000; t++) {
          const l = lines.level(12);
          if (l !== last) edges.push([timers.now(), l ?? -1]);
          last = l;
          timers.advance(1);
        }
        const want: [number, number][] = [];
        let t = 0;
        BEEP_PATTERNS[pattern].forEach((ms, i) => {
          want.push([t, i % 2 === 0 ? 1 : 0]);
          t += ms;
        });
        want.push([t, 0]);
        expect(edges, pattern).toEqual(want);
      }
    });

    it('a new beep replaces one still playing', () => {
      const { lines, timers, gpio } = setup();
      gpio.beep('decline'); // 400 on
      timers.advance(100);
      gpio.beep('accept');
      expect(lines.level(12)).toBe(1);
      timers.advance(80 + 60 + 80);
      expect(lines.level(12)).toBe(0);
      expect(timers.pending).toBe(0);
    });

    it('close() mid-pattern leaves the buzzer off and no timer behind', async () => {
      const { lines, timers, gpio } = setup();
      gpio.beep('attention');
      timers.advance(50);
      await gpio.close();
      expect(lines.level(12)).toBe(0);
      expect(timers.pending).toBe(0);
      expect(() => gpio.beep('accept')).toThrow(GpioClosedError);
      expect(() => gpio.setLed('ready', true)).toThrow(GpioClosedError);
    });
  });

  describe('buttons', () => {
    it("starts from each line's real level: a glitch while a button is held since boot is not a press", async () => {
      // The old code assumed every line idle at start: a held button's glitch (release+press
      // shorter than the window, then still held) settled as a fresh press.
      const { lines, timers, pressed, errors } = setup({}, { 22: 0 });
      await flush();
      lines.drive(22, 1);
      timers.advance(5);
      lines.drive(22, 0);
      timers.advance(100);
      expect(pressed).toEqual([]);
      lines.release(22);
      timers.advance(100);
      expect(pressed).toEqual([]);
      lines.press(22);
      timers.advance(30);
      expect(pressed).toEqual(['cancel']);
      expect(errors).toEqual([]);
    });

    it('asks for the bias the wiring needs: pull-up for active-low buttons unless configured', () => {
      const seen: [number, string | undefined][] = [];
      const spy = (over: Partial<GpioConfigInput>) => {
        const lines = new SimLines();
        const input = lines.input.bind(lines);
        lines.input = (bcm, edge, o) => {
          seen.push([bcm, o?.bias]);
          return input(bcm, edge, o);
        };
        createKioskGpio(lines, { pins: { ...PINS, buttons: { cancel: 22, help: 23 }, slots: [] }, ...over });
      };
      spy({});
      spy({ buttonsActiveLow: false });
      spy({ buttonsBias: 'as-is' });
      expect(seen).toEqual([
        [22, 'pull-up'],
        [23, 'pull-up'],
        [22, 'pull-down'],
        [23, 'pull-down'],
        [22, 'as-is'],
        [23, 'as-is'],
      ]);
    });

    it('a line whose level cannot be read is reported and assumed idle', async () => {
      const lines = new SimLines();
      const input = lines.input.bind(lines);
      lines.input = (bcm, edge, o) => ({ ...input(bcm, edge, o), initial: Promise.reject(new Error(`cannot read ${bcm}`)) });
      const timers = new ManualTimers();
      const errors: unknown[] = [];
      const gpio = createKioskGpio(lines, { pins: PINS }, { timers, onError: (e) => errors.push(e) });
      const pressed: KioskButton[] = [];
      gpio.onButton((b) => pressed.push(b));
      await flush();
      expect(errors.map(String)).toContain('Error: cannot read 22');
      lines.press(22);
      timers.advance(30);
      expect(pressed).toEqual(['cancel']);
    });

    it('reports a press after the debounce window, once, despite contact bounce', () => {
      const { lines, timers, pressed } = setup();
      lines.bounce(22, [0, 1, 0, 1, 0]);
      timers.advance(29);
      expect(pressed).toEqual([]);
      timers.advance(1);
      expect(pressed).toEqual(['cancel']);
      lines.bounce(22, [1, 0, 1]); // release with bounce
      timers.advance(100);
      expect(pressed).toEqual(['cancel']);
    });

    it('ignores a glitch shorter than the window', () => {
      const { lines, timers, pressed } = setup();
      lines.press(23);
      timers.advance(10);
      lines.release(23);
      timers.advance(100);
      expect(pressed).toEqual([]);
    });

    it('a bounce restarts the window', () => {
      const { lines, timers, pressed } = setup();
      lines.press(24);
      timers.advance(20);
      lines.release(24);
      timers.advance(5);
      lines.press(24);
      timers.advance(29);
      expect(pressed).toEqual([]);
      timers.advance(1);
      expect(pressed).toEqual(['pay']);
    });

    it('maps slot buttons to { slot } and honours a configured window', () => {
      const { lines, timers, pressed } = setup({ debounceMs: 5 });
      lines.press(26);
      timers.advance(5);
      lines.release(26);
      timers.advance(5);
      lines.press(25);
      timers.advance(5);
      expect(pressed).toEqual([{ slot: 1 }, { slot: 0 }]);
    });

    it('with active-high buttons a press is a rising level', () => {
      const lines = new SimLines({ inputIdle: 0 });
      const timers = new ManualTimers();
      const gpio = createKioskGpio(lines, { pins: PINS, buttonsActiveLow: false }, { timers });
      const got: KioskButton[] = [];
      gpio.onButton((b) => got.push(b));
      lines.press(22);
      timers.advance(30);
      expect(got).toEqual(['cancel']);
    });

    it('with a zero window a press is reported at once', () => {
      const { lines, pressed } = setup({ debounceMs: 0 });
      lines.press(22);
      lines.release(22);
      lines.press(22);
      expect(pressed).toEqual(['cancel', 'cancel']);
    });

    it('unsubscribe stops delivery; a throwing listener does not stop others', () => {
      const { lines, timers, gpio, pressed, errors } = setup();
      const boom = new Error('listener bug');
      gpio.onButton(() => {
        throw boom;
      });
      const other: KioskButton[] = [];
      const off = gpio.onButton((b) => other.push(b));
      lines.press(22);
      timers.advance(30);
      off();
      lines.release(22);
      timers.advance(30);
      lines.press(22);
      timers.advance(30);
      expect(other).toEqual(['cancel']);
      expect(pressed).toEqual(['cancel', 'cancel']);
      expect(errors).toEqual([boom, boom]);
    });

    it('a press pending when close() runs is never delivered', async () => {
      const { lines, timers, gpio, pressed } = setup();
      lines.press(22);
      await gpio.close();
      timers.advance(100);
      expect(pressed).toEqual([]);
      expect(timers.pending).toBe(0);
      expect(() => gpio.onButton(() => {})).toThrow(GpioClosedError);
    });
  });

  describe('close', () => {
    it('switches every output off and releases every line; idempotent', async () => {
      const { lines, gpio } = setup();
      gpio.setLed('ready', true);
      gpio.setLed('offline', true);
      gpio.beep('decline');
      await gpio.close();
      for (const bcm of [5, 6, 12, 13, 17]) expect(lines.level(bcm)).toBe(0);
      expect(lines.claimed).toEqual([]);
      expect(lines.closed).toBe(true);
      await gpio.close();
    });

    it('releases the lines it claimed when a later claim fails', () => {
      const lines = new SimLines();
      lines.output(22); // someone else holds the cancel button's line
      expect(() => createKioskGpio(lines, { pins: PINS })).toThrow(/already claimed/);
      expect(lines.closed).toBe(true);
    });

    it('validates the config', () => {
      expect(() => createKioskGpio(new SimLines(), { pins: { ...PINS, buzzer: 17 } })).toThrow(/used by both/);
    });
  });
});
