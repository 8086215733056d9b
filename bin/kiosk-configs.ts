// SPDX-License-Identifier: Apache-2.0
// The kiosk configs of `kioskpay up`: for every kiosk it registers, one complete kiosk config (the
// schema of device/kiosk/config.ts: id, mode, data directory, broker login, the server's issuer
// keys, simulated hardware, web screen), written to DATA/up/<kiosk>.json. `kioskpay kiosk --config
// FILE` runs any of them as is; `up` runs its simulated kiosks from the very same objects.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KioskConfigInput } from '../device/kiosk/config.ts';
import { toBase64url } from '../shared/bytes.ts';
import type { KioskLogin, RunningSystem } from './system.ts';

export interface UpKioskOptions {
  /** Parent of the kiosks' data directories (each kiosk gets <kiosksDir>/<kioskId>); absolute. */
  kiosksDir: string;
  /** First kiosk's screen port; the next kiosks take the following ports (0 = any free port). */
  screenPort: number;
  /** Every kiosk in this mode; default: odd kiosks self-checkout, even ones vending. */
  mode?: 'self-checkout' | 'vending';
  /** The data directories are on tmpfs, ramfs, overlay or zram: let the kiosks start anyway. */
  volatileDataDir?: boolean;
}

/** The issuer public keys a kiosk pins, as the kiosk config holds them. */
export function issuerKeysOf(system: RunningSystem): Array<{ keyId: number; publicKey: string }> {
  return [...system.server.ctx.issuer.publicKeys()].map(([keyId, key]) => ({ keyId, publicKey: toBase64url(key) }));
}

/** The config of the system's `index`-th kiosk (0-based), as a JSON object. */
export function upKioskConfig(system: RunningSystem, login: KioskLogin, index: number, o: UpKioskOptions): KioskConfigInput {
  return {
    kioskId: login.kioskId,
    mode: o.mode ?? (index % 2 === 1 ? 'vending' : 'self-checkout'),
    dataDir: join(o.kiosksDir, login.kioskId),
    ...(o.volatileDataDir ? { allowVolatileDataDir: true } : {}),
    sim: true,
    mqtt: { url: login.url, username: login.username, password: login.password },
    issuerKeys: issuerKeysOf(system),
    display: { web: { host: '127.0.0.1', port: o.screenPort === 0 ? 0 : o.screenPort + index } },
  };
}

/** Writes DATA/up/<kiosk>.json for every kiosk of the system (mode 0600: it holds a password); returns the paths. */
export function writeUpKioskConfigs(system: RunningSystem, dir: string, o: UpKioskOptions): string[] {
  mkdirSync(dir, { recursive: true });
  return system.kiosks.map((login, i) => {
    const path = join(dir, `${login.kioskId}.json`);
    writeFileSync(path, JSON.stringify(upKioskConfig(system, login, i, o), null, 2) + '\n', { mode: 0o600 });
    chmodSync(path, 0o600); // an older file keeps its mode through writeFileSync
    return path;
  });
}
