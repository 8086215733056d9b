// SPDX-License-Identifier: Apache-2.0
// Per-kiosk request limits (issue 12): one kiosk flooding the server over MQTT gets RATE_LIMITED
// for what is over its budget, while every request of another kiosk is answered normally. Real
// broker and server on port 0; the flood is bounded (150 requests, under the broker's publish burst of 200: this is the server's own limit, which also guards a Mosquitto deployment). Before the limits, every
// flooding request was handled (no RATE_LIMITED at all). A refusal carries the wait as a number
// (retryAfterMs, one request's worth of the budget), valid by the shared reply schema.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorReply } from '../../shared/kiosk-messages.ts';
import { topics } from '../../shared/topics.ts';
import { connectAs, startTestSystem, type TestSystem } from '../system-kit.ts';
import { eventually } from '../../shared/testing/wait.ts';

let system: TestSystem;
type Reply = { re: string; type: string; code?: string; retryAfterMs?: number };
const kiosks: { c: MqttClient; replies: Map<string, Reply> }[] = [];

beforeAll(async () => {
  system = await startTestSystem('flood', ['k1', 'k2']);
  for (const k of system.kiosks) {
    const c = await connectAs(k, 'flood');
    const replies = new Map<string, Reply>();
    c.on('message', (_t, p) => {
      const r = JSON.parse(p.toString()) as Reply;
      replies.set(r.re, r);
    });
    await c.subscribeAsync(topics.kioskReplies(k.kioskId), { qos: 1 });
    kiosks.push({ c, replies });
  }
}, 20_000);

afterAll(async () => {
  await Promise.all(kiosks.map((k) => k.c.endAsync(true)));
  await system?.close();
});

async function answered(k: (typeof kiosks)[number], ids: string[]): Promise<void> {
  await eventually(() => ids.every((id) => k.replies.has(id)), { what: `answers to ${ids.length} requests` }).catch((e: Error) => {
    throw new Error(`${e.message}: ${ids.filter((id) => !k.replies.has(id)).length} unanswered`);
  });
}

describe('per-kiosk request limits', () => {
  it('refuses what a flooding kiosk sends over its budget, and answers every request of another kiosk', async () => {
    const [flooder, other] = kiosks as [(typeof kiosks)[number], (typeof kiosks)[number]];
    const time = (id: string) => JSON.stringify({ v: 1, type: 'time', id, t0: 1 });
    const floodIds = Array.from({ length: 150 }, (_, i) => `f-${i}`);
    const otherIds = Array.from({ length: 10 }, (_, i) => `o-${i}`);
    // The other kiosk behaves as a kiosk does: one request at a time, during the whole flood.
    const oneByOne = async () => {
      for (const id of otherIds) {
        await other.c.publishAsync(topics.kioskRequests('k2'), time(id), { qos: 1 });
        await answered(other, [id]);
      }
    };
    await Promise.all([...floodIds.map((id) => flooder.c.publishAsync(topics.kioskRequests('k1'), time(id), { qos: 1 })), oneByOne()]);
    await answered(flooder, floodIds);
    await answered(other, otherIds);
    const limited = floodIds.filter((id) => flooder.replies.get(id)?.code === 'RATE_LIMITED').length;
    expect(limited).toBeGreaterThan(0);
    for (const id of floodIds.filter((i) => flooder.replies.get(i)?.code === 'RATE_LIMITED')) {
      const r = flooder.replies.get(id)!;
      expect(errorReply.safeParse(r).success).toBe(true);
      expect(r.retryAfterMs).toBe(50); // 20 requests/s by default
    }
    expect(floodIds.filter((id) => flooder.replies.get(id)?.type === 'time.result').length).toBeGreaterThan(0);
    expect(otherIds.map((id) => other.replies.get(id)?.type)).toEqual(otherIds.map(() => 'time.result'));
  }, 30_000);
});
