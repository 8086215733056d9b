// SPDX-License-Identifier: Apache-2.0
// An operator marks a shopper's Help request handled: the request stays listed on every dashboard
// with who handled it and when, and the audit log records it (help_handled, beside the refunds and
// voids). The request is claimed in memory before the record is written, so two operators clicking
// at once make one record; a record that cannot be written opens the request again. Marking a
// request already handled answers how it was handled and records nothing.
import { KioskpayError } from '../../shared/errors.ts';
import type { ServerContext } from '../domain/context.ts';
import { newId } from '../domain/ids.ts';
import type { HelpHandledRow } from '../ports/store.ts';
import type { FleetState, HelpRequest } from './fleet-state.ts';

export interface HelpHandledResult {
  /** The request as listed now (a press since the operator looked keeps it open). */
  request: HelpRequest;
  /** The audit row; null when the request was handled already and nothing was recorded. */
  record: HelpHandledRow | null;
}

/** Throws KioskpayError NOT_FOUND when the kiosk has no Help request listed. */
export async function markHelpHandled(
  ctx: ServerContext,
  fleet: FleetState,
  kioskId: string,
  operator: string,
): Promise<HelpHandledResult> {
  const seen = fleet.helpRequest(kioskId);
  if (!seen)
    throw new KioskpayError('NOT_FOUND', `no Help request from ${kioskId} is listed: it expired, its kiosk cleared it, or none came`);
  if (seen.handled) return { request: seen, record: null };
  const at = ctx.clock.nowMs();
  const request = fleet.markHelpHandled(kioskId, seen.at, operator, at)!;
  const record: HelpHandledRow = { id: newId('help', ctx.random), at, operator, kioskId, requestedAt: seen.at, presses: seen.count };
  try {
    await ctx.store.unit((tx) => tx.insertHelpHandled(record));
  } catch (err) {
    fleet.reopenHelp(kioskId, at);
    throw err;
  }
  ctx.log.info({ operator, kioskId, presses: seen.count }, 'Help request handled');
  return { request: fleet.helpRequest(kioskId) ?? request, record };
}
