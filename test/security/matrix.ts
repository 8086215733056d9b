// SPDX-License-Identifier: Apache-2.0
// The shape of the security matrix: each row is one attack, the typed outcome it must get, and the
// place it is tried (the server's domain, the kiosk's offline pre-check, the real broker, the wallet
// HTTP API). A row arranges its world, then returns the attack; the runner takes a ledger snapshot
// just before and just after the attack and requires them equal (security-matrix.test.ts).
import type { ErrorCode } from '../../shared/errors.ts';
import type { KioskOfflineCause } from '../../device/domain/offline/offline-unavailable.ts';
import type { LedgerSnapshot } from './ledger-snapshot.ts';

/**
 * What an attack got. Server and kiosk answers are the typed codes of shared/errors.ts (a kiosk's
 * KIOSK_OFFLINE_UNAVAILABLE carries its cause). The broker answers by protocol: a refused CONNECT
 * (CONNACK return code), a refused SUBSCRIBE (SUBACK 0x80), or a refused PUBLISH, which MQTT 3.1.1
 * can only express by closing the connection. The last four are what a failing attack looks like.
 */
export type Outcome =
  | ErrorCode
  | `KIOSK_OFFLINE_UNAVAILABLE/${KioskOfflineCause}`
  | 'CONNACK_REFUSED'
  | 'SUBACK_REFUSED'
  | 'PUBLISH_REFUSED'
  | 'ACCEPTED'
  | 'APPROVED'
  | 'DELIVERED'
  | 'PROCESSED';

/** A world in which rows run: it can take a picture of its ledger and be torn down. */
export interface AttackEnv {
  snapshot(): Promise<LedgerSnapshot>;
  close(): Promise<void>;
}

export interface AttackRow<E extends AttackEnv> {
  /** The test name; docs/security.md lists it verbatim. */
  name: string;
  /** The expected typed outcome. */
  outcome: Outcome;
  /** Sets the stage (wallets, credentials, earlier payments) and returns the attack itself. */
  arrange(env: E): Promise<() => Promise<Outcome>>;
}

export interface RowResult<S> {
  outcome: Outcome;
  before: S;
  after: S;
}

/** A row with its world's type erased, ready to run. */
export interface RunnableRow {
  place: string;
  name: string;
  outcome: Outcome;
  run(): Promise<RowResult<unknown>>;
}

/** Binds rows to the place that starts a fresh world for each of them. */
export function rowsAt<E extends AttackEnv>(place: string, start: () => Promise<E>, rows: readonly AttackRow<E>[]): RunnableRow[] {
  return rows.map((row) => ({
    place,
    name: row.name,
    outcome: row.outcome,
    async run() {
      const env = await start();
      try {
        const attack = await row.arrange(env);
        const before = await env.snapshot();
        const outcome = await attack();
        const after = await env.snapshot();
        return { outcome, before, after };
      } finally {
        await env.close();
      }
    },
  }));
}
