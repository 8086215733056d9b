// SPDX-License-Identifier: Apache-2.0
// The kiosk's pending voids (voidLater) read their answers by the idempotent-retry rule.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../shared/errors.ts';
import type { KioskReply, KioskRequest, TxStatus } from '../../shared/kiosk-messages.ts';
import { MemoryOutbox } from '../outbox/memory-outbox.ts';
import { InflightLedger } from './inflight-ledger.ts';
import { KioskForwarder } from './kiosk-forwarder.ts';
import { initialKioskState, type KioskState } from './kiosk-state.ts';
import { KioskStateWriter } from './state-writer.ts';

/** A kiosk with these txIds to void, over an uplink that answers each void as `answers` says. */
function pendingVoids(toVoid: string[], answers: Record<string, TxStatus | ErrorCode>) {
  let state: KioskState = { ...initialKioskState(), voidLater: toVoid };
  const log = pino({ level: 'silent' });
  const writer = new KioskStateWriter(
    {
      get state() {
        return state;
      },
      update: async (change) => {
        state = change(state);
      },
    },
    log,
    () => undefined,
  );
  const ledger = new InflightLedger({ state: writer, log, onVoidQueued: () => undefined });
  const sent: string[] = [];
  let n = 0;
  const forwarder = new KioskForwarder({
    outbox: new MemoryOutbox(),
    state: writer,
    ledger,
    uplink: {
      connected: true,
      request: async (req: KioskRequest): Promise<KioskReply> => {
        const txId = 'txId' in req ? req.txId : '';
        sent.push(txId);
        const a = answers[txId]!;
        if (a === 'approved' || a === 'declined' || a === 'voided' || a === 'unknown')
          return { v: 1, type: 'pay.result', re: req.id, txId, status: a };
        return { v: 1, type: 'error', re: req.id, code: a, message: 'test' };
      },
    } as never,
    newId: () => `id${++n}`,
    nowMs: () => 0,
    log,
    onProgress: () => undefined,
    onDeclined: () => undefined,
  });
  return { forwarder, sent, toVoid: () => ledger.toVoid };
}

describe('pending voids', () => {
  it('drop a txId once its void ended it, and keep one the server refused or did not know: nothing was voided', async () => {
    const p = pendingVoids(['t-voided', 't-refused', 't-unknown', 't-settled', 't-declined'], {
      't-voided': 'voided',
      't-refused': 'INTERNAL',
      't-unknown': 'unknown',
      't-settled': 'approved',
      't-declined': 'declined',
    });
    await p.forwarder.voidPending();
    expect(p.sent).toEqual(['t-voided', 't-refused', 't-unknown', 't-settled', 't-declined']);
    expect(p.toVoid()).toEqual(['t-refused', 't-unknown']);
  });

  it('stop the pass at a void not handled (RATE_LIMITED), keeping it and the rest for the next pass', async () => {
    const p = pendingVoids(['t-1', 't-2', 't-3'], { 't-1': 'voided', 't-2': 'RATE_LIMITED', 't-3': 'voided' });
    await p.forwarder.voidPending();
    expect(p.sent).toEqual(['t-1', 't-2']);
    expect(p.toVoid()).toEqual(['t-2', 't-3']);
  });
});
