// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import type { KioskRequest, KioskReply } from '../../shared/kiosk-messages.ts';
import { UplinkOfflineError, UplinkTimeoutError } from '../uplink/uplink.ts';
import { payOnline, voidTx, type RequestUplink } from './online-payment.ts';

/** A scripted uplink: each request type answers from a queue of replies or timeouts. */
function scripted(script: Record<string, Array<'timeout' | ((r: KioskRequest) => KioskReply)>>) {
  const sent: KioskRequest[] = [];
  const uplink: RequestUplink = {
    async request(req) {
      sent.push(req as KioskRequest);
      const next = script[req.type]?.shift();
      if (!next || next === 'timeout') throw new UplinkTimeoutError(req.id, 5_000);
      return next(req as KioskRequest) as never;
    },
  };
  return { uplink, sent };
}

const result =
  (status: 'approved' | 'declined' | 'voided' | 'unknown') =>
  (r: KioskRequest): KioskReply => ({ v: 1, type: 'pay.result', re: r.id, txId: 'tx-1', status });

let n = 0;
const opts = { nextId: () => `c${++n}` };
const payment = { txId: 'tx-1', code: '31000000000000000000', amount: { value: 100, currency: 'JPY' as const } };

describe('online payment at the kiosk', () => {
  it('returns the answer when it comes in time', async () => {
    const { uplink, sent } = scripted({ pay: [result('approved')] });
    expect((await payOnline(uplink, payment, opts)).outcome).toBe('approved');
    expect(sent.map((s) => s.type)).toEqual(['pay']);
  });

  it('puts the sale lines on the pay request when given, and sends no lines field otherwise', async () => {
    const lines = [{ gtin: '4901000000013', qty: 2, unitPrice: { value: 50, currency: 'JPY' as const } }];
    const a = scripted({ pay: [result('approved')] });
    await payOnline(a.uplink, { ...payment, lines }, opts);
    expect(a.sent[0]).toMatchObject({ type: 'pay', txId: 'tx-1', amount: payment.amount, lines });
    const b = scripted({ pay: [result('approved')] });
    await payOnline(b.uplink, payment, opts);
    expect('lines' in b.sent[0]!).toBe(false);
  });

  it('after a timeout asks the status of the same txId instead of paying again', async () => {
    const { uplink, sent } = scripted({ pay: ['timeout'], status: [result('approved')] });
    expect((await payOnline(uplink, payment, opts)).outcome).toBe('approved');
    expect(sent.map((s) => [s.type, 'txId' in s ? s.txId : ''])).toEqual([
      ['pay', 'tx-1'],
      ['status', 'tx-1'],
    ]);
  });

  it('voids a txId the server never saw', async () => {
    const { uplink, sent } = scripted({ pay: ['timeout'], status: [result('unknown')], void: [result('voided')] });
    expect((await payOnline(uplink, payment, opts)).outcome).toBe('voided');
    expect(sent.map((s) => s.type)).toEqual(['pay', 'status', 'void']);
  });

  it('keeps trying status, then void, and reports indeterminate when nothing answers', async () => {
    const { uplink, sent } = scripted({});
    expect((await payOnline(uplink, payment, opts)).outcome).toBe('indeterminate');
    expect(sent.map((s) => s.type)).toEqual(['pay', 'status', 'status', 'status', 'void', 'void', 'void']);
    expect(new Set(sent.map((s) => ('txId' in s ? s.txId : '')))).toEqual(new Set(['tx-1']));
  });

  it('reports not-sent when the uplink is down at the start: nothing to void', async () => {
    const sent: string[] = [];
    const uplink: RequestUplink = {
      async request(req) {
        sent.push(req.type);
        throw new UplinkOfflineError();
      },
    };
    expect(await payOnline(uplink, payment, opts)).toEqual({ outcome: 'not-sent' });
    expect(sent).toEqual(['pay']);
  });

  it('tells uplink failures apart by their class, not their name: an Error merely named like one is thrown on', async () => {
    const lookalike = Object.assign(new Error('down'), { name: 'UplinkOfflineError' });
    const uplink: RequestUplink = {
      async request() {
        throw lookalike;
      },
    };
    await expect(payOnline(uplink, payment, opts)).rejects.toBe(lookalike);
  });

  it('passes typed server errors through', async () => {
    const { uplink } = scripted({ pay: [(r) => ({ v: 1, type: 'error', re: r.id, code: 'UNKNOWN_KIOSK', message: 'x' })] });
    expect(await payOnline(uplink, payment, opts)).toEqual({ outcome: 'error', code: 'UNKNOWN_KIOSK', message: 'x' });
  });

  it('asks the status again when a status request is refused RATE_LIMITED (the pay is still unknown)', async () => {
    const limited = (r: KioskRequest): KioskReply => ({
      v: 1,
      type: 'error',
      re: r.id,
      code: 'RATE_LIMITED',
      message: 'slow down',
      retryAfterMs: 50,
    });
    const { uplink, sent } = scripted({ pay: ['timeout'], status: [limited, result('approved')] });
    expect((await payOnline(uplink, payment, opts)).outcome).toBe('approved');
    expect(sent.map((s) => s.type)).toEqual(['pay', 'status', 'status']);
  });

  it('voids a pay answered unknown, as the kiosk does (the server never saw it)', async () => {
    const { uplink, sent } = scripted({ pay: [result('unknown')], void: [result('voided')] });
    expect((await payOnline(uplink, payment, opts)).outcome).toBe('voided');
    expect(sent.map((s) => s.type)).toEqual(['pay', 'void']);
  });

  it('reports a void the server refused as indeterminate: nothing was voided, so the txId is kept', async () => {
    const refused = (r: KioskRequest): KioskReply => ({ v: 1, type: 'error', re: r.id, code: 'INTERNAL', message: 'disk' });
    const { uplink, sent } = scripted({ void: [refused] });
    expect(await voidTx(uplink, 'tx-1', opts.nextId)).toEqual({ outcome: 'indeterminate' });
    expect(sent.map((s) => s.type)).toEqual(['void']);
  });

  it('does not take a RATE_LIMITED void for done: tries again, then reports indeterminate', async () => {
    const limited = (r: KioskRequest): KioskReply => ({ v: 1, type: 'error', re: r.id, code: 'RATE_LIMITED', message: 'slow down' });
    const { uplink, sent } = scripted({ pay: ['timeout'], status: [result('unknown')], void: [limited, limited, limited] });
    expect((await payOnline(uplink, payment, opts)).outcome).toBe('indeterminate');
    expect(sent.map((s) => s.type)).toEqual(['pay', 'status', 'void', 'void', 'void']);
  });
});
