// SPDX-License-Identifier: Apache-2.0
// The dashboard's JSON, as it leaves the server: every time as ISO 8601 with the deployment's
// offset (shared/time-zone.ts), money with its text, decline codes with their sentence. The fleet
// model and the queries keep Unix milliseconds; only this edge converts.
import { ERRORS, ERROR_CODES, type ErrorCode } from '../../shared/errors.ts';
import { formatMoney, type Currency } from '../../shared/money.ts';
import type { TimeZone } from '../../shared/time-zone.ts';
import type { FleetAlert, FleetSnapshot, HelpRequest, KioskView } from './fleet-state.ts';

export interface MoneyView {
  value: number;
  currency: Currency;
  text: string;
}
export const moneyView = (value: number, currency: Currency): MoneyView => ({ value, currency, text: formatMoney({ value, currency }) });

/** `null` stays null; a time becomes ISO 8601 with offset. */
export const isoOrNull = (tz: TimeZone, ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : tz.iso(ms);

/** Every error and decline code with the sentence that explains it (shared/errors.ts), for the page. */
export function reasonSentences(): Record<string, string> {
  return Object.fromEntries(ERROR_CODES.map((c) => [c, ERRORS[c].meaning]));
}

/** The sentence for a code; a code the table does not know (an old kiosk's) is said as such. */
export function reasonSentence(code: string | null): string | null {
  if (code === null) return null;
  return Object.hasOwn(ERRORS, code) ? ERRORS[code as ErrorCode].meaning : `Unknown reason ${code}.`;
}

export type PresentedKiosk = Omit<KioskView, 'since' | 'lastHeardAt' | 'lastStatusAt' | 'queue' | 'clock'> & {
  since: string;
  lastHeardAt: string | null;
  lastStatusAt: string | null;
  queue: (Omit<NonNullable<KioskView['queue']>, 'oldestCapturedAt'> & { oldestCapturedAt: string | null }) | null;
  clock: (Omit<NonNullable<KioskView['clock']>, 'lastSyncAt'> & { lastSyncAt: string | null }) | null;
};

export function presentKiosk(k: KioskView, tz: TimeZone): PresentedKiosk {
  return {
    ...k,
    since: tz.iso(k.since),
    lastHeardAt: isoOrNull(tz, k.lastHeardAt),
    lastStatusAt: isoOrNull(tz, k.lastStatusAt),
    queue: k.queue && { ...k.queue, oldestCapturedAt: isoOrNull(tz, k.queue.oldestCapturedAt) },
    clock: k.clock && { ...k.clock, lastSyncAt: isoOrNull(tz, k.clock.lastSyncAt) },
  };
}

export type PresentedAlert = Omit<FleetAlert, 'since'> & { since: string };
export type PresentedHelp = Omit<HelpRequest, 'at' | 'handled'> & { at: string; handled: { by: string; at: string } | null };

export function presentHelp(h: HelpRequest, tz: TimeZone): PresentedHelp {
  return { ...h, at: tz.iso(h.at), handled: h.handled && { by: h.handled.by, at: tz.iso(h.handled.at) } };
}

/** What changes besides the kiosks: alerts, exposure, live declines, Help requests. `at` is the server's now. */
export interface PresentedSummary {
  at: string;
  alerts: PresentedAlert[];
  exposure: FleetSnapshot['exposure'];
  declines: { since: string; checkout: Record<string, number>; settlement: Record<string, number> };
  help: PresentedHelp[];
  ignored: FleetSnapshot['ignored'];
}

export function presentSummary(s: FleetSnapshot, tz: TimeZone): PresentedSummary {
  return {
    at: tz.iso(s.at),
    alerts: s.alerts.map((a) => ({ ...a, since: tz.iso(a.since) })),
    exposure: s.exposure,
    declines: { since: tz.iso(s.declines.sinceMs), checkout: s.declines.checkout, settlement: s.declines.settlement },
    help: s.help.map((h) => presentHelp(h, tz)),
    ignored: s.ignored,
  };
}

export interface PresentedFleet extends PresentedSummary {
  kiosks: PresentedKiosk[];
}

export function presentFleet(s: FleetSnapshot, tz: TimeZone): PresentedFleet {
  return { ...presentSummary(s, tz), kiosks: s.kiosks.map((k) => presentKiosk(k, tz)) };
}
