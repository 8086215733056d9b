// SPDX-License-Identifier: Apache-2.0
// NTP-style clock synchronisation from four timestamps (RFC 5905, section 8):
//   t0 client send, t1 server receive, t2 server send, t3 client receive.
// offset = ((t1 - t0) + (t2 - t3)) / 2 is what to add to the client clock to get server time;
// delay  = (t3 - t0) - (t2 - t1) is the round trip spent on the network.

export interface TimeSample {
  readonly offsetMs: number;
  readonly roundTripMs: number;
  /** Half the round trip: the largest error the offset can have if the path were fully asymmetric. */
  readonly uncertaintyMs: number;
}

export function timeSample(t0: number, t1: number, t2: number, t3: number): TimeSample {
  const offsetMs = Math.round((t1 - t0 + (t2 - t3)) / 2);
  const roundTripMs = Math.max(0, t3 - t0 - (t2 - t1));
  return { offsetMs, roundTripMs, uncertaintyMs: Math.ceil(roundTripMs / 2) };
}

/** Of several samples the one with the shortest round trip is the most trustworthy. */
export function bestSample(samples: readonly TimeSample[]): TimeSample | undefined {
  let best: TimeSample | undefined;
  for (const s of samples) if (!best || s.roundTripMs < best.roundTripMs) best = s;
  return best;
}
