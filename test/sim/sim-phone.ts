// SPDX-License-Identifier: Apache-2.0
// A shopper's phone in the simulator: a wallet enrolled and topped up through the server's wallet
// domain (the HTTP layer is not simulated), an offline credential for its own key, online one-time
// codes on demand, and offline codes signed with its key. Codes it showed are kept so the scheduler
// can replay one at another kiosk.
import { fromBase64url } from '../../shared/bytes.ts';
import { makeOfflineCode } from '../../shared/codes/offline-code.ts';
import { nodeEd25519 } from '../../shared/crypto/ed25519-node.ts';
import type { Ed25519KeyPair } from '../../shared/crypto/ed25519.ts';
import { KioskpayError } from '../../shared/errors.ts';
import { money } from '../../shared/money.ts';
import type { ServerContext } from '../../server/domain/context.ts';
import { enrollWallet, issueCredential, issueOnlineCode, topUp } from '../../server/domain/wallets.ts';
import type { SimRandom } from './sim-random.ts';

/** Codes kept for replays, at most. */
const SHOWN_CODES_MAX = 20;

export class SimPhone {
  readonly #keys: Ed25519KeyPair;
  #credential: Uint8Array | undefined;
  #counter = 0;
  toppedUp = 0;
  readonly shownOffline: string[] = [];
  readonly shownOnline: string[] = [];

  private constructor(
    readonly walletId: string,
    seed: Uint8Array,
    readonly skewMs: number,
  ) {
    this.#keys = nodeEd25519.keyPairFromSeed(seed);
  }

  static async enroll(ctx: ServerContext, rng: SimRandom, balance: number): Promise<SimPhone> {
    const w = await enrollWallet(ctx, 'JPY');
    const phone = new SimPhone(w.walletId, rng.bytes(32), rng.between(-20_000, 20_000));
    if (balance > 0) await phone.topUp(ctx, balance);
    return phone;
  }

  async topUp(ctx: ServerContext, value: number): Promise<void> {
    await topUp(ctx, this.walletId, money(value, 'JPY'));
    this.toppedUp += value;
  }

  /** Asks the server for an offline credential; false when refused (negative balance). */
  async renewCredential(ctx: ServerContext): Promise<boolean> {
    try {
      const c = await issueCredential(ctx, this.walletId, this.#keys.publicKey);
      this.#credential = fromBase64url(c.credential)!;
      return true;
    } catch (e) {
      if (e instanceof KioskpayError) return false;
      throw e;
    }
  }

  get hasCredential(): boolean {
    return this.#credential !== undefined;
  }

  /** A one-time code from the server, or undefined when refused (too many unused codes). */
  async onlineCode(ctx: ServerContext): Promise<string | undefined> {
    try {
      const { code } = await issueOnlineCode(ctx, this.walletId);
      keep(this.shownOnline, code);
      return code;
    } catch (e) {
      if (e instanceof KioskpayError) return undefined;
      throw e;
    }
  }

  /** A fresh offline code signed now (by the phone's own, slightly wrong, clock). */
  offlineCode(trueNowMs: number): string | undefined {
    if (!this.#credential) return undefined;
    const code = makeOfflineCode(
      {
        credential: this.#credential,
        timestampMs: trueNowMs + this.skewMs,
        counter: ++this.#counter,
        phoneSecretKey: this.#keys.secretKey,
      },
      nodeEd25519,
    );
    keep(this.shownOffline, code);
    return code;
  }
}

function keep(list: string[], code: string): void {
  list.push(code);
  if (list.length > SHOWN_CODES_MAX) list.shift();
}
