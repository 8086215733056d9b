// SPDX-License-Identifier: Apache-2.0
// A whole system for a cross-process test: the embedded broker and the payment server in this
// process (bin/system.ts), both on port 0 and silent, on a fresh temporary directory that close()
// removes once both have stopped. connectAs() logs a plain MQTT client in as one of its identities.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import pino from 'pino';
import { startSystem, type RunningSystem, type SystemOptions } from '../bin/system.ts';
import { ownClientId } from '../broker/client-ids.ts';

export interface TestSystem extends RunningSystem {
  /** The temporary directory: the server's data is in `server/`; a test may write beside it. */
  readonly dir: string;
}

/** Starts the system with these kiosks in a new directory `kp-<name>-…`; `o` adds server config, a logger or a clock. */
export async function startTestSystem(
  name: string,
  kioskIds: string[],
  o: Pick<SystemOptions, 'server' | 'log' | 'clock'> = {},
): Promise<TestSystem> {
  const dir = mkdtempSync(join(tmpdir(), `kp-${name}-`));
  let system: RunningSystem;
  try {
    system = await startSystem({ dataDir: join(dir, 'server'), mqttPort: 0, httpPort: 0, kioskIds, log: pino({ level: 'silent' }), ...o });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    ...system,
    dir,
    async close() {
      await system.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * An MQTT 3.1.1 client logged in as `login` (a kiosk's or the technician's), with the client id
 * `kp-<username>-<tag>` the broker allows that identity, and no reconnecting unless `o` says so.
 */
export function connectAs(
  login: { url: string; username: string; password: string },
  tag: string,
  o: IClientOptions = {},
): Promise<MqttClient> {
  return mqtt.connectAsync(login.url, {
    protocolVersion: 4,
    username: login.username,
    password: login.password,
    clientId: ownClientId(login.username, tag),
    reconnectPeriod: 0,
    ...o,
  });
}
