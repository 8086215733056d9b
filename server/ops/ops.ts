// SPDX-License-Identifier: Apache-2.0
// The operator dashboard (/ops), wired from the server's context: fleet state, its MQTT feed,
// today's ledger, the sales reports and transaction search, refunds, operator logins and the live
// stream, all in the deployment's time zone (config `timeZone`). Created before the HTTP server
// (which needs its handler) and started once the server's MQTT side is up.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CatalogMessage } from '../../shared/catalog/catalog.ts';
import type { ServerContext } from '../domain/context.ts';
import { deploymentTimeZone } from '../config.ts';
import { startFleetFeed, type FleetFeed } from './fleet-feed.ts';
import { FleetState } from './fleet-state.ts';
import { OperatorAuth } from './operator-auth.ts';
import { createOpsHandler } from './ops-http.ts';
import { OpsLive, type LiveTimings } from './ops-live.ts';
import { reasonSentences } from './present.ts';
import { filterChoices, type ReportContext } from './reports.ts';
import { ledgerSummary } from './sales-queries.ts';

export interface Ops {
  /** Takes /ops and /ops/... (returns true); leaves every other path. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => boolean;
  readonly fleet: FleetState;
  /** Connects the fleet feed to the broker (in the background; it keeps retrying). */
  start(): void;
  close(): Promise<void>;
}

export interface OpsOptions {
  /** Live-stream timings (tests shorten them). */
  timings?: Partial<LiveTimings>;
  /** The catalog the server publishes, for product names (none: products are shown by GTIN and slot). */
  catalog?: () => CatalogMessage | undefined;
}

export function createOps(ctx: ServerContext, o: OpsOptions = {}): Ops {
  const c = ctx.config;
  const log = ctx.log.child({ component: 'ops' });
  const tz = deploymentTimeZone(c);
  // Server alerts (copies, revocations, limit declines, and any other part's) of the operator's day.
  const fleet = new FleetState({
    clock: ctx.clock,
    offlineAlertMs: c.ops.offlineAlertMs,
    timeZone: tz,
    helpRequestMs: c.ops.helpRequestMs,
    knownKioskIds: c.kiosks.map((k) => k.id),
    serverAlerts: () => ctx.alerts.since(tz.dayStartOf(ctx.clock.nowMs())),
  });
  const ledger = () => ledgerSummary(ctx.store, ctx.clock, tz);
  const reports: ReportContext = {
    store: ctx.store,
    tz,
    clock: ctx.clock,
    currency: c.currency,
    catalog: o.catalog ?? (() => undefined),
    kioskIds: c.kiosks.map((k) => k.id),
  };
  const extras = () => ({
    timeZone: tz.name,
    timeZoneLabel: tz.label(ctx.clock.nowMs()),
    reasons: reasonSentences(),
    choices: filterChoices(reports),
  });
  const live = new OpsLive({
    fleet,
    ledger,
    tz,
    extras,
    clientsMax: c.ops.liveClientsMax,
    log,
    ...(o.timings ? { timings: o.timings } : {}),
  });
  const auth = new OperatorAuth({ operators: c.operators, clock: ctx.clock, random: ctx.random, sessionTtlMs: c.ops.sessionTtlMs });
  const handler = createOpsHandler({ auth, live, fleet, ledger, reports, ctx, tz, extras, cookieSecure: c.ops.cookieSecure, log });
  const unsubscribe = ctx.alerts.onRaise(() => live.fleetChanged());
  let feed: FleetFeed | undefined;
  return {
    handler,
    fleet,
    start() {
      if (feed) return;
      feed = startFleetFeed({
        url: c.mqttUrl,
        username: c.mqttUsername,
        password: c.mqttPassword,
        clientId: c.mqttClientId,
        fleet,
        log,
        onApplied: (r) => {
          live.fleetChanged();
          if (r.event === 'payment' || r.event === 'forward' || r.event === 'settle-declined') live.ledgerChanged();
        },
      });
    },
    async close() {
      unsubscribe();
      live.close();
      await feed?.close();
    },
  };
}
