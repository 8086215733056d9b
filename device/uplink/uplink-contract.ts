// SPDX-License-Identifier: Apache-2.0
// The contract every Uplink adapter passes (uplink.ts), run against SimUplink (sim-uplink.test.ts)
// and against MqttUplink with the real broker (test/uplink-broker.test.ts), in the style of
// outbox-contract.ts. Deadlines and backoff waits run on the adapter's injected ManualTimers, so no
// test sleeps for a timeout; the only real waiting is for messages to cross the network, bounded.
import { describe, expect, it } from 'vitest';
import type { KioskReply, KioskRequest, PayRequest, PayResult } from '../../shared/kiosk-messages.ts';
import { topics } from '../../shared/topics.ts';
import { eventually, turns, WAIT_MS } from '../../shared/testing/wait.ts';
import type { ManualTimers } from '../timers.ts';
import { isUplinkError, UplinkClosedError, UplinkOfflineError, UplinkTimeoutError, type Uplink, type UplinkErrorCode } from './uplink.ts';

/** The fake payment server's side of the network, as a test drives it. */
export interface ServerSide {
  /** Every request that reached the server, in order. */
  readonly received: KioskRequest[];
  /** Every message the uplink published (not requests), in order. */
  readonly published: Array<{ topic: string; payload: string }>;
  /** Sends a raw message on the kiosk's reply topic (a late, foreign or malformed reply). */
  reply(payload: string): Promise<void>;
  /** Publishes a retained broadcast, as the server does the catalog. */
  retain(topic: string, payload: string): Promise<void>;
}

/** How the fake server answers a request: a reply, or none (undefined). */
export type Answer = (req: KioskRequest, server: ServerSide) => KioskReply | undefined | Promise<KioskReply | undefined>;

export interface UplinkContractOptions {
  /** The kiosk id is always k1. */
  requestTimeoutMs: number;
  answer: Answer;
  /** The backoff jitter. */
  random: () => number;
  /** Extra subscriptions (retained broadcasts). */
  subscriptions: readonly string[];
}

export interface UplinkUnderTest {
  /** Connected (make() waits for it). */
  uplink: Uplink;
  /** The uplink's injected timers. */
  timers: ManualTimers;
  server: ServerSide;
  /** Pulls the cable; resolves once the uplink has said 'disconnected'. */
  cut(): Promise<void>;
  /** Puts it back; resolves once the uplink has said 'connected' again. */
  restore(): Promise<void>;
  /** Closes the uplink (if the test did not) and everything behind it. */
  dispose(): Promise<void>;
}

const amount = { value: 500, currency: 'JPY' as const };
const pay = (id: string, txId = `tx-${id}`): PayRequest => ({ v: 1, type: 'pay', id, txId, code: '31000000000000000000', amount });
const approved = (req: KioskRequest): PayResult => ({
  v: 1,
  type: 'pay.result',
  re: req.id,
  txId: 'txId' in req ? req.txId : '',
  status: 'approved',
  amount,
});
const rateLimited = (req: KioskRequest, retryAfterMs: number): KioskReply => ({
  v: 1,
  type: 'error',
  re: req.id,
  code: 'RATE_LIMITED',
  message: 'slow down',
  retryAfterMs,
});

/** What a promise came to, without waiting for it. */
function track<T>(p: Promise<T>): { settled: () => boolean; result: Promise<{ value?: T; error?: unknown }> } {
  let settled = false;
  const result = p
    .then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    )
    .finally(() => {
      settled = true;
    });
  return { settled: () => settled, result };
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => new Error('resolved, but a rejection was expected'),
    (e: unknown) => e,
  );
}

function expectUplinkError(e: unknown, code: UplinkErrorCode): void {
  expect(isUplinkError(e, code), `an UplinkError with code ${code}, got ${String(e)}`).toBe(true);
}

