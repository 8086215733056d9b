// SPDX-License-Identifier: Apache-2.0
// Kiosk k1 with its uplink down, beside the server world: the real offline desk
// (device/kiosk/offline-desk.ts) over an in-memory outbox, pinned to the world's issuer key, with a
// revocation list the world's issuer signed. What the kiosk stores is what it will claim at
// settlement, so a snapshot here is the server's ledger plus the kiosk's outbox.
import { decodeCode } from '../../shared/codes/decode.ts';
import { nodeEd25519 } from '../../shared/crypto/ed25519-node.ts';
import { OfflineQrVerifier } from '../../shared/codes/offline-qr-verifier.ts';
import { DEFAULT_KIOSK_POLICY, type KioskPolicy } from '../../shared/kiosk-policy.ts';
import { money, type Money } from '../../shared/money.ts';
import { RevocationCache } from '../../device/domain/offline/revocation-cache.ts';
import type { TrustedTime } from '../../device/domain/offline/trusted-clock.ts';
import { OfflineDesk, discardedInMemory } from '../../device/kiosk/offline-desk.ts';
import { MemoryOutbox } from '../../device/outbox/memory-outbox.ts';
import type { LedgerSnapshot } from './ledger-snapshot.ts';
import type { Outcome } from './matrix.ts';
import { startServerEnv, type ServerEnv } from './server-env.ts';

const KIOSK_ID = 'k1';
/** The kiosk's clock error after its last sync: small, well inside clockUncertaintyMaxMs. */
const CLOCK_UNCERTAINTY_MS = 50;

export interface KioskEnv extends ServerEnv {
  readonly desk: OfflineDesk;
  readonly outbox: MemoryOutbox;
  /** The kiosk's policy; rows may lower its caps. */
  policy: KioskPolicy;
  /** When false the kiosk has not synced its clock since boot. */
  clockTrusted: boolean;
  /**
   * The uplink comes back for a moment: stored payments are settled and acknowledged, the clock is
   * synced, and a fresh revocation list (what the server has revoked now) is signed and cached.
   */
  reconnect(): Promise<void>;
  /** A shopper shows `code` for `amount` at the kiosk: 'ACCEPTED' once stored, else the decline. */
  scan(code: string, amount: Money | number): Promise<Outcome>;
  snapshot(): Promise<LedgerSnapshot & { outbox: string[] }>;
}

export async function startKioskEnv(): Promise<KioskEnv> {
  const server = await startServerEnv();
  const { w } = server;
  const issuer = w.ctx.issuer;
  const revocations = new RevocationCache({ issuerKeys: issuer.publicKeys(), ed: nodeEd25519, maxAgeMs: w.config.revocationMaxAgeMs });
  const outbox = new MemoryOutbox();
  let lastUplinkAtMs: number | null = null;
  let listSeq = 0;
  let txSeq = 0;
  const time = (): TrustedTime =>
    env.clockTrusted
      ? { estimateMs: w.clock.nowMs(), uncertaintyMs: CLOCK_UNCERTAINTY_MS, trusted: true }
      : { estimateMs: w.clock.nowMs(), uncertaintyMs: Infinity, trusted: false };
  const desk = new OfflineDesk({
    currency: w.config.currency,
    verifier: new OfflineQrVerifier({ issuerKeys: issuer.publicKeys(), ed: nodeEd25519 }),
    revocations,
    outbox,
    time,
    policy: () => env.policy,
    lastUplinkAtMs: () => lastUplinkAtMs,
    windowMs: w.config.offlineWindowMs,
    clockUncertaintyMaxMs: 60_000,
    revocationFreshAgeMs: w.config.revocationMaxAgeMs,
    discarded: discardedInMemory(),
  });
  const env: KioskEnv = {
    ...server,
    desk,
    outbox,
    policy: DEFAULT_KIOSK_POLICY,
    clockTrusted: true,
    async reconnect() {
      const stored = outbox.list();
      if (stored.length > 0) {
        const r = await w.settle(
          KIOSK_ID,
          stored.map((s) => ({ txId: s.txId, code: s.code, amount: s.amount, capturedAt: s.capturedAt })),
        );
        await outbox.acknowledge(r.items.map((i) => i.txId));
      }
      const now = w.clock.nowMs();
      const revoked = await w.ctx.store.unit((tx) => tx.listRevokedCredentialIds(now));
      const accepted = revocations.accept(issuer.signRevocations({ seq: ++listSeq, issuedAt: now, credentials: revoked }));
      if (!accepted.accepted) throw new Error(`the kiosk refused the server's revocation list: ${accepted.reason}`);
      lastUplinkAtMs = now;
    },
    async scan(code, amount) {
      const txId = `${KIOSK_ID}-off-${++txSeq}`;
      const m = typeof amount === 'number' ? money(amount, w.config.currency) : amount;
      // Decoded once, as the kiosk's scan does; text that is no code never reaches the desk.
      const decoded = decodeCode(code);
      if (!decoded.ok) return decoded.reason;
      const answer = desk.precheck(decoded.code, m);
      if (!answer.ok) return answer.cause ? `KIOSK_OFFLINE_UNAVAILABLE/${answer.cause}` : answer.reason;
      await desk.store(txId, answer.payment);
      return 'ACCEPTED';
    },
    async snapshot() {
      return { ...(await server.snapshot()), outbox: outbox.list().map((e) => `${e.txId} ${e.amount.value} ${e.amount.currency}`) };
    },
  };
  await env.reconnect();
  return env;
}
