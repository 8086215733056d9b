// SPDX-License-Identifier: Apache-2.0
// The operator's model of the fleet, built from kiosk status and event messages (shared/
// kiosk-telemetry.ts) as they arrive on kp/v1/kiosk/+/status and +/events. Pure: the caller feeds
// messages and the clock is injected. Every message is validated with the shared schemas; anything
// else is ignored and counted. Times named `...At` are the server's clock unless said otherwise.
// An offline status keeps the kiosk's last known policy and queue: its stored payments are still
// exposure while it is away. A shopper's Help button arrives as the event `fault` named
// `help-requested`: it is listed as a Help request until `helpRequestMs` has passed since its latest
// press (or the kiosk clears it), newest first. An operator may mark it handled: it stays listed,
// saying by whom and when, and the next press opens a new request.
import type { Clock } from '../../shared/clock.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import { parseJsonMessage } from '../../shared/kiosk-messages.ts';
import type { KioskPolicy } from '../../shared/kiosk-policy.ts';
import {
  kioskEventMessage,
  kioskStatusMessage,
  type ClockSummary,
  type KioskHealth,
  type KioskStatusMessage,
  type OnlineStatus,
  type QueueSummary,
} from '../../shared/kiosk-telemetry.ts';
import { addMinor, formatMoney, type Currency, type Money } from '../../shared/money.ts';
import type { ServerAlert, ServerAlertKind } from '../domain/alerts.ts';
import { parseKioskTopic } from '../../shared/topics.ts';
import type { TimeZone } from '../../shared/time-zone.ts';

export const FLEET_DEFAULTS = Object.freeze({
  /** Kiosks tracked at most; messages from further kiosks are ignored (and counted). */
  kiosksMax: 10_000,
  /** Largest status or event payload looked at, in bytes. */
  payloadBytesMax: 16 * 1024,
  /** A queue at or above this share of a cap raises an alert: numerator / denominator (80%). */
  queueAlertNumerator: 4,
  queueAlertDenominator: 5,
  /** A Help request is listed this long after the kiosk sent it, in ms. */
  helpRequestMs: 30 * 60_000,
});

/** The `fault` event name of a shopper's Help button (device/kiosk). */
export const HELP_FAULT = 'help-requested';

export type KioskLink = 'online' | 'offline' | 'unknown';

export interface KioskView {
  kioskId: string;
  /** `unknown`: configured but never heard from since the server started. */
  link: KioskLink;
  /** When `link` last changed (or the server started, for `unknown`). */
  since: number;
  offlineReason: 'lost' | 'shutdown' | null;
  /** Last message of any kind from this kiosk; null when never heard. */
  lastHeardAt: number | null;
  /** Last online status (its receipt, or its own time for a retained one); null when none. */
  lastStatusAt: number | null;
  /** Online, and the last status is older than twice the kiosk's heartbeat. */
  stale: boolean;
  firmware: string | null;
  mode: OnlineStatus['mode'] | null;
  checkout: OnlineStatus['checkout'] | null;
  policy: KioskPolicy | null;
  currency: Currency | null;
  queue: QueueSummary | null;
  clock: ClockSummary | null;
  health: KioskHealth | null;
  faults: string[];
  heartbeatMs: number | null;
}

/**
 * A kiosk voids what it gave up on as soon as the server answers (usually within seconds of its
 * uplink coming back); only voids still pending after this long are an operator's business.
 */
export const VOIDS_PENDING_ALERT_MS = 5 * 60_000;

export type AlertKind = 'offline' | 'queue-near-cap' | 'voids-pending' | 'clock-untrusted' | 'stale' | 'faults' | ServerAlertKind;
export interface FleetAlert {
  kind: AlertKind;
  /** Empty for a server alert that names no kiosk. */
  kioskId: string;
  /** Server alerts (domain/alerts.ts): the wallet and amount concerned. */
  walletId?: string;
  amount?: Money;
  severity: 'critical' | 'warning';
  /** Since when the condition holds, as far as the server knows. */
  since: number;
  message: string;
}

export interface DeclineCounts {
  /** Start of the operator's day the counts cover. */
  sinceMs: number;
  /** Declines at the till (payment events with outcome declined), per reason. */
  checkout: Record<string, number>;
  /** Stored payments the server refused at settlement (settle-declined events), per reason. */
  settlement: Record<string, number>;
}

export interface IgnoredCounts {
  topic: number;
  payload: number;
  kiosksMax: number;
}

/** A shopper pressed Help at a kiosk. */
export interface HelpRequest {
  kioskId: string;
  /** When the server received the latest press (server clock). */
  at: number;
  /** Presses since the request was first listed. */
  count: number;
  /** Who marked it handled, and when (server clock); null while open. */
  handled: { by: string; at: number } | null;
}

