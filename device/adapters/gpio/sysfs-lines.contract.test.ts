// SPDX-License-Identifier: Apache-2.0
import { FakeOnoff } from './fake-onoff.ts';
import { linesContract } from './lines-contract.ts';
import { SysfsLines } from './sysfs-lines.ts';

for (const base of [512, 571, 0]) {
  linesContract(`SysfsLines (fake onoff Gpio, base ${base})`, async () => {
    const onoff = new FakeOnoff();
    const lines = new SysfsLines({ base, Gpio: onoff.Gpio });
    return {
      lines,
      level: async (bcm) => onoff.level(base + bcm),
      drive: async (bcm, level) => {
        if (onoff.get(base + bcm)) onoff.emit(base + bcm, level);
      },
      hold: async (bcm, level) => void onoff.levels.set(base + bcm, level),
      released: async () => onoff.created.every((r) => r.unexported && r.watchers.length === 0),
    };
  });
}
