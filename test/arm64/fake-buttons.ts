// SPDX-License-Identifier: Apache-2.0
// The kiosk's buttons for the arm64 boot test: the gpiod GPIO backend runs the libgpiod tools found
// on PATH, so the kiosk process gets fake `gpioset`/`gpiomon` (device/adapters/gpio/fake-gpiod.ts)
// first on its PATH, and a press is a falling then a rising edge (buttons wired active-low). The only
// place this test touches those fakes.
import { FakeGpiodTools } from '../../device/adapters/gpio/fake-gpiod.ts';

export interface FakeButtons {
  /** Prepend to the kiosk's PATH. */
  binDir: string;
  press(bcm: number): Promise<void>;
  close(): void;
}

export function startFakeButtons(): FakeButtons {
  const tools = new FakeGpiodTools(2);
  return {
    binDir: tools.dir,
    async press(bcm) {
      tools.drive(bcm, 0);
      await new Promise((r) => setTimeout(r, 200));
      tools.drive(bcm, 1);
    },
    close() {
      for (const pid of tools.living()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      tools.remove();
    },
  };
}
