// SPDX-License-Identifier: Apache-2.0
// A barrier for tests: the broker logs 'client disconnected' once it has processed a client's
// going away; until then it may still deliver to that client or refuse its client id to another.
import { Writable } from 'node:stream';
import pino from 'pino';

/** A logger whose `disconnected(clientId)` resolves once the broker has logged that client's disconnection. */
export function disconnectWatcher(waitMs: number): { logger: pino.Logger; disconnected(clientId: string): Promise<void> } {
  const gone = new Set<string>();
  const waiters = new Map<string, () => void>();
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _e, done) {
        const entry = JSON.parse(String(chunk)) as { msg?: string; clientId?: string };
        if (entry.msg === 'client disconnected' && entry.clientId) {
          gone.add(entry.clientId);
          waiters.get(entry.clientId)?.();
        }
        done();
      },
    }),
  );
  const disconnected = (clientId: string) =>
    new Promise<void>((resolve, reject) => {
      if (gone.has(clientId)) return resolve();
      const timer = setTimeout(() => reject(new Error(`broker did not log ${clientId} disconnecting`)), waitMs);
      waiters.set(clientId, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  return { logger, disconnected };
}
