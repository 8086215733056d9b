// SPDX-License-Identifier: Apache-2.0
// A real crash: a child process appends and acknowledges in a loop and is killed with SIGKILL at a
// random (seeded) moment; the reopened outbox must hold every append that resolved in the child
// and none of the acknowledges that resolved.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../shared/random.ts';
import { FileOutbox } from './file-outbox.ts';

const CHILD = fileURLToPath(new URL('./outbox-kill-child.ts', import.meta.url));
const RUNS = 3;

/** Starts the child, kills it after `appendsBeforeKill` printed appends, and returns its output lines. */
function runUntilKilled(path: string, run: number, appendsBeforeKill: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path, String(run)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buffered = '';
    let appends = 0;
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (line.startsWith('A ') && ++appends === appendsBeforeKill) child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child ended without being killed (${signal}): ${stderr}`));
      else resolve(lines);
    });
  });
}

const order = (txId: string) => txId.slice(1).split('-').map(Number) as [number, number];

describe('FileOutbox under SIGKILL', () => {
  it('keeps every append that resolved in a killed child, and no acknowledge that resolved', async () => {
    const seed = 20_260_101;
    const rng = seededRandom(seed);
    const dir = await mkdtemp(join(tmpdir(), 'kp-outbox-kill-'));
    const path = join(dir, 'outbox.json');
    const appended = new Set<string>();
    const acknowledged = new Set<string>();
    try {
      for (let run = 0; run < RUNS; run++) {
        const killAfter = 5 + rng.int(30);
        const lines = await runUntilKilled(path, run, killAfter);
        let lastIndex = -1;
        for (const line of lines) {
          const [kind, ...ids] = line.split(' ');
          if (kind === 'A') {
            appended.add(ids[0]!);
            lastIndex = order(ids[0]!)[1];
          }
          if (kind === 'K') for (const id of ids) acknowledged.add(id);
        }
        // The append in flight at the kill may or may not have survived; nothing else unprinted may.
        const inFlight = `r${run}-${lastIndex + 1}`;

        const store = await FileOutbox.open({ path });
        const where = `seed ${seed}, run ${run}, killed after ${killAfter} appends`;
        const present = store.list().map((e) => e.txId);
        // A kill between the two renames of a write leaves no main file and the previous version as
        // the backup; a torn or corrupt file is impossible, since only fsync'd files are renamed.
        if (store.recovery.source !== 'main') expect(store.recovery, where).toEqual({ source: 'backup', problems: ['main: missing'] });
        for (const id of appended) if (!acknowledged.has(id)) expect(present, where).toContain(id);
        for (const id of acknowledged) expect(present, where).not.toContain(id);
        for (const id of present) expect(appended.has(id) || id === inFlight, `${where}: unexpected ${id}`).toBe(true);
        if (present.includes(inFlight)) appended.add(inFlight);
        const sorted = [...present].sort((a, b) => order(a)[0] - order(b)[0] || order(a)[1] - order(b)[1]);
        expect(present, where).toEqual(sorted);
        await store.close();
      }
      expect(appended.size).toBeGreaterThan(RUNS * 5);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
