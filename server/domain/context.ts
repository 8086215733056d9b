// SPDX-License-Identifier: Apache-2.0
// What the server's domain logic needs from the outside, passed explicitly (no globals).
import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import type { Ed25519 } from '../../shared/crypto/ed25519.ts';
import type { Random } from '../../shared/random.ts';
import type { ServerConfig } from '../config.ts';
import type { Store } from '../ports/store.ts';
import type { AlertSink } from './alerts.ts';
import type { GuessLimiter } from './guess-limits.ts';
import type { Issuer } from './issuer.ts';
import type { OfflineQrVerifier } from '../../shared/codes/offline-qr-verifier.ts';

export interface ServerContext {
  readonly config: ServerConfig;
  readonly store: Store;
  readonly clock: Clock;
  readonly random: Random;
  /** Verification and signing on the server use node:crypto (strict on malleable signatures). */
  readonly ed: Ed25519;
  readonly issuer: Issuer;
  /** Checks offline QR signatures against the issuer keys (credential results cached). */
  readonly offlineVerifier: OfflineQrVerifier;
  readonly log: Logger;
  /** Called after a commit that revoked a credential, so the list is re-published. */
  readonly onRevocation: () => void;
  /** Operator alerts raised by the server's decisions (domain/alerts.ts). */
  readonly alerts: AlertSink;
  /** Failed lookups of 20-digit codes, and the lockouts they cause (domain/guess-limits.ts). */
  readonly guessLimits: GuessLimiter;
}
