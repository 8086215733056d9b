// SPDX-License-Identifier: Apache-2.0
// The simulated kiosk's outputs as its screen shows them, driven by the real KioskGpio over
// simulated lines with hand-driven timers: LEDs, a beep pattern counted by its switch-ons, a relay
// pulse (also wired active-low), and no news for a write that changes nothing.
import { describe, expect, it } from 'vitest';
import { ManualTimers } from '../../timers.ts';
import { createKioskGpio } from './kiosk-gpio.ts';
import { SimLines } from './sim-lines.ts';
import { SimOutputs } from './sim-outputs.ts';

const PINS = { leds: { ready: 5, offline: 6, fault: 13 }, buzzer: 12, relay: 16, buttons: { cancel: 20, help: 21 } };

function setup(relayActiveLow = false) {
  const lines = new SimLines();
  const timers = new ManualTimers();
  const gpio = createKioskGpio(lines, { pins: PINS, relayActiveLow }, { timers });
  const outputs = new SimOutputs(lines, PINS, { relayActiveLow });
  let changes = 0;
  outputs.onChange(() => {
    changes += 1;
  });
  return { lines, timers, gpio, outputs, changes: () => changes };
}

describe('SimOutputs', () => {
  it('starts with everything off', () => {
    expect(setup().outputs.state()).toEqual({
      leds: { ready: false, offline: false, fault: false },
      buzzer: false,
      relay: false,
      beeps: 0,
      pulses: 0,
    });
  });

  it('follows the LEDs, and says nothing for a write that changes nothing', () => {
    const { gpio, outputs, changes } = setup();
    gpio.setLed('ready', true);
    expect(outputs.state().leds).toEqual({ ready: true, offline: false, fault: false });
    expect(changes()).toBe(1);
    gpio.setLed('ready', true);
    expect(changes()).toBe(1);
    for (const led of ['ready', 'offline', 'fault'] as const) gpio.setLed(led, true);
    expect(outputs.state().leds).toEqual({ ready: true, offline: true, fault: true });
    expect(changes()).toBe(3);
  });

  it('counts each switch-on of the buzzer in a pattern', () => {
    const { gpio, timers, outputs } = setup();
    gpio.beep('accept'); // on 80, off 60, on 80
    expect(outputs.state()).toMatchObject({ buzzer: true, beeps: 1 });
    timers.advance(80);
    expect(outputs.state()).toMatchObject({ buzzer: false, beeps: 1 });
    timers.advance(60);
    expect(outputs.state()).toMatchObject({ buzzer: true, beeps: 2 });
    timers.advance(80);
    expect(outputs.state()).toMatchObject({ buzzer: false, beeps: 2 });
  });

  it('shows a relay pulse, also on an active-low relay board', async () => {
    for (const activeLow of [false, true]) {
      const { gpio, timers, outputs } = setup(activeLow);
      expect(outputs.state().relay).toBe(false);
      const pulse = gpio.pulseRelay(500);
      expect(outputs.state()).toMatchObject({ relay: true, pulses: 1 });
      timers.advance(500);
      await pulse;
      expect(outputs.state()).toMatchObject({ relay: false, pulses: 1 });
    }
  });

  it('stops telling after close', () => {
    const { gpio, outputs, changes } = setup();
    outputs.close();
    gpio.setLed('fault', true);
    expect(changes()).toBe(0);
  });
});
