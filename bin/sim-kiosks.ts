// SPDX-License-Identifier: Apache-2.0
// The simulated kiosks of `kioskpay up`: real kiosk programs (device/kiosk) in this process, on
// simulated hardware, each with its web screen (basket, codes, and the controls a person uses to
// scan, press buttons, drop a wallet screenshot and cut the kiosk's uplink). Each runs from the
// kiosk config `up` writes for it (kiosk-configs.ts).
import type { Logger } from 'pino';
import { parseKioskConfig } from '../device/kiosk/config.ts';
import { runKiosk, type RunningKiosk } from '../device/kiosk/run-kiosk.ts';
import { upKioskConfig } from './kiosk-configs.ts';
import type { RunningSystem } from './system.ts';

export interface SimKioskOptions {
  /** Parent of the kiosks' data directories; absolute. */
  dataDir: string;
  /** First kiosk's screen port; the next kiosks take the following ports (0 = any free port). */
  screenPort: number;
  /** How many of the system's kiosks to simulate (the rest only get config files). */
  count: number;
  mode?: 'self-checkout' | 'vending';
  /** Named when a screen port is taken (default: the kiosk config's display.web.port). */
  screenPortSetting?: string;
  log: Logger;
}

export async function startSimKiosks(system: RunningSystem, o: SimKioskOptions): Promise<RunningKiosk[]> {
  const running: RunningKiosk[] = [];
  try {
    for (const [i, login] of system.kiosks.slice(0, o.count).entries()) {
      const config = parseKioskConfig(
        upKioskConfig(system, login, i, { kiosksDir: o.dataDir, screenPort: o.screenPort, ...(o.mode ? { mode: o.mode } : {}) }),
        `kiosk config of ${login.kioskId}`,
      );
      running.push(await runKiosk(config, { log: o.log, ...(o.screenPortSetting ? { screenPortSetting: o.screenPortSetting } : {}) }));
    }
    return running;
  } catch (e) {
    for (const r of running) await r.close();
    throw e;
  }
}
