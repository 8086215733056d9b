// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import type { ErrorReply, PayResult } from './kiosk-messages.ts';
import { nextOnlineStep, resultOfReply, type OnlineNext, type OnlineRequest, type RequestResult } from './idempotent-retry.ts';

const limits = { statusAttemptsMax: 3, voidAttemptsMax: 2 };
const answer = (status: PayResult['status'], reason?: 'INSUFFICIENT_FUNDS'): RequestResult => ({ kind: 'answer', status, reason });
const refused = (code: ErrorReply['code']): RequestResult => ({ kind: 'refused', code });
const noAnswer: RequestResult = { kind: 'no-answer' };
const notSent: RequestResult = { kind: 'not-sent' };

describe('the idempotent-retry rule of online payments', () => {
  it('ends with a definite answer to any request', () => {
    for (const request of ['pay', 'status', 'void'] as const) {
      expect(nextOnlineStep(request, 1, answer('approved'), limits)).toEqual({ end: 'approved' });
      expect(nextOnlineStep(request, 1, answer('declined', 'INSUFFICIENT_FUNDS'), limits)).toEqual({
        end: 'declined',
        reason: 'INSUFFICIENT_FUNDS',
      });
      expect(nextOnlineStep(request, 1, answer('voided'), limits)).toEqual({ end: 'voided' });
    }
  });

  it('names a reason for a decline that came without one: INTERNAL, or TX_VOIDED for a void', () => {
    expect(nextOnlineStep('pay', 1, answer('declined'), limits)).toEqual({ end: 'declined', reason: 'INTERNAL' });
    expect(nextOnlineStep('status', 1, answer('declined'), limits)).toEqual({ end: 'declined', reason: 'INTERNAL' });
    expect(nextOnlineStep('void', 1, answer('declined'), limits)).toEqual({ end: 'declined', reason: 'TX_VOIDED' });
  });

  it('asks for the status of the same txId when a pay gets no answer, never guessing', () => {
    expect(nextOnlineStep('pay', 1, noAnswer, limits)).toEqual({ next: 'status', attempt: 1 });
  });

  it('reports a pay that never left the kiosk as not sent: nothing can have been charged', () => {
    expect(nextOnlineStep('pay', 1, notSent, limits)).toEqual({ end: 'not-sent' });
  });

  it('takes an error reply to pay as the server refusing the pay itself: nothing was charged', () => {
    expect(nextOnlineStep('pay', 1, refused('RATE_LIMITED'), limits)).toEqual({ end: 'refused', code: 'RATE_LIMITED' });
    expect(nextOnlineStep('pay', 1, refused('TX_CONFLICT'), limits)).toEqual({ end: 'refused', code: 'TX_CONFLICT' });
  });

  it('voids after an error reply to status: the refusal says nothing about the unanswered pay, which may have charged', () => {
    expect(nextOnlineStep('status', 2, refused('UNKNOWN_KIOSK'), limits)).toEqual({ next: 'void', attempt: 1 });
    expect(nextOnlineStep('status', 1, refused('INTERNAL'), limits)).toEqual({ next: 'void', attempt: 1 });
  });

  it('voids a txId the server never saw, so that a late copy of the pay can never charge', () => {
    expect(nextOnlineStep('pay', 1, answer('unknown'), limits)).toEqual({ next: 'void', attempt: 1 });
    expect(nextOnlineStep('status', 2, answer('unknown'), limits)).toEqual({ next: 'void', attempt: 1 });
  });

  it('asks for the status again up to statusAttemptsMax, then voids', () => {
    for (const nothing of [noAnswer, notSent]) {
      expect(nextOnlineStep('status', 1, nothing, limits)).toEqual({ next: 'status', attempt: 2 });
      expect(nextOnlineStep('status', 2, nothing, limits)).toEqual({ next: 'status', attempt: 3 });
      expect(nextOnlineStep('status', 3, nothing, limits)).toEqual({ next: 'void', attempt: 1 });
    }
  });

  it('voids again up to voidAttemptsMax, then leaves the txId unresolved for the caller to void later', () => {
    for (const nothing of [noAnswer, notSent]) {
      expect(nextOnlineStep('void', 1, nothing, limits)).toEqual({ next: 'void', attempt: 2 });
      expect(nextOnlineStep('void', 2, nothing, limits)).toEqual({ end: 'unresolved' });
    }
  });

  it('leaves the txId unresolved when a void is refused or answered unknown: nothing was voided', () => {
    expect(nextOnlineStep('void', 1, refused('INTERNAL'), limits)).toEqual({ end: 'unresolved' });
    expect(nextOnlineStep('void', 1, answer('unknown'), limits)).toEqual({ end: 'unresolved' });
  });

  it('ends every flow within 1 + statusAttemptsMax + voidAttemptsMax requests, whatever comes back', () => {
    const results: RequestResult[] = [noAnswer, notSent, refused('RATE_LIMITED'), answer('unknown')];
    // Every sequence of uninformative results, in a breadth-first walk over the rule's next steps.
    let open: Array<{ request: OnlineRequest; attempt: number; sent: number }> = [{ request: 'pay', attempt: 1, sent: 1 }];
    let longest = 0;
    while (open.length > 0) {
      const next: typeof open = [];
      for (const at of open) {
        for (const r of results) {
          const n: OnlineNext = nextOnlineStep(at.request, at.attempt, resultOfFor(at.request, r), limits);
          if ('next' in n) next.push({ request: n.next, attempt: n.attempt, sent: at.sent + 1 });
          else longest = Math.max(longest, at.sent);
        }
      }
      expect(next.every((o) => o.sent <= 1 + limits.statusAttemptsMax + limits.voidAttemptsMax)).toBe(true);
      open = next;
    }
    expect(longest).toBe(1 + limits.statusAttemptsMax + limits.voidAttemptsMax);
  });
});

/** A RATE_LIMITED refusal, as resultOfReply reads it for `request` (the walk's refusals come from replies). */
function resultOfFor(request: OnlineRequest, r: RequestResult): RequestResult {
  if (r.kind !== 'refused') return r;
  return resultOfReply(request, { v: 1, type: 'error', re: 'c-1', code: r.code, message: 'busy' });
}

describe('reading a reply', () => {
  const payResult = (status: PayResult['status']): PayResult => ({ v: 1, type: 'pay.result', re: 'c-1', txId: 'k1-1', status });
  const error = (code: ErrorReply['code']): ErrorReply => ({ v: 1, type: 'error', re: 'c-1', code, message: 'x' });

  it('reads a pay.result as an answer with its status and reason', () => {
    expect(resultOfReply('status', { ...payResult('declined'), reason: 'CODE_USED' })).toEqual({
      kind: 'answer',
      status: 'declined',
      reason: 'CODE_USED',
    });
  });

  it('reads RATE_LIMITED to status or void as no answer (not handled), and to pay as a refusal (nothing charged)', () => {
    expect(resultOfReply('status', error('RATE_LIMITED'))).toEqual({ kind: 'no-answer' });
    expect(resultOfReply('void', error('RATE_LIMITED'))).toEqual({ kind: 'no-answer' });
    expect(resultOfReply('pay', error('RATE_LIMITED'))).toEqual({ kind: 'refused', code: 'RATE_LIMITED' });
  });

  it('reads any other error reply as a refusal', () => {
    for (const request of ['pay', 'status', 'void'] as const)
      expect(resultOfReply(request, error('UNKNOWN_KIOSK'))).toEqual({ kind: 'refused', code: 'UNKNOWN_KIOSK' });
  });
});
