// SPDX-License-Identifier: Apache-2.0
// Child process of uplink-broker.test.ts: a broker on port 0 and an uplink whose login it refuses
// (CONNACK 4), then everything closed. The process must then exit by itself: anything still
// holding it (a reconnect timer, a socket) is the bug under test. Prints what it saw as one JSON line.
import { Writable } from 'node:stream';
import pino from 'pino';
import { startBroker } from '../broker/broker.ts';
import { testIdentities } from '../broker/testing/test-identities.ts';
import { MqttUplink } from '../device/uplink/mqtt-uplink.ts';
import { UplinkConnectError } from '../device/uplink/uplink.ts';

const mode = process.argv[2];
const broker = await startBroker({ port: 0, identities: await testIdentities(), limits: { authBackoffBaseMs: 0 } });
const login = { url: broker.url, kioskId: 'k1', username: 'k1', password: 'wrong' };
let refused: number | undefined;
if (mode === 'connect') {
  // connect() closes the uplink itself when the broker refuses it.
  const err = await MqttUplink.connect(login).then(
    () => undefined,
    (e: unknown) => e,
  );
  refused = err instanceof UplinkConnectError ? err.returnCode : undefined;
} else {
  // open(): the refusal arrives in the background (logged as an MQTT error); close right after it.
  let uplink: MqttUplink | undefined;
  const closed = new Promise<void>((resolve) => {
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk, _enc, done) {
          const line = JSON.parse(String(chunk)) as { msg?: string; code?: unknown };
          if (line.msg === 'mqtt error' && line.code === 4 && refused === undefined) {
            refused = 4;
            queueMicrotask(() => void uplink!.close().then(resolve));
          }
          done();
        },
      }),
    );
    uplink = MqttUplink.open({ ...login, logger });
  });
  await closed;
}
await broker.close();
console.log(JSON.stringify({ refused }));
