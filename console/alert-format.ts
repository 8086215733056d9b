// SPDX-License-Identifier: Apache-2.0
// The server's alerts for people: time (local, as format.ts writes it), severity, kind, kiosk,
// wallet, amount (integer minor units shown with formatMoney) and what happened. The texts passed
// the shared schema, which refuses control characters, so they are printed as they are.
import type { PublishedServerAlert } from '../shared/alert-messages.ts';
import { formatMoney } from '../shared/money.ts';
import { formatTime, table } from './format.ts';

const HEADER = ['TIME', 'SEVERITY', 'KIND', 'KIOSK', 'WALLET', 'AMOUNT', 'MESSAGE'];

function cells(a: PublishedServerAlert, nowMs: number): string[] {
  return [
    formatTime(a.at, nowMs),
    a.severity,
    a.kind,
    a.kioskId ?? '-',
    a.walletId ?? '-',
    a.amount === null ? '-' : formatMoney(a.amount),
    a.message,
  ];
}

/** The list as a table, oldest first. */
export function formatAlerts(alerts: readonly PublishedServerAlert[], nowMs: number): string {
  if (alerts.length === 0) return 'no alerts from the server';
  return table([HEADER, ...alerts.map((a) => cells(a, nowMs))]);
}

/** One alert on one line, the columns in the table's order (for --follow). */
export function formatAlertLine(a: PublishedServerAlert, nowMs: number): string {
  return cells(a, nowMs).join('  ');
}
