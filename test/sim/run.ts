// SPDX-License-Identifier: Apache-2.0
// The simulator's command line: `npm run sim -- --seeds 10000`, or replay one seed exactly with
// `npm run sim -- --seed 1234 --verbose`; `--pg` keeps the server's ledger in PostgreSQL (a fresh
// schema per seed, dropped after it). Prints each failing seed with its violations, the end of its
// trace, and the command that replays it; exits 1 if any seed failed.
import { parseArgs } from 'node:util';
import { TEST_DATABASE_URL } from '../../server/testing/pg-test-db.ts';
import { forgetfulDispatcher } from './broken-dispatcher.ts';
import { runSimulation, type SimResult } from './simulator.ts';

const HELP = `usage: npm run sim -- [--seeds N] [--first S] [--seed S] [--steps K] [--verbose] [--pg] [--replicas R]
  --seeds N   run N seeds (default 1000), starting at --first (default: a random start, printed)
  --seed S    run exactly one seed (replay)
  --steps K   scheduler steps per seed (default 300)
  --verbose   print every trace line
  --broken-idempotency  run against a server that forgets pay/settle txIds (the mutation check)
  --pg        the server's ledger on PostgreSQL (KP_TEST_DATABASE_URL, default
              postgres://postgres@127.0.0.1:5432/test), a fresh schema per seed
  --replicas R  R server processes on the one ledger (default 1); on PostgreSQL each has its own
              store and connections, and some requests reach two replicas at once`;

function int(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return n;
}

function printFailure(r: SimResult, steps: number, flags: string): void {
  console.log(`\nFAILED seed ${r.seed}:`);
  for (const v of r.violations) console.log(`  ${v}`);
  console.log('  last events:');
  for (const line of r.trace.slice(-25)) console.log(`    ${line}`);
  console.log(`  replay: npm run sim -- --seed ${r.seed} --steps ${steps}${flags} --verbose`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string' },
      first: { type: 'string' },
      seed: { type: 'string' },
      steps: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      'broken-idempotency': { type: 'boolean', default: false },
      pg: { type: 'boolean', default: false },
      replicas: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const steps = int('steps', values.steps, 300);
  const verbose = values.verbose ?? false;
  const single = values.seed === undefined ? undefined : int('seed', values.seed, 0);
  const count = single === undefined ? int('seeds', values.seeds, 1_000) : 1;
  // The start seed is the only thing not derived from a seed; it is printed so a run can be repeated.
  const first = single ?? int('first', values.first, Math.floor(Math.random() * 2 ** 31));
  const databaseUrl = values.pg ? TEST_DATABASE_URL : undefined;
  const replicas = int('replicas', values.replicas, 1);
  if (replicas < 1) throw new Error('--replicas must be at least 1');
  const flags = `${values['broken-idempotency'] ? ' --broken-idempotency' : ''}${values.pg ? ' --pg' : ''}${replicas > 1 ? ` --replicas ${replicas}` : ''}`;
  const on = `${databaseUrl === undefined ? '' : ` on PostgreSQL at ${databaseUrl.replace(/\/\/[^@]*@/, '//')}`}${replicas > 1 ? `, ${replicas} server replicas` : ''}`;
  console.log(
    single === undefined
      ? `running ${count} seeds from ${first}, ${steps} steps each${on}`
      : `replaying seed ${single}, ${steps} steps${on}`,
  );
  const started = performance.now();
  let failed = 0;
  const totals: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const seed = (first + i) >>> 0;
    const r = await runSimulation({
      seed,
      steps,
      ...(verbose ? { onTrace: (l: string) => console.log(l) } : {}),
      ...(values['broken-idempotency'] ? { dispatcher: forgetfulDispatcher() } : {}),
      ...(databaseUrl === undefined ? {} : { databaseUrl }),
      ...(replicas > 1 ? { replicas } : {}),
    });
    for (const [k, v] of Object.entries(r.stats)) totals[k] = (totals[k] ?? 0) + v;
    if (!r.ok) {
      failed++;
      printFailure(r, steps, flags);
    }
    if (single !== undefined) {
      console.log(`seed ${seed}: ${r.ok ? 'ok' : 'FAILED'} (trace digest ${r.digest})`);
      console.log(JSON.stringify(r.stats));
    } else if ((i + 1) % 100 === 0)
      console.log(`  ${i + 1} seeds, ${failed} failed, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  if (single === undefined) console.log(`totals: ${JSON.stringify(totals)}`);
  console.log(`${count - failed} of ${count} seeds passed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    console.error(HELP);
    process.exitCode = 2;
  },
);
