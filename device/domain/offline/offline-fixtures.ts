// SPDX-License-Identifier: Apache-2.0
// Tests only: signed revocation lists made with the tests' own issuer key, through shared/ only
// (device/ may not import the server's Issuer).
import { concatBytes, toBase64url, utf8 } from '../../../shared/bytes.ts';
import type { Ed25519KeyPair } from '../../../shared/crypto/ed25519.ts';
import { nodeEd25519 } from '../../../shared/crypto/ed25519-node.ts';
import type { RevocationsBody, RevocationsMessage } from '../../../shared/kiosk-messages.ts';
import { REVOCATIONS_SIGNING_PREFIX } from '../../../shared/kiosk-messages.ts';

export function signRevocations(body: RevocationsBody, issuer: Ed25519KeyPair, keyId: number): RevocationsMessage {
  const text = JSON.stringify(body);
  const sig = nodeEd25519.sign(concatBytes(utf8(REVOCATIONS_SIGNING_PREFIX), utf8(text)), issuer.secretKey);
  return { v: 1, type: 'revocations', keyId, body: text, sig: toBase64url(sig) };
}
