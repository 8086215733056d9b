// SPDX-License-Identifier: Apache-2.0
// The kiosk's uplink in the simulator: the device's simulated adapter (device/uplink/sim-uplink.ts,
// which keeps MqttUplink's contract) on a network with a seeded fault injector. Between the kiosk
// and the server every request and every reply may be dropped, duplicated or delayed (so also
// reordered); the link may be cut and restored; retained broadcasts (catalog, revocations) arrive
// again on every connection, as a broker's retained messages do.
//
// SimLink is the cable and the broker's side for one kiosk and lives for the whole run; the kiosk's
// SimUplink dies with its boot at a power loss (its pending requests never settle).
import { SimNetwork, type ServerEndpoint } from '../../device/uplink/sim-uplink.ts';
import type { SimRandom } from './sim-random.ts';
import type { SimTimers } from './sim-timers.ts';

export type { ServerEndpoint };

export interface NetFaults {
  /** Share of messages lost (each direction, each copy). */
  dropRate: number;
  /** Share of messages delivered twice. */
  dupRate: number;
  /** Usual one-way latency, ms. */
  latencyMs: readonly [number, number];
  /** Share of messages held up, and for how long (past the request timeout: late and reordered). */
  slowRate: number;
  slowMs: readonly [number, number];
}

export const NO_NET_FAULTS: NetFaults = Object.freeze({
  dropRate: 0,
  dupRate: 0,
  latencyMs: [1, 20] as const,
  slowRate: 0,
  slowMs: [0, 0] as const,
});

export interface SimLinkDeps {
  kioskId: string;
  /** True-time event queue shared by the simulation (network deliveries). */
  world: SimTimers;
  rng: SimRandom;
  faults: () => NetFaults;
  server: ServerEndpoint;
  /** Retained broadcasts, re-sent on every connection. */
  retained: () => Array<{ topic: string; payload: string }>;
}

interface FaultCounts {
  dropped: number;
  duplicated: number;
}

/** One message through the fault injector: maybe lost, maybe twice (if lossy), each copy with its own delay. */
function faultyTransmit(d: SimLinkDeps, counts: FaultCounts): (deliver: () => void, lossy: boolean) => void {
  return (deliver, lossy) => {
    const f = d.faults();
    const rng = d.rng;
    const copies = lossy && rng.chance(f.dupRate) ? 2 : 1;
    if (copies === 2) counts.duplicated++;
    for (let i = 0; i < copies; i++) {
      if (lossy && rng.chance(f.dropRate)) {
        counts.dropped++;
        continue;
      }
      const delay = rng.chance(f.slowRate) ? rng.between(f.slowMs[0], f.slowMs[1]) : rng.between(f.latencyMs[0], f.latencyMs[1]);
      d.world.setTimeout(deliver, delay);
    }
  };
}

/** One kiosk's faulty network (SimNetwork with the fault injector), with what it lost and doubled. */
export class SimLink extends SimNetwork {
  readonly #counts: FaultCounts;

  constructor(d: SimLinkDeps, counts: FaultCounts = { dropped: 0, duplicated: 0 }) {
    super({ kioskId: d.kioskId, timers: d.world, server: d.server, retained: d.retained, transmit: faultyTransmit(d, counts) });
    this.#counts = counts;
  }

  get dropped(): number {
    return this.#counts.dropped;
  }

  get duplicated(): number {
    return this.#counts.duplicated;
  }
}
