// SPDX-License-Identifier: Apache-2.0
// The kiosk state writer (failed writes reported, never thrown where nobody waits) and the in-flight ledger on it.
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { INFLIGHT_MAX, initialKioskState, VOID_LATER_MAX, type KioskState, type KioskStatePort } from './kiosk-state.ts';
import { InflightLedger } from './inflight-ledger.ts';
import { KioskStateWriter } from './state-writer.ts';

/** A state store in memory whose writes fail while `failing` is set (the change stays in memory, as in the real one). */
function memoryState(initial: KioskState = initialKioskState()) {
  let state = initial;
  const s = {
    failing: false,
    writes: 0,
    get state() {
      return state;
    },
    update(change: (x: KioskState) => KioskState): Promise<void> {
      state = change(state);
      s.writes++;
      return s.failing ? Promise.reject(new Error('EIO (test)')) : Promise.resolve();
    },
  };
  return s satisfies KioskStatePort & { failing: boolean };
}

function logSink() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _e, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    }),
  );
  return { lines, logger };
}

describe('KioskStateWriter', () => {
  it('save() never rejects: a failed write resolves false, is logged with what it was for, and reported once until a write lands', async () => {
    const store = memoryState();
    const { lines, logger } = logSink();
    const reports: boolean[] = [];
    const w = new KioskStateWriter(store, logger, (raised) => reports.push(raised));
    store.failing = true;
    expect(await w.save('catalog', (s) => ({ ...s, lastUplinkAtMs: 1 }))).toBe(false);
    expect(await w.save('clock', (s) => ({ ...s, lastUplinkAtMs: 2 }))).toBe(false);
    expect(w.failing).toBe(true);
    expect(w.state.lastUplinkAtMs).toBe(2);
    expect(reports).toEqual([true]);
    expect(lines.filter((l) => l['msg'] === 'kiosk state not saved').map((l) => l['what'])).toEqual(['catalog', 'clock']);
    store.failing = false;
    expect(await w.save('clock', (s) => ({ ...s, lastUplinkAtMs: 3 }))).toBe(true);
    expect(reports).toEqual([true, false]);
    expect(w.failing).toBe(false);
  });

  it('update() rejects as the store does, and reports the failure too', async () => {
    const store = memoryState();
    const reports: boolean[] = [];
    const w = new KioskStateWriter(store, pino({ level: 'silent' }), (raised) => reports.push(raised));
    store.failing = true;
    await expect(w.update('policy', (s) => s)).rejects.toThrow('EIO');
    expect(reports).toEqual([true]);
    store.failing = false;
    await w.update('policy', (s) => s);
    expect(reports).toEqual([true, false]);
  });
});

describe('InflightLedger', () => {
  function ledger(initial?: KioskState) {
    const store = memoryState(initial);
    const { lines, logger } = logSink();
    let queued = 0;
    const state = new KioskStateWriter(store, logger, () => undefined);
    return {
      store,
      lines,
      state,
      queued: () => queued,
      l: new InflightLedger({
        state,
        log: logger,
        onVoidQueued: () => {
          queued++;
        },
      }),
    };
  }

  it('records a pay before it is sent, clears it once decided, and queues a given-up txId to void', async () => {
    const t = ledger();
    await t.l.sending('tx-1');
    expect(t.state.state.inflight).toEqual(['tx-1']);
    await t.l.voidLater('tx-1');
    expect(t.state.state).toMatchObject({ inflight: [], voidLater: ['tx-1'] });
    expect(t.queued()).toBe(1);
    await t.l.sending('tx-2');
    await t.l.decided('tx-2');
    expect(t.state.state.inflight).toEqual([]);
    await t.l.voided('tx-1');
    expect(t.l.toVoid).toEqual([]);
  });

  it('at start, moves the payments a power loss interrupted to be voided', async () => {
    const t = ledger({ ...initialKioskState(), inflight: ['tx-a'], voidLater: ['tx-b'] });
    expect(t.l.recoverInterrupted()).toEqual(['tx-a']);
    await Promise.resolve();
    expect(t.state.state).toMatchObject({ inflight: [], voidLater: ['tx-b', 'tx-a'] });
  });

  it('keeps its lists within INFLIGHT_MAX and VOID_LATER_MAX, dropping the oldest with an error logged', async () => {
    const full = Array.from({ length: VOID_LATER_MAX }, (_, i) => `v${i}`);
    const t = ledger({ ...initialKioskState(), voidLater: full, inflight: Array.from({ length: INFLIGHT_MAX }, (_, i) => `f${i}`) });
    await t.l.voidLater('v-new');
    await t.l.sending('f-new');
    expect(t.state.state.voidLater).toHaveLength(VOID_LATER_MAX);
    expect(t.state.state.voidLater[0]).toBe('v1');
    expect(t.state.state.voidLater.at(-1)).toBe('v-new');
    expect(t.state.state.inflight).toHaveLength(INFLIGHT_MAX);
    expect(t.state.state.inflight.at(-1)).toBe('f-new');
    expect(t.lines.filter((l) => l['level'] === 50).map((l) => l['dropped'])).toEqual([['v0'], ['f0']]);
  });

  it('does not void at once a txId whose queueing was not saved (it goes with the next connection)', async () => {
    const t = ledger();
    t.store.failing = true;
    await t.l.voidLater('tx-1');
    expect(t.queued()).toBe(0);
    expect(t.l.toVoid).toEqual(['tx-1']);
  });
});
