// SPDX-License-Identifier: Apache-2.0
// CPU time of each thread of this process, from Linux's per-thread scheduler statistics: the time
// a thread ran, and the time it was ready to run but waited for a core (other threads and processes
// had them). The bench reports CPU per round trip for the server, the broker and the kiosks with it,
// which a wall-clock profile on a shared 2-core machine cannot show. Elsewhere than Linux: nothing.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ThreadTimes {
  /** Time on a core, ms. */
  runMs: number;
  /** Time runnable but waiting for a core, ms. */
  waitMs: number;
}

/** The calling thread's id (Linux), or undefined. */
export function threadId(): string | undefined {
  try {
    return readlinkSync('/proc/thread-self').split('/').pop();
  } catch {
    return undefined;
  }
}

/** Every thread of this process, by id: its times so far. */
export function processThreads(): Map<string, ThreadTimes> {
  const m = new Map<string, ThreadTimes>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return m;
  }
  for (const tid of tids) {
    try {
      const [run, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      m.set(tid, { runMs: run! / 1e6, waitMs: wait! / 1e6 });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return m;
}

/** What each thread used between two readings (threads that started meanwhile count from zero). */
export function threadsSince(before: Map<string, ThreadTimes>): Map<string, ThreadTimes> {
  const out = new Map<string, ThreadTimes>();
  for (const [tid, t] of processThreads()) {
    const b = before.get(tid);
    out.set(tid, { runMs: t.runMs - (b?.runMs ?? 0), waitMs: t.waitMs - (b?.waitMs ?? 0) });
  }
  return out;
}
