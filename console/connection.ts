// SPDX-License-Identifier: Apache-2.0
// The console's broker connection: MQTT 3.1.1 (aedes 1.x refuses MQTT 5), a fresh random client id
// so two consoles never take each other's session over, a clean session, TCP_NODELAY, and a
// bounded wait for CONNACK. A refused login is reported at once, not retried.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import type { ConsoleLogin } from './login.ts';

/** What to check when the broker cannot be reached at all. */
const CHECK_URL = 'is the broker running there? check --url (or KIOSKPAY_MQTT_URL, or the url in the --login file)';

export class NotConnectedError extends Error {
  override name = 'NotConnectedError';
}

export interface ConnectOptions {
  /** How long to wait for the broker's CONNACK, in ms. */
  connectTimeoutMs: number;
  /** Reconnect after a lost connection (the REPL does, a one-shot command does not). */
  reconnect: boolean;
}

export async function connectConsole(login: ConsoleLogin, o: ConnectOptions): Promise<MqttClient> {
  const client = mqtt.connect(login.url, {
    protocolVersion: 4,
    clientId: `kp-console-${randomBytes(6).toString('hex')}`,
    username: login.username,
    password: login.password,
    clean: true,
    keepalive: 30,
    connectTimeout: o.connectTimeoutMs,
    reconnectPeriod: o.reconnect ? 2_000 : 0,
    reconnectOnConnackError: false,
    queueQoSZero: false,
  });
  client.on('connect', () => (client.stream as Socket).setNoDelay?.(true));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new NotConnectedError(
              `could not reach the broker at ${login.url} within ${Math.round(o.connectTimeoutMs / 1000)} s; ${CHECK_URL}`,
            ),
          ),
        o.connectTimeoutMs,
      );
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      client.once('error', (err) => {
        clearTimeout(timer);
        const refused = /not authori[sz]ed|bad user ?name or password/i.test(err.message);
        reject(
          new NotConnectedError(
            refused
              ? `the broker at ${login.url} refused the login of ${login.username} (${err.message}); check --username and --password, or the --login file (kioskpay up writes a fresh DATA/up/technician.json at every start)`
              : `cannot connect to ${login.url}: ${err.message}; ${CHECK_URL}`,
          ),
        );
      });
    });
  } catch (e) {
    client.end(true);
    throw e;
  }
  client.on('error', () => {
    /* reported through 'offline'/'close'; an unhandled 'error' would crash */
  });
  return client;
}
