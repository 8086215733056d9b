// SPDX-License-Identifier: Apache-2.0
// Every row of the security matrix, in the order docs/security.md lists them.
import { rowsAt, type RunnableRow } from './matrix.ts';
import { serverOnlineRows } from './rows-server.ts';
import { serverSettlementRows } from './rows-settlement.ts';
import { startServerEnv } from './server-env.ts';
import { kioskOfflineRows } from './rows-kiosk.ts';
import { startKioskEnv } from './kiosk-env.ts';
import { mqttRows } from './rows-mqtt.ts';
import { startMqttEnv } from './mqtt-env.ts';
import { httpRows } from './rows-http.ts';
import { startHttpEnv } from './http-env.ts';

export const MATRIX: readonly RunnableRow[] = Object.freeze([
  ...rowsAt('server, kiosk online', () => startServerEnv(), serverOnlineRows),
  ...rowsAt('server, settlement of stored payments', () => startServerEnv(), serverSettlementRows),
  ...rowsAt('kiosk offline pre-check', startKioskEnv, kioskOfflineRows),
  ...rowsAt('broker and server over MQTT', startMqttEnv, mqttRows),
  ...rowsAt('wallet HTTP API', startHttpEnv, httpRows),
]);