export interface FleetSnapshot {
  at: number;
  kiosks: KioskView[];
  alerts: FleetAlert[];
  /** Stored, unacknowledged offline payments across the fleet (last known), per currency. */
  exposure: Array<{ currency: Currency; amount: number; count: number }>;
  declines: DeclineCounts;
  /** Help requests, open and handled, newest first. */
  help: HelpRequest[];
  ignored: IgnoredCounts;
}

export type ApplyResult =
  | { applied: 'status' | 'event'; kioskId: string; event?: 'payment' | 'forward' | 'settle-declined' | 'fault' | 'uplink' }
  | { applied: false; cause: keyof IgnoredCounts };

export interface FleetStateOptions {
  clock: Clock;
  /** Offline (or never heard) at least this long raises an alert, in ms. */
  offlineAlertMs: number;
  /** The deployment's time zone: decline counts restart each local day. */
  timeZone: TimeZone;
  /** A Help request is listed this long, in ms (default FLEET_DEFAULTS.helpRequestMs). */
  helpRequestMs?: number;
  /** Configured kiosks, shown as `unknown` until heard from. */
  knownKioskIds?: readonly string[];
  kiosksMax?: number;
  /** Alerts from the server's own decisions (domain/alerts.ts), shown after the fleet's. */
  serverAlerts?: () => readonly ServerAlert[];
}

interface Entry {
  view: KioskView;
  /** When the clock became untrusted, the queue passed its threshold, faults appeared. */
  untrustedSince: number | null;
  queueHighSince: number | null;
  /** Since when the kiosk has had payments to void (voidsPending above 0). */
  voidsSince: number | null;
  faultsSince: number | null;
}

export class FleetState {
  readonly #clock: Clock;
  readonly #o: Required<Omit<FleetStateOptions, 'clock' | 'knownKioskIds' | 'serverAlerts'>>;
  readonly #help = new Map<string, HelpRequest>();
  readonly #serverAlerts: () => readonly ServerAlert[];
  readonly #kiosks = new Map<string, Entry>();
  readonly #ignored: IgnoredCounts = { topic: 0, payload: 0, kiosksMax: 0 };
  #declines: DeclineCounts;

