// SPDX-License-Identifier: Apache-2.0
// Forwards the outbox to the server once the uplink is back (docs/protocol.md 3.6).
//
// - Entries go in `settle` batches of at most SETTLE_ITEMS_MAX, oldest first, each entry at most
//   once per run (an entry the server did not answer waits for the next run). A batch also stays
//   within KIOSK_MESSAGE_BYTES_MAX: an entry's sale lines make it up to about 10 KB, so a batch of
//   long baskets holds fewer entries, and the rest go in the next batch.
// - Each item carries what the entry stored: its sale lines when it has them (an entry stored
//   before kiosks listed their sales has none, and is sent without).
// - An entry is acknowledged (removed) only after a settle.result item names its txId: settled and
//   declined are both final. Declines are returned for the operator, never dropped silently.
// - An entry the kiosk holds (ForwardOptions.held: declined while its write was in doubt) is never sent.
// - A RATE_LIMITED reply means the server did not handle the batch: the run waits (the reply's
//   retryAfterMs plus backoff with jitter) and sends the same batch again, a bounded number of times.
// - A timeout, an offline uplink or an error reply stops the run; what was not answered stays stored.
//   The next run resends the same txIds ([PROTO-SETTLE-1]: the server is idempotent), including
//   after a crash between the server's answer and our acknowledge. No new txId is ever made here.
import { assert } from '../../shared/assert.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import {
  KIOSK_MESSAGE_BYTES_MAX,
  SETTLE_ITEMS_MAX,
  type ErrorReply,
  type SettleItem,
  type SettleItemResult,
  type SettleRequest,
  type SettleResult,
} from '../../shared/kiosk-messages.ts';
import type { Money } from '../../shared/money.ts';
import { systemTimers, type Timers } from '../timers.ts';
import { retryDelayMs, waitMs } from '../uplink/rate-limit-retry.ts';
import { isUplinkError, type UplinkErrorCode } from '../uplink/uplink.ts';
import type { OutboxEntry, OutboxStore } from './outbox-store.ts';

/**
 * The part of the uplink the forwarder needs (any Uplink fits). Rejects with UplinkTimeoutError,
 * UplinkOfflineError or UplinkClosedError as device/uplink/uplink.ts documents.
 */
export interface SettleUplink {
  request(req: SettleRequest): Promise<SettleResult | ErrorReply>;
}

export interface ForwardOptions {
  /** Fresh correlation ids for requests (never used as txIds). */
  nextId: () => string;
  /** Items per batch, 1..SETTLE_ITEMS_MAX; default SETTLE_ITEMS_MAX. */
  batchItemsMax?: number;
  /** Batches per run at most; then the run stops with 'batch-limit'. Default 50 (5,000 items). */
  batchesMax?: number;
  /** Called after each answered batch, for the kiosk screen and telemetry. */
  onProgress?: (p: ForwardProgress) => void;
  /**
   * Called with a batch's declines BEFORE they leave the outbox, so the kiosk can keep them durably
   * for review; if it rejects, nothing of the batch is acknowledged and the run stops (rejects).
   */
  keepDeclined?: (declined: readonly DeclinedPayment[]) => Promise<void>;
  /**
   * Entries never to send: the checkout declined them while their write was in doubt, and the kiosk
   * removes them. Asked before every batch, so an entry that lands during a run is held too.
   */
  held?: (txId: string) => boolean;
  /** RATE_LIMITED batches: waits on these timers (default the system's), jitter from `random` (default Math.random). */
  timers?: Pick<Timers, 'setTimeout' | 'clearTimeout'>;
  random?: () => number;
  /** Resends of one batch after RATE_LIMITED replies; then the run ends 'rate-limited'. Default 5. */
  rateLimitedResendsMax?: number;
}

export interface ForwardProgress {
  batches: number;
  settled: number;
  declined: number;
  /** Entries still stored. */
  remaining: number;
}

/** A payment the server refused at settlement: the operator's to follow up. No code text. */
export interface DeclinedPayment {
  txId: string;
  amount: Money;
  capturedAt: number;
  credentialId: string;
  counter: number;
  reason: ErrorCode | undefined;
}

/**
 * How a run ended:
 * - 'drained': the outbox holds nothing to send (held entries aside);
 * - 'unanswered': every stored entry was sent, but some got no result item (they stay stored);
 * - 'timeout' | 'offline' | 'closed': the uplink failed; unanswered entries stay stored;
 * - 'server-error': the server answered with an error reply (in `error`);
 * - 'rate-limited': the server kept refusing a batch with RATE_LIMITED; nothing of it was handled;
 * - 'batch-limit': batchesMax reached with entries left.
 */
export type ForwardEnd = 'drained' | 'unanswered' | 'timeout' | 'offline' | 'closed' | 'server-error' | 'rate-limited' | 'batch-limit';

export interface ForwardReport {
  end: ForwardEnd;
  error?: { code: ErrorCode; message: string };
  batches: number;
  settled: Array<{ txId: string; paymentId: string | undefined }>;
  declined: DeclinedPayment[];
  /** Sent in this run without a result item: still stored. */
  unanswered: string[];
  /** Result items naming a txId that was not in the batch: ignored, never acknowledged. */
  ignoredResults: string[];
  remaining: number;
}

/** How an uplink failure ends the run; a connect failure cannot happen on a request. */
const UPLINK_ENDS: Partial<Record<UplinkErrorCode, ForwardEnd>> = { timeout: 'timeout', offline: 'offline', closed: 'closed' };

