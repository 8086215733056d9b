// SPDX-License-Identifier: Apache-2.0
// The in-process server world (server/testing/world.ts) as a place for matrix rows: it remembers the
// accounts its phones opened, so a snapshot covers every account a row could have touched.
import { issuanceAccountId, merchantAccountId, shopperAccountId } from '../../server/domain/ids.ts';
import { makeWorld, type TestPhone, type World } from '../../server/testing/world.ts';
import { ledgerSnapshot, type LedgerSnapshot } from './ledger-snapshot.ts';
import type { AttackEnv } from './matrix.ts';
import { tamperCode } from '../../shared/codes/test-fixtures.ts';

export interface ServerEnv extends AttackEnv {
  readonly w: World;
  /** An enrolled wallet with this balance, tracked by snapshots. */
  phone(balance?: number): Promise<TestPhone>;
  /** The same, holding an offline credential. */
  phoneWithCredential(balance?: number): Promise<TestPhone>;
  snapshot(): Promise<LedgerSnapshot>;
}

export async function startServerEnv(overrides: Record<string, unknown> = {}, seed = 1): Promise<ServerEnv> {
  const w = await makeWorld(overrides, seed);
  const accounts = new Set<string>([issuanceAccountId(w.config.currency), ...w.config.kiosks.map((k) => merchantAccountId(k.merchant))]);
  const env: ServerEnv = {
    w,
    async phone(balance = 20_000) {
      const p = await w.phone(balance);
      accounts.add(shopperAccountId(p.walletId));
      return p;
    },
    async phoneWithCredential(balance = 20_000) {
      const p = await env.phone(balance);
      await w.credential(p);
      return p;
    },
    snapshot: () => ledgerSnapshot(w.ctx.store, accounts),
    close: () => w.close(),
  };
  return env;
}

/** The same code with one character changed near its end (inside the phone's signature), in its own alphabet. */
export function tamper(code: string, fromEnd = 10): string {
  return tamperCode(code, fromEnd);
}
