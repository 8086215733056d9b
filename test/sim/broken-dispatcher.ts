// SPDX-License-Identifier: Apache-2.0
// A deliberately broken server dispatcher for the mutation test: it forgets every txId it has seen
// for `pay` and `settle`, so a repeated request (a duplicate, a retry after a lost reply, a second
// forwarding run) is handled as a new transaction. The real handleKioskPayload does the work; only
// the idempotency key is changed on the way in and restored on the way out. Server code is untouched.
import type { KioskReply } from '../../shared/kiosk-messages.ts';
import type { ServerContext } from '../../server/domain/context.ts';
import { handleKioskPayload } from '../../server/domain/kiosk-api.ts';
import type { Dispatcher } from './sim-server.ts';

export function forgetfulDispatcher(): Dispatcher & { forgotten: () => number } {
  const seen = new Set<string>();
  let n = 0;
  const fresh = (kioskId: string, txId: string): string => {
    const key = `${kioskId}/${txId}`;
    if (!seen.has(key)) {
      seen.add(key);
      return txId;
    }
    return `${txId}.again${++n}`;
  };
  const original = (txId: string) => txId.replace(/\.again\d+$/, '');
  const dispatch = async (ctx: ServerContext, kioskId: string, payload: Uint8Array): Promise<KioskReply> => {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    } catch {
      return handleKioskPayload(ctx, kioskId, payload);
    }
    if (msg['type'] === 'pay' && typeof msg['txId'] === 'string') msg = { ...msg, txId: fresh(kioskId, msg['txId']) };
    else if (msg['type'] === 'settle' && Array.isArray(msg['items'])) {
      msg = {
        ...msg,
        items: (msg['items'] as Array<Record<string, unknown>>).map((i) => ({ ...i, txId: fresh(kioskId, String(i['txId'])) })),
      };
    } else return handleKioskPayload(ctx, kioskId, payload);
    const reply = await handleKioskPayload(ctx, kioskId, new TextEncoder().encode(JSON.stringify(msg)));
    if (reply.type === 'pay.result') return { ...reply, txId: original(reply.txId) };
    if (reply.type === 'settle.result') return { ...reply, items: reply.items.map((i) => ({ ...i, txId: original(i.txId) })) };
    return reply;
  };
  return Object.assign(dispatch, { forgotten: () => n });
}
