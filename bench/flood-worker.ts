// SPDX-License-Identifier: Apache-2.0
// A flooding kiosk on its own thread (bench/fairness.ts), so its own work does not slow the server
// it floods: it publishes pay requests with well-formed codes that were never issued as fast as
// its connection takes them, and reconnects whenever the broker throws it out.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

export interface FloodLogin {
  url: string;
  username: string;
  password: string;
  kioskId: string;
}
export interface Flood {
  stop(): Promise<number>;
}

const BOOT = `import('tsx/esm/api').then(({ register }) => { register(); return import(require('node:worker_threads').workerData.self); })`;

/** Starts the flood; `stop()` ends it and resolves with the number of requests it sent while connected. */
export function startFlood(login: FloodLogin): Promise<Flood> {
  const worker = new Worker(BOOT, { eval: true, workerData: { self: import.meta.url, login } });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', () =>
      resolve({
        stop: () =>
          new Promise<number>((done) => {
            worker.once('message', (sent: number) => {
              void worker.terminate();
              done(sent);
            });
            worker.postMessage('stop');
          }),
      }),
    );
  });
}

if (!isMainThread && parentPort) {
  const mqtt = (await import('mqtt')).default;
  const { luhnCheckDigit } = await import('../shared/codes/luhn.ts');
  const { topics } = await import('../shared/topics.ts');
  const port = parentPort;
  const { login } = workerData as { login: FloodLogin };
  const client = await mqtt.connectAsync(login.url, {
    protocolVersion: 4,
    username: login.username,
    password: login.password,
    clientId: `kp-${login.kioskId}-flood`,
    reconnectPeriod: 50,
  });
  let stop = false;
  let sent = 0;
  port.on('message', () => {
    stop = true;
  });
  port.postMessage('started');
  const topic = topics.kioskRequests(login.kioskId);
  while (!stop) {
    for (let i = 0; i < 100 && client.connected; i++, sent++) {
      const body = `31${String(sent).padStart(17, '0')}`;
      client.publish(
        topic,
        JSON.stringify({
          v: 1,
          type: 'pay',
          id: `f${sent}`,
          txId: `f${sent}`,
          code: body + luhnCheckDigit(body),
          amount: { value: 100, currency: 'JPY' },
        }),
        { qos: 0 },
      );
    }
    await new Promise((r) => (client.connected ? setImmediate(r) : setTimeout(r, 10)));
  }
  await client.endAsync(true);
  port.postMessage(sent);
}
