// SPDX-License-Identifier: Apache-2.0
// The simulated kiosks of `kioskpay up`: real kiosk programs (device/kiosk) in this process, on
// simulated hardware, each with its web screen (basket, codes, and the controls a person uses to
// scan, press buttons, drop a wallet screenshot and cut the kiosk's uplink).
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parseKioskConfig } from '../device/kiosk/config.ts';
import { runKiosk, type RunningKiosk } from '../device/kiosk/run-kiosk.ts';
import { toBase64url } from '../shared/bytes.ts';
import type { RunningSystem } from './system.ts';

export interface SimKioskOptions {
  dataDir: string;
  /** First kiosk's screen port; the next kiosks take the following ports (0 = any free port). */
  screenPort: number;
  /** How many of the system's kiosks to simulate (the rest only get login files). */
  count: number;
  mode?: 'self-checkout' | 'vending';
  log: Logger;
}

export async function startSimKiosks(system: RunningSystem, o: SimKioskOptions): Promise<RunningKiosk[]> {
  const issuerKeys = [...system.server.ctx.issuer.publicKeys()].map(([keyId, key]) => ({ keyId, publicKey: toBase64url(key) }));
  const running: RunningKiosk[] = [];
  try {
    for (const [i, login] of system.kiosks.slice(0, o.count).entries()) {
      const config = parseKioskConfig({
        kioskId: login.kioskId, dataDir: join(o.dataDir, login.kioskId), sim: true,
        mode: i % 2 === 1 && o.mode === undefined ? 'vending' : (o.mode ?? 'self-checkout'),
        mqtt: { url: login.url, username: login.username, password: login.password },
        issuerKeys,
        display: { web: { host: '127.0.0.1', port: o.screenPort === 0 ? 0 : o.screenPort + i } },
      });
      running.push(await runKiosk(config, { log: o.log }));
    }
    return running;
  } catch (e) {
    for (const r of running) await r.close();
    throw e;
  }
}