export function uplinkContract(name: string, make: (o: UplinkContractOptions) => Promise<UplinkUnderTest>): void {
  describe(`Uplink contract: ${name}`, () => {
    /** Runs `body` on a fresh connected uplink, always disposing of it. */
    async function using(o: Partial<UplinkContractOptions>, body: (u: UplinkUnderTest) => Promise<void>): Promise<void> {
      const under = await make({ requestTimeoutMs: 5_000, answer: approved, random: () => 0, subscriptions: [], ...o });
      try {
        await body(under);
      } finally {
        await under.dispose();
      }
    }

    it(
      'resolves a request with the reply that answers it, sent once, and clears its deadline',
      () =>
        using({}, async ({ uplink, timers, server }) => {
          expect(uplink.connected).toBe(true);
          expect(await uplink.request(pay('r1'))).toEqual(approved(pay('r1')));
          expect(server.received).toEqual([pay('r1')]);
          expect(uplink.pendingRequests).toBe(0);
          expect(timers.pending).toBe(0);
        }),
      WAIT_MS * 2,
    );

    it(
      'resolves with an error reply: the server answered',
      () =>
        using(
          {
            answer: (req) => ({ v: 1, type: 'error', re: req.id, code: 'MALFORMED_MESSAGE', message: 'no' }),
          },
          async ({ uplink }) => {
            expect(await uplink.request({ v: 1, type: 'status', id: 's1', txId: 't1' })).toEqual({
              v: 1,
              type: 'error',
              re: 's1',
              code: 'MALFORMED_MESSAGE',
              message: 'no',
            });
          },
        ),
      WAIT_MS * 2,
    );

    it(
      'matches concurrent requests by id when their replies come back in reverse order',
      async () => {
        const held: Array<() => void> = [];
        await using(
          {
            answer: (req) =>
              new Promise<KioskReply>((resolve) => {
                held.push(() => resolve(approved(req)));
                if (held.length === 3) for (const release of [...held].reverse()) release();
              }),
          },
          async ({ uplink }) => {
            const ids = ['c1', 'c2', 'c3'];
            const replies = await Promise.all(ids.map((id) => uplink.request(pay(id))));
            expect(replies.map((r) => [r.re, r.type === 'pay.result' ? r.txId : null])).toEqual(ids.map((id) => [id, `tx-${id}`]));
          },
        );
      },
      WAIT_MS * 2,
    );

    it(
      'drops what does not answer the request (malformed, another id, another txId, another type) and takes the answer',
      () =>
        using(
          {
            answer: async (req, server) => {
              await server.reply('not json {');
              await server.reply(JSON.stringify({ ...approved(req), re: 'someone-else' }));
              await server.reply(JSON.stringify({ ...approved(req), txId: 'someone-elses-tx' }));
              await server.reply(JSON.stringify({ v: 1, type: 'time.result', re: req.id, t0: 1, t1: 2, t2: 3 }));
              return approved(req);
            },
          },
          async ({ uplink, server }) => {
            expect(await uplink.request(pay('m1'))).toEqual(approved(pay('m1')));
            expect(server.received).toHaveLength(1);
          },
        ),
      WAIT_MS * 2,
    );

    it(
      'rejects with UplinkTimeoutError when its injected timers pass the deadline, never resends, and drops the late reply',
      () =>
        using(
          {
            requestTimeoutMs: 3_000,
            answer: (req) => (req.id === 'slow' ? undefined : approved(req)),
          },
          async ({ uplink, timers, server }) => {
            const slow = track(uplink.request(pay('slow')));
            await eventually(() => server.received.length === 1, { what: 'the request reaching the server' });
            timers.advance(2_999);
            await turns();
            expect(slow.settled()).toBe(false);
            expect(uplink.pendingRequests).toBe(1);
            timers.advance(1);
            const { error } = await slow.result;
            expect(error).toBeInstanceOf(UplinkTimeoutError);
            expectUplinkError(error, 'timeout');
            expect(error).toMatchObject({ requestId: 'slow', timeoutMs: 3_000 });
            expect(uplink.pendingRequests).toBe(0);
            expect(server.received).toEqual([pay('slow')]);
            // The late reply matches nothing; the next request gets its own answer.
            await server.reply(JSON.stringify(approved(pay('slow'))));
            expect(await uplink.request(pay('after'))).toMatchObject({ re: 'after' });
          },
        ),
      WAIT_MS * 2,
    );

    it(
      'sends the SAME request again after a RATE_LIMITED reply, once retryAfterMs has passed on its timers',
      async () => {
        let refusals = 1;
        await using(
          {
            answer: (req) => (refusals-- > 0 ? rateLimited(req, 300) : approved(req)),
          },
          async ({ uplink, timers, server }) => {
            const paying = uplink.request(pay('rl'));
            // The refusal arrived: its deadline is gone, the backoff wait (jitter 0) remains.
            await eventually(() => server.received.length === 1 && uplink.pendingRequests === 0 && timers.pending === 1, {
              what: 'the refusal',
            });
            timers.advance(299);
            await turns();
            // Barrier: a message published now reaches the server after any resend sent before it.
            await uplink.publish(topics.kioskEvents('k1'), '{"marker":1}');
            await eventually(() => server.published.length === 1, { what: 'the marker published after 299 ms' });
            expect(server.received).toHaveLength(1);
            timers.advance(1);
            expect(await paying).toEqual(approved(pay('rl')));
            expect(server.received).toEqual([pay('rl'), pay('rl')]);
          },
        );
      },
      WAIT_MS * 2,
    );

    it(
      'fails fast with UplinkOfflineError while the link is down, sending nothing, and works again once reconnected',
      () =>
        using({}, async (under) => {
          const { uplink, server } = under;
          const events: string[] = [];
          uplink.on('connected', () => events.push('connected')).on('disconnected', () => events.push('disconnected'));
          await under.cut();
          expect(uplink.connected).toBe(false);
          const offline = await failure(uplink.request(pay('offline')));
          expect(offline).toBeInstanceOf(UplinkOfflineError);
          expectUplinkError(offline, 'offline');
          expectUplinkError(await failure(uplink.publish(topics.kioskEvents('k1'), '{}')), 'offline');
          expectUplinkError(await failure(uplink.resubscribe(topics.catalog)), 'offline');
          expect(uplink.pendingRequests).toBe(0);
          await under.restore();
          expect(uplink.connected).toBe(true);
          expect(await uplink.request(pay('back'))).toEqual(approved(pay('back')));
          expect(server.received).toEqual([pay('back')]);
          expect(events).toEqual(['disconnected', 'connected']);
        }),
      WAIT_MS * 3,
    );

    it(
      'ends a request whose link dropped while it waited by its deadline',
      () =>
        using(
          {
            requestTimeoutMs: 2_000,
            answer: () => undefined,
          },
          async (under) => {
            const { uplink, timers, server } = under;
            const waiting = track(uplink.request(pay('cut')));
            await eventually(() => server.received.length === 1, { what: 'the request reaching the server' });
            await under.cut();
            expect(waiting.settled()).toBe(false);
            timers.advance(2_000);
            expectUplinkError((await waiting.result).error, 'timeout');
          },
        ),
      WAIT_MS * 2,
    );

    it(
      'delivers messages of its extra subscriptions, and the retained one again on every connection',
      async () => {
        const seen: Array<{ topic: string; payload: string; retained: boolean }> = [];
        await using({ subscriptions: [topics.catalog] }, async (under) => {
          under.uplink.on('message', (topic, payload, retained) => seen.push({ topic, payload: payload.toString(), retained }));
          await under.server.retain(topics.catalog, '{"version":7}');
          await eventually(() => seen.length === 1, { what: 'the broadcast' });
          await under.cut();
          await under.restore();
          await eventually(() => seen.length === 2, { what: 'the retained broadcast after reconnecting' });
          expect(seen.map((m) => [m.topic, m.payload])).toEqual([
            [topics.catalog, '{"version":7}'],
            [topics.catalog, '{"version":7}'],
          ]);
          expect(seen[1]!.retained).toBe(true);
        });
      },
      WAIT_MS * 3,
    );

    it(
      'publishes while connected',
      () =>
        using({}, async ({ uplink, server }) => {
          await uplink.publish(topics.kioskEvents('k1'), '{"n":1}');
          await eventually(() => server.published.length === 1, { what: 'the published message' });
          expect(server.published).toEqual([{ topic: topics.kioskEvents('k1'), payload: '{"n":1}' }]);
        }),
      WAIT_MS * 2,
    );

    it(
      'close() rejects pending and later calls with UplinkClosedError, says disconnected once, and leaves no timer',
      () =>
        using(
          {
            answer: () => undefined,
          },
          async ({ uplink, timers, server }) => {
            const events: string[] = [];
            uplink.on('disconnected', () => events.push('disconnected'));
            const pending = track(uplink.request(pay('p1')));
            await eventually(() => server.received.length === 1, { what: 'the request reaching the server' });
            await uplink.close();
            const { error } = await pending.result;
            expect(error).toBeInstanceOf(UplinkClosedError);
            expectUplinkError(error, 'closed');
            expect(uplink.connected).toBe(false);
            expect(uplink.pendingRequests).toBe(0);
            expect(timers.pending).toBe(0);
            expectUplinkError(await failure(uplink.request(pay('p2'))), 'closed');
            expectUplinkError(await failure(uplink.publish(topics.kioskEvents('k1'), '{}')), 'closed');
            expectUplinkError(await failure(uplink.resubscribe(topics.catalog)), 'closed');
            await uplink.close();
            expect(events).toEqual(['disconnected']);
          },
        ),
      WAIT_MS * 2,
    );

    it(
      'close() ends a RATE_LIMITED backoff wait at once',
      () =>
        using(
          {
            answer: (req) => rateLimited(req, 1_000),
          },
          async ({ uplink, timers, server }) => {
            const paying = track(uplink.request(pay('rl')));
            await eventually(() => server.received.length === 1 && uplink.pendingRequests === 0 && timers.pending === 1, {
              what: 'the refusal',
            });
            await uplink.close();
            expectUplinkError((await paying.result).error, 'closed');
            expect(timers.pending).toBe(0);
            expect(server.received).toHaveLength(1);
          },
        ),
      WAIT_MS * 2,
    );

    it(
      'refuses programmer errors with a plain Error: a duplicate pending id, a malformed request',
      () =>
        using(
          {
            answer: () => undefined,
          },
          async ({ uplink }) => {
            const first = track(uplink.request(pay('dup')));
            const duplicate = await failure(uplink.request(pay('dup')));
            expect(duplicate).toBeInstanceOf(Error);
            expect(isUplinkError(duplicate)).toBe(false);
            expect((duplicate as Error).message).toMatch(/already pending/);
            const malformed = await failure(uplink.request({ ...pay('bad'), amount: { value: 1.5, currency: 'JPY' } }));
            expect(isUplinkError(malformed)).toBe(false);
            expect((malformed as Error).message).toMatch(/invalid pay request/);
            await uplink.close();
            expectUplinkError((await first.result).error, 'closed');
          },
        ),
      WAIT_MS * 2,
    );
  });
}
