// SPDX-License-Identifier: Apache-2.0
// How the server's kiosk replies read as matrix outcomes: the decline or error code, or APPROVED.
import type { KioskReply, PayResult, SettleResult } from '../../shared/kiosk-messages.ts';
import type { Outcome } from './matrix.ts';

export const DAY_MS = 86_400_000;

export const ofPay = (r: PayResult): Outcome => (r.status === 'approved' ? 'APPROVED' : (r.reason ?? 'PROCESSED'));
export const ofReply = (r: KioskReply): Outcome => (r.type === 'error' ? r.code : r.type === 'pay.result' ? ofPay(r) : 'PROCESSED');
/** The outcome of a batch's first item. */
export const ofSettle = (r: SettleResult): Outcome => {
  const item = r.items[0];
  return item === undefined ? 'PROCESSED' : item.status === 'settled' ? 'APPROVED' : (item.reason ?? 'PROCESSED');
};
export const jpy = (value: number) => ({ value, currency: 'JPY' as const });
