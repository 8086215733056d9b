// SPDX-License-Identifier: Apache-2.0
// The operator dashboard (/ops), wired from the server's context: fleet state, its MQTT feed,
// today's ledger, operator logins and the live stream. Created before the HTTP server (which
// needs its handler) and started once the server's MQTT side is up.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerContext } from '../domain/context.ts';
import { startFleetFeed, type FleetFeed } from './fleet-feed.ts';
import { FleetState } from './fleet-state.ts';
import { OperatorAuth } from './operator-auth.ts';
import { createOpsHandler } from './ops-http.ts';
import { OpsLive, type LiveTimings } from './ops-live.ts';
import { dayStartMs, parseUtcOffset } from './ops-time.ts';
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
}

export function createOps(ctx: ServerContext, o: OpsOptions = {}): Ops {
  const c = ctx.config;
  const log = ctx.log.child({ component: 'ops' });
  const utcOffsetMs = parseUtcOffset(c.ops.utcOffset);
  // Server alerts (copies, revocations, limit declines, and any other part's) of the operator's day.
  const fleet = new FleetState({
    clock: ctx.clock, offlineAlertMs: c.ops.offlineAlertMs, utcOffsetMs, knownKioskIds: c.kiosks.map((k) => k.id),
    serverAlerts: () => ctx.alerts.since(dayStartMs(ctx.clock.nowMs(), utcOffsetMs)),
  });
  const ledger = () => ledgerSummary(ctx.store, ctx.clock, utcOffsetMs);
  const live = new OpsLive({ fleet, ledger, clientsMax: c.ops.liveClientsMax, log, ...(o.timings ? { timings: o.timings } : {}) });
  const auth = new OperatorAuth({ operators: c.operators, clock: ctx.clock, random: ctx.random, sessionTtlMs: c.ops.sessionTtlMs });
  const handler = createOpsHandler({ auth, live, fleet, ledger, cookieSecure: c.ops.cookieSecure, utcOffset: c.ops.utcOffset, utcOffsetMs, log });
  const unsubscribe = ctx.alerts.onRaise(() => live.fleetChanged());
  let feed: FleetFeed | undefined;
  return {
    handler,
    fleet,
    start() {
      if (feed) return;
      feed = startFleetFeed({
        url: c.mqttUrl, username: c.mqttUsername, password: c.mqttPassword, clientId: c.mqttClientId, fleet, log,
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
