// SPDX-License-Identifier: Apache-2.0
// GET /v1/issuer-keys: the issuer's public keys over HTTP, so an independent verifier (an auditor,
// a kiosk being provisioned, a wallet developer) can check offline codes and credentials without an
// MQTT login. The document is signed by the issuer key itself, like the revocation list, over a
// body that carries its validity; `kioskpay server` and `kioskpay up` print the same keys at start,
// so a verifier can compare what it fetched with what the operator saw on the console.
import { createHash } from 'node:crypto';
import { concatBytes, toBase64url, utf8 } from '../../shared/bytes.ts';
import { sha256Hex } from '../domain/ids.ts';
import { walletRoutes, type IssuerKeysDocument } from '../../shared/wallet-messages.ts';
import type { Issuer } from '../domain/issuer.ts';

export const ISSUER_KEYS_PATH = walletRoutes.issuerKeys.path;
/** Domain separation for the document's signature (like the revocation list's prefix). */
export const ISSUER_KEYS_SIGNING_PREFIX = 'kioskpay/issuer-keys/v1\0';
/** How long a fetched document may be used (and cached), in ms. */
export const ISSUER_KEYS_VALIDITY_MS = 3_600_000;

export function issuerKeysDocument(issuer: Issuer, nowMs: number, sign: (message: Uint8Array) => Uint8Array): IssuerKeysDocument {
  const body = JSON.stringify({
    keys: [{ keyId: issuer.keyId, publicKey: toBase64url(issuer.publicKey) }],
    issuedAt: nowMs,
    validUntil: nowMs + ISSUER_KEYS_VALIDITY_MS,
  });
  return {
    v: 1,
    type: 'issuer-keys',
    body,
    keyId: issuer.keyId,
    sig: toBase64url(sign(concatBytes(utf8(ISSUER_KEYS_SIGNING_PREFIX), utf8(body)))),
  };
}

/** Response headers: cacheable by anybody until the body's validUntil, with a strong ETag. */
export function issuerKeysHeaders(doc: IssuerKeysDocument, nowMs: number): Record<string, string> {
  return {
    'cache-control': `public, max-age=${Math.floor(ISSUER_KEYS_VALIDITY_MS / 1000)}`,
    expires: new Date(nowMs + ISSUER_KEYS_VALIDITY_MS).toUTCString(),
    etag: `"${sha256Hex(doc.body).slice(0, 32)}"`,
  };
}

/** One line per key, for the start-up banner: `issuer key 1: <base64url key> sha256:<hex of the 32 key bytes' digest>`. */
export function issuerKeyLines(issuer: Issuer): string[] {
  return [...issuer.publicKeys()].map(
    ([keyId, key]) => `issuer key ${keyId}: ${toBase64url(key)} sha256:${createHash('sha256').update(key).digest('hex')}`,
  );
}
