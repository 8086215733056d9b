// SPDX-License-Identifier: Apache-2.0
// CPU time of other programs on this machine, by name (PostgreSQL's backends, Mosquitto), from
// Linux's scheduler statistics, for the replica bench's CPU per payment. Each such process runs one
// thread, whose schedstat is the process's. Processes that start or end between two readings count
// only while both saw them. Elsewhere than Linux: nothing.
import { readdirSync, readFileSync } from 'node:fs';

/** CPU ms so far of every process whose name is in `names`, by pid, with its name. */
export function processesNamed(names: readonly string[]): Map<string, { name: string; runMs: number }> {
  const out = new Map<string, { name: string; runMs: number }>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (!names.includes(name)) continue;
      out.set(pid, { name, runMs: Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6 });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return out;
}

/** CPU ms by name between two readings, over the processes both saw. */
export function cpuByName(before: ReturnType<typeof processesNamed>, after: ReturnType<typeof processesNamed>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [pid, a] of after) {
    const b = before.get(pid);
    if (b) out.set(a.name, (out.get(a.name) ?? 0) + a.runMs - b.runMs);
  }
  return out;
}