export async function forwardOutbox(store: OutboxStore, uplink: SettleUplink, o: ForwardOptions): Promise<ForwardReport> {
  const batchItemsMax = o.batchItemsMax ?? SETTLE_ITEMS_MAX;
  const batchesMax = o.batchesMax ?? 50;
  assert(
    Number.isSafeInteger(batchItemsMax) && batchItemsMax >= 1 && batchItemsMax <= SETTLE_ITEMS_MAX,
    `batchItemsMax must be 1..${SETTLE_ITEMS_MAX}`,
  );
  assert(Number.isSafeInteger(batchesMax) && batchesMax >= 1, 'batchesMax must be a positive integer');

  const report: ForwardReport = { end: 'drained', batches: 0, settled: [], declined: [], unanswered: [], ignoredResults: [], remaining: 0 };
  const sent = new Set<string>();
  const resendsMax = o.rateLimitedResendsMax ?? 5;
  let resends = 0;
  const finish = (end: ForwardEnd): ForwardReport => {
    report.end = end;
    report.remaining = store.list().length;
    return report;
  };

  for (;;) {
    const sendable = store.list().filter((e) => !o.held?.(e.txId));
    const unsent = sendable.filter((e) => !sent.has(e.txId));
    if (unsent.length === 0) return finish(sendable.length === 0 ? 'drained' : 'unanswered');
    if (report.batches >= batchesMax) return finish('batch-limit');

    const id = o.nextId();
    const { batch, items } = fitBatch(unsent, batchItemsMax, KIOSK_MESSAGE_BYTES_MAX - jsonBytes({ v: 1, type: 'settle', id, items: [] }));
    let reply: SettleResult | ErrorReply;
    try {
      reply = await uplink.request({ v: 1, type: 'settle', id, items });
    } catch (e) {
      const end = isUplinkError(e) ? UPLINK_ENDS[e.code] : undefined;
      if (end === undefined) throw e;
      return finish(end);
    }
    if (reply.type === 'error' && reply.code === 'RATE_LIMITED') {
      report.error = { code: reply.code, message: reply.message };
      if (resends >= resendsMax) return finish('rate-limited');
      await waitMs(retryDelayMs(resends++, reply.retryAfterMs, o.random ?? Math.random), o.timers ?? systemTimers);
      continue;
    }
    resends = 0;
    delete report.error;
    report.batches++;
    for (const e of batch) sent.add(e.txId);
    if (reply.type === 'error') {
      report.error = { code: reply.code, message: reply.message };
      return finish('server-error');
    }
    await applyResult(store, batch, reply.items, report, o.keepDeclined);
    o.onProgress?.({
      batches: report.batches,
      settled: report.settled.length,
      declined: report.declined.length,
      remaining: store.list().length,
    });
  }
}

function settleItemOf(e: OutboxEntry): SettleItem {
  const item: SettleItem = {
    txId: e.txId,
    code: e.code,
    amount: { value: e.amount.value, currency: e.amount.currency },
    capturedAt: e.capturedAt,
  };
  if (e.lines !== undefined)
    item.lines = e.lines.map((l) => ({ ...l, unitPrice: { value: l.unitPrice.value, currency: l.unitPrice.currency } }));
  return item;
}

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/**
 * The oldest entries that fit one batch: at most itemsMax, and items whose JSON (with the commas
 * between them) takes at most bytesMax. The first entry always goes (one item is far below the limit).
 */
function fitBatch(entries: readonly OutboxEntry[], itemsMax: number, bytesMax: number): { batch: OutboxEntry[]; items: SettleItem[] } {
  const batch: OutboxEntry[] = [];
  const items: SettleItem[] = [];
  let bytes = 0;
  for (const e of entries) {
    if (items.length >= itemsMax) break;
    const item = settleItemOf(e);
    const size = jsonBytes(item) + (items.length > 0 ? 1 : 0);
    if (items.length > 0 && bytes + size > bytesMax) break;
    bytes += size;
    batch.push(e);
    items.push(item);
  }
  return { batch, items };
}

/** Acknowledges exactly the batch entries that have a result item, then records them in the report. */
async function applyResult(
  store: OutboxStore,
  batch: readonly OutboxEntry[],
  items: readonly SettleItemResult[],
  report: ForwardReport,
  keepDeclined: ForwardOptions['keepDeclined'],
): Promise<void> {
  const byTxId = new Map(batch.map((e) => [e.txId, e]));
  const answered = new Map<string, SettleItemResult>();
  for (const item of items) {
    if (!byTxId.has(item.txId)) report.ignoredResults.push(item.txId);
    // A repeated item answers nothing new: the first one counts.
    else if (!answered.has(item.txId)) answered.set(item.txId, item);
  }
  const declined: DeclinedPayment[] = [];
  for (const e of batch) {
    const item = answered.get(e.txId);
    if (item && item.status !== 'settled')
      declined.push({
        txId: e.txId,
        amount: e.amount,
        capturedAt: e.capturedAt,
        credentialId: e.credentialId,
        counter: e.counter,
        reason: item.reason,
      });
  }
  if (declined.length > 0 && keepDeclined) await keepDeclined(declined);
  // Durable removal next: if we crash here, the next run resends and the server answers the same.
  await store.acknowledge([...answered.keys()]);
  for (const e of batch) {
    const item = answered.get(e.txId);
    if (!item) report.unanswered.push(e.txId);
    else if (item.status === 'settled') report.settled.push({ txId: e.txId, paymentId: item.paymentId });
  }
  report.declined.push(...declined);
}
