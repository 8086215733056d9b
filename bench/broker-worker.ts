// SPDX-License-Identifier: Apache-2.0
// The embedded broker on its own thread, as it runs in production on its own process: the bench
// keeps the broker off the event loop of whatever it measures (the server, or the echo responder).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { BrokerOptions, RunningBroker } from '../broker/broker.ts';

export type BrokerHandle = Pick<RunningBroker, 'port' | 'url' | 'close'> & {
  /** The broker thread's id (Linux), for the bench's CPU by thread. */
  threadId?: string;
};

/** Worker entry as plain JS: it registers tsx itself, then loads this TypeScript file. */
const BOOT = `import('tsx/esm/api').then(({ register }) => { register(); return import(require('node:worker_threads').workerData.self); })`;

export function startBrokerInWorker(o: Pick<BrokerOptions, 'port' | 'host' | 'identities' | 'limits'>): Promise<BrokerHandle> {
  const worker = new Worker(BOOT, {
    eval: true,
    workerData: { self: import.meta.url, port: o.port, host: o.host, identities: o.identities, limits: o.limits },
  });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m: { port: number; url: string; threadId?: string }) =>
      resolve({
        port: m.port,
        url: m.url,
        ...(m.threadId ? { threadId: m.threadId } : {}),
        close: () =>
          new Promise<void>((done) => {
            worker.once('exit', () => done());
            worker.postMessage('close');
          }),
      }),
    );
  });
}

if (!isMainThread && parentPort) {
  const { startBroker } = await import('../broker/broker.ts');
  const port = parentPort;
  const { port: listenPort, host, identities, limits } = workerData as BrokerOptions;
  const broker = await startBroker({ port: listenPort, ...(host ? { host } : {}), identities, ...(limits ? { limits } : {}) });
  const { threadId } = await import('./thread-cpu.ts');
  port.postMessage({ port: broker.port, url: broker.url, threadId: threadId() });
  port.on('message', (m) => {
    if (m === 'close') void broker.close().then(() => port.close());
  });
}
