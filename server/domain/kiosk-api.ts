// SPDX-License-Identifier: Apache-2.0
// Dispatch of one kiosk request to its handler. Transport-neutral: the MQTT adapter feeds it raw
// payloads and publishes what it returns. Never throws: every failure becomes a typed reply.
import { KioskpayError } from '../../shared/errors.ts';
import { kioskRequest, parseJsonMessage, type KioskReply, type KioskRequest } from '../../shared/kiosk-messages.ts';
import type { ServerContext } from './context.ts';
import { CommitUnknownError } from '../ports/store.ts';
import { pay, status, voidTx } from './payments.ts';
import { settle } from './settlement.ts';

export async function handleKioskPayload(ctx: ServerContext, kioskId: string, payload: Uint8Array): Promise<KioskReply> {
  const t1 = ctx.clock.nowMs();
  const parsed = parseJsonMessage(kioskRequest, payload);
  if (!parsed.ok) return { v: 1, type: 'error', re: parsed.id, code: parsed.code, message: parsed.message };
  const req = parsed.value;
  try {
    return await handle(ctx, kioskId, req, t1);
  } catch (e) {
    // The code's details (a wait for RATE_LIMITED) travel with it (shared/errors.ts ErrorDetails).
    if (e instanceof KioskpayError) return { v: 1, type: 'error', re: req.id, ...e.toWire() };
    ctx.log.error({ err: e, kioskId, type: req.type }, 'kiosk request failed');
    // An error reply tells the kiosk nothing was charged; when the ledger cannot tell, `unknown` makes it void the txId.
    if (e instanceof CommitUnknownError && req.type === 'pay')
      return { v: 1, type: 'pay.result', re: req.id, txId: req.txId, status: 'unknown' };
    return { v: 1, type: 'error', re: req.id, code: 'INTERNAL', message: 'internal error; nothing was charged by this request' };
  }
}

async function handle(ctx: ServerContext, kioskId: string, req: KioskRequest, t1: number): Promise<KioskReply> {
  switch (req.type) {
    case 'pay':
      return pay(ctx, kioskId, req);
    case 'status':
      return status(ctx, kioskId, req.id, req.txId);
    case 'void':
      return voidTx(ctx, kioskId, req.id, req.txId);
    case 'settle':
      return { v: 1, type: 'settle.result', re: req.id, items: await settle(ctx, kioskId, req.items) };
    case 'time':
      return { v: 1, type: 'time.result', re: req.id, t0: req.t0, t1, t2: ctx.clock.nowMs() };
  }
}
