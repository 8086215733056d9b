// SPDX-License-Identifier: Apache-2.0
// The chaos test's shoppers: each a wallet on the real server, reached over its HTTP API with the
// wallet's own client (wallet/core/api-client.ts). Online codes are fetched over HTTP when needed
// (impossible while the server is down); offline codes are made here, on the "phone", from a
// credential fetched once before the chaos starts, with a counter that never repeats.
import { sha256Hex } from '../../server/domain/ids.ts';
import { fromBase64url, toBase64url } from '../../shared/bytes.ts';
import { makeOfflineCode } from '../../shared/codes/offline-code.ts';
import { nodeEd25519 } from '../../shared/crypto/ed25519-node.ts';
import { money } from '../../shared/money.ts';
import type { Random } from '../../shared/random.ts';
import { WalletApiClient } from '../../wallet/core/api-client.ts';

export interface Shopper {
  readonly index: number;
  readonly walletId: string;
  /** What the wallet was topped up with, minor units (JPY). */
  readonly topup: number;
  readonly api: WalletApiClient;
  readonly credential: Uint8Array;
  readonly credentialId: string;
  readonly phoneSecretKey: Uint8Array;
  nextCounter: number;
}

/** A code as presented, with the key that finds its charge in the ledger. */
export interface PresentedCode {
  kind: 'online' | 'offline';
  code: string;
  /** online: sha256 of the code (online_codes.code_hash); offline: `credentialId:counter`. */
  key: string;
}

/** One wallet per entry of `topups`; a small top-up makes a credential with small offline limits. */
export async function enrollShoppers(baseUrl: string, topups: readonly number[], random: Random): Promise<Shopper[]> {
  const anonymous = new WalletApiClient({ baseUrl, timeoutMs: 5_000 });
  const shoppers: Shopper[] = [];
  for (const [index, topup] of topups.entries()) {
    const enrolled = await anonymous.enroll('JPY');
    const api = anonymous.withToken(enrolled.token);
    // Top up first: the credential's limits are never above the balance when it is issued.
    await api.topup(money(topup, 'JPY'));
    const phone = nodeEd25519.keyPairFromSeed(random.bytes(32));
    const issued = await api.credential(toBase64url(phone.publicKey));
    shoppers.push({
      index,
      walletId: enrolled.walletId,
      topup,
      api,
      credential: fromBase64url(issued.credential)!,
      credentialId: issued.credentialId,
      phoneSecretKey: phone.secretKey,
      nextCounter: 1,
    });
  }
  return shoppers;
}

/** A one-time online code from the server, or undefined while the server cannot be reached. */
export async function onlineCode(s: Shopper): Promise<PresentedCode | undefined> {
  try {
    const { code } = await s.api.onlineCode({ timeoutMs: 2_000 });
    return { kind: 'online', code, key: sha256Hex(code) };
  } catch {
    return undefined;
  }
}

/** An offline QR code signed on the phone now; its counter is used once, whatever happens next. */
export function offlineCode(s: Shopper): PresentedCode {
  const counter = s.nextCounter++;
  const code = makeOfflineCode(
    { credential: s.credential, timestampMs: Date.now(), counter, phoneSecretKey: s.phoneSecretKey },
    nodeEd25519,
  );
  return { kind: 'offline', code, key: `${s.credentialId}:${counter}` };
}