  constructor(o: FleetStateOptions) {
    this.#clock = o.clock;
    this.#o = {
      offlineAlertMs: o.offlineAlertMs,
      timeZone: o.timeZone,
      kiosksMax: o.kiosksMax ?? FLEET_DEFAULTS.kiosksMax,
      helpRequestMs: o.helpRequestMs ?? FLEET_DEFAULTS.helpRequestMs,
    };
    this.#serverAlerts = o.serverAlerts ?? (() => []);
    const now = this.#clock.nowMs();
    for (const id of o.knownKioskIds ?? []) this.#entry(id, now);
    this.#declines = { sinceMs: o.timeZone.dayStartOf(now), checkout: {}, settlement: {} };
  }

  /** Feeds one MQTT message. `retained`: delivered from the broker's store, so possibly old. */
  apply(topic: string, payload: Uint8Array | string, opts: { retained?: boolean } = {}): ApplyResult {
    const t = parseKioskTopic(topic);
    if (!t || (t.leaf !== 'status' && t.leaf !== 'events')) return this.#ignore('topic');
    const now = this.#clock.nowMs();
    if (t.leaf === 'status') {
      const p = parseJsonMessage(kioskStatusMessage, payload, FLEET_DEFAULTS.payloadBytesMax);
      if (!p.ok) return this.#ignore('payload');
      const e = this.#entry(t.kioskId, now);
      if (!e) return this.#ignore('kiosksMax');
      const heardAt = opts.retained && p.value.state === 'online' ? Math.min(now, p.value.at) : now;
      this.#applyStatus(e, p.value, now, heardAt);
      return { applied: 'status', kioskId: t.kioskId };
    }
    const p = parseJsonMessage(kioskEventMessage, payload, FLEET_DEFAULTS.payloadBytesMax);
    if (!p.ok) return this.#ignore('payload');
    const e = this.#entry(t.kioskId, now);
    if (!e) return this.#ignore('kiosksMax');
    e.view.lastHeardAt = now;
    const ev = p.value;
    this.#rollDay(now);
    if (ev.kind === 'payment' && ev.outcome === 'declined') bump(this.#declines.checkout, ev.reason ?? 'UNSPECIFIED');
    if (ev.kind === 'settle-declined') bump(this.#declines.settlement, ev.reason);
    if (ev.kind === 'fault' && ev.fault === HELP_FAULT) {
      const listed = this.#listedHelp(t.kioskId, now);
      if (!ev.raised) this.#help.delete(t.kioskId);
      else {
        // Newest first: a new press moves the kiosk to the end of the map. A press after the
        // request was handled is a new request.
        const open = listed?.handled === null ? listed : undefined;
        this.#help.delete(t.kioskId);
        this.#help.set(t.kioskId, { kioskId: t.kioskId, at: now, count: (open?.count ?? 0) + 1, handled: null });
      }
    }
    return { applied: 'event', kioskId: t.kioskId, event: ev.kind };
  }

  /** The kiosk's Help request as listed now (open or handled), or undefined. */
  helpRequest(kioskId: string): HelpRequest | undefined {
    const h = this.#listedHelp(kioskId, this.#clock.nowMs());
    return h && structuredClone(h);
  }

  /**
   * Marks the kiosk's Help request handled by `by` at `at`, if it is still the one whose latest
   * press was at `pressAt`: a press since then is a shopper still waiting, and stays open. Returns
   * the request as it is now (undefined when none is listed).
   */
  markHelpHandled(kioskId: string, pressAt: number, by: string, at: number): HelpRequest | undefined {
    const h = this.#listedHelp(kioskId, this.#clock.nowMs());
    if (h && h.handled === null && h.at === pressAt) h.handled = { by, at };
    return h && structuredClone(h);
  }

  /** Undoes markHelpHandled (its record could not be written): the request marked at `at` is open again. */
  reopenHelp(kioskId: string, at: number): void {
    const h = this.#help.get(kioskId);
    if (h?.handled?.at === at) h.handled = null;
  }

  kiosk(kioskId: string): KioskView | undefined {
    const e = this.#kiosks.get(kioskId);
    return e ? this.#view(e, this.#clock.nowMs()) : undefined;
  }

  snapshot(): FleetSnapshot {
    const now = this.#clock.nowMs();
    this.#rollDay(now);
    const entries = [...this.#kiosks.values()].sort((a, b) => (a.view.kioskId < b.view.kioskId ? -1 : 1));
    const exposure = new Map<Currency, { amount: number; count: number }>();
    for (const { view } of entries) {
      if (!view.queue) continue;
      const x = exposure.get(view.queue.amount.currency) ?? { amount: 0, count: 0 };
      exposure.set(view.queue.amount.currency, { amount: addMinor(x.amount, view.queue.amount.value), count: x.count + view.queue.count });
    }
    return {
      at: now,
      kiosks: entries.map((e) => this.#view(e, now)),
      alerts: [...entries.flatMap((e) => this.#alerts(e, now)), ...this.#serverAlerts().map(fromServerAlert)],
      exposure: [...exposure].sort(([a], [b]) => (a < b ? -1 : 1)).map(([currency, x]) => ({ currency, ...x })),
      declines: structuredClone(this.#declines),
      help: [...this.#help.keys()]
        .map((id) => this.#listedHelp(id, now))
        .filter((h): h is HelpRequest => h !== undefined)
        .reverse()
        .map((h) => structuredClone(h)),
      ignored: { ...this.#ignored },
    };
  }

  /** The kiosk's Help request if it is still listed at `now` (an expired one is forgotten). */
  #listedHelp(kioskId: string, now: number): HelpRequest | undefined {
    const h = this.#help.get(kioskId);
    if (h && now - h.at >= this.#o.helpRequestMs) {
      this.#help.delete(kioskId);
      return undefined;
    }
    return h;
  }

  #ignore(cause: keyof IgnoredCounts): ApplyResult {
    this.#ignored[cause] += 1;
    return { applied: false, cause };
  }

  #entry(kioskId: string, now: number): Entry | undefined {
    const have = this.#kiosks.get(kioskId);
    if (have) return have;
    if (this.#kiosks.size >= this.#o.kiosksMax) return undefined;
    const e: Entry = {
      view: {
        kioskId,
        link: 'unknown',
        since: now,
        offlineReason: null,
        lastHeardAt: null,
        lastStatusAt: null,
        stale: false,
        firmware: null,
        mode: null,
        checkout: null,
        policy: null,
        currency: null,
        queue: null,
        clock: null,
        health: null,
        faults: [],
        heartbeatMs: null,
      },
      untrustedSince: null,
      queueHighSince: null,
      voidsSince: null,
      faultsSince: null,
    };
    this.#kiosks.set(kioskId, e);
    return e;
  }

  #applyStatus(e: Entry, s: KioskStatusMessage, now: number, heardAt: number): void {
    const v = e.view;
    const link = s.state;
    if (v.link !== link) v.since = link === 'online' ? heardAt : now;
    v.link = link;
    v.firmware = s.firmware;
    v.lastHeardAt = Math.max(v.lastHeardAt ?? heardAt, heardAt);
    if (s.state === 'offline') {
      v.offlineReason = s.reason;
      return;
    }
    v.offlineReason = null;
    v.lastStatusAt = heardAt;
    Object.assign(v, {
      mode: s.mode,
      checkout: s.checkout,
      policy: s.policy,
      currency: s.currency,
      queue: s.queue,
      clock: s.clock,
      health: s.health,
      faults: [...s.faults],
      heartbeatMs: s.heartbeatMs,
    });
    e.untrustedSince = s.clock.trusted ? null : (e.untrustedSince ?? now);
    e.queueHighSince = queueNearCap(s.queue, s.policy) ? (e.queueHighSince ?? now) : null;
    e.voidsSince = (s.queue.voidsPending ?? 0) > 0 ? (e.voidsSince ?? now) : null;
    e.faultsSince = s.faults.length > 0 ? (e.faultsSince ?? now) : null;
  }

  #view(e: Entry, now: number): KioskView {
    const v = e.view;
    const stale = v.link === 'online' && v.lastStatusAt !== null && v.heartbeatMs !== null && now - v.lastStatusAt > 2 * v.heartbeatMs;
    return structuredClone({ ...v, stale });
  }

  #alerts(e: Entry, now: number): FleetAlert[] {
    const v = this.#view(e, now);
    const out: FleetAlert[] = [];
    const id = v.kioskId;
    const minutes = (ms: number) => `${Math.floor(ms / 60_000)} min`;
    if (v.link !== 'online' && now - v.since >= this.#o.offlineAlertMs) {
      const what =
        v.link === 'unknown'
          ? 'not heard from since the server started'
          : `offline (${v.offlineReason === 'shutdown' ? 'shut down' : 'connection lost'})`;
      out.push({
        kind: 'offline',
        kioskId: id,
        severity: 'critical',
        since: v.since,
        message: `${id} ${what} for ${minutes(now - v.since)}`,
      });
    }
    if (v.stale && v.lastStatusAt !== null) {
      out.push({
        kind: 'stale',
        kioskId: id,
        severity: 'warning',
        since: v.lastStatusAt,
        message: `${id} last status ${minutes(now - v.lastStatusAt)} ago (heartbeat ${Math.round((v.heartbeatMs ?? 0) / 1000)} s)`,
      });
    }
    if (e.queueHighSince !== null && v.queue && v.policy) {
      const c = v.policy.caps;
      out.push({
        kind: 'queue-near-cap',
        kioskId: id,
        severity: 'warning',
        since: e.queueHighSince,
        message: `${id} holds ${v.queue.count} of ${c.storedCountMax} stored payments, ${formatMoney(v.queue.amount)} of ${formatMoney({ value: c.storedAmountMax, currency: v.queue.amount.currency })}`,
      });
    }
    if (e.voidsSince !== null && now - e.voidsSince >= VOIDS_PENDING_ALERT_MS && v.queue) {
      const n = v.queue.voidsPending ?? 0;
      out.push({
        kind: 'voids-pending',
        kioskId: id,
        severity: 'warning',
        since: e.voidsSince,
        message: `${id} has ${n} online payment${n === 1 ? '' : 's'} to void for ${minutes(now - e.voidsSince)}: until the server answers, a shopper may be charged for goods not handed out`,
      });
    }
    if (v.link === 'online' && e.untrustedSince !== null) {
      out.push({
        kind: 'clock-untrusted',
        kioskId: id,
        severity: 'warning',
        since: e.untrustedSince,
        message: `${id} clock is not trusted: it cannot take offline payments`,
      });
    }
    if (v.link === 'online' && e.faultsSince !== null) {
      out.push({ kind: 'faults', kioskId: id, severity: 'warning', since: e.faultsSince, message: `${id}: ${v.faults.join('; ')}` });
    }
    return out;
  }

  #rollDay(now: number): void {
    // A new local day (of 23, 24 or 25 hours) starts the counts again.
    if (this.#o.timeZone.localDate(now) === this.#o.timeZone.localDate(this.#declines.sinceMs)) return;
    this.#declines = { sinceMs: this.#o.timeZone.dayStartOf(now), checkout: {}, settlement: {} };
  }
}

function fromServerAlert(a: ServerAlert): FleetAlert {
  return {
    kind: a.kind,
    kioskId: a.kioskId ?? '',
    severity: a.severity,
    since: a.at,
    message: a.message,
    ...(a.walletId === null ? {} : { walletId: a.walletId }),
    ...(a.amount === null ? {} : { amount: { ...a.amount } }),
  };
}

/** At or above 80% of either cap (integer arithmetic, no floats near money). */
export function queueNearCap(queue: QueueSummary, policy: Pick<KioskPolicy, 'caps'>): boolean {
  const { queueAlertNumerator: n, queueAlertDenominator: d } = FLEET_DEFAULTS;
  return queue.count * d >= policy.caps.storedCountMax * n || queue.amount.value * d >= policy.caps.storedAmountMax * n;
}

function bump(counts: Record<string, number>, reason: ErrorCode | 'UNSPECIFIED'): void {
  counts[reason] = (counts[reason] ?? 0) + 1;
}
