// SPDX-License-Identifier: Apache-2.0
// The two signatures of an offline QR code, checked with nothing but the issuer public keys: the
// issuer's over the credential, then the phone's (with the key the credential certifies) over the
// code. Used by the server and by a kiosk deciding alone while its uplink is down.
import { bytesEqual } from '../bytes.ts';
import type { Ed25519 } from '../crypto/ed25519.ts';
import type { ErrorCode } from '../errors.ts';
import { CREDENTIAL_BYTES, parseCredential, sameCredential, verifyCredential } from './credential.ts';
import { offlineCodeSigningMessage, offlineSignedBytesWellFormed, readSignedFields, type DecodedOfflineQr } from './offline-code.ts';

/** Reasons are keys of ERRORS (a compile error otherwise). */
type Reasons<T extends ErrorCode> = T;
export type OfflineQrFailure = Reasons<'CREDENTIAL_INVALID' | 'SIGNATURE_INVALID'>;

/**
 * CREDENTIAL_INVALID: the credential is not signed by the issuer key its keyId names (unknown keyId
 * included). SIGNATURE_INVALID: the phone's signature does not verify, or the decoded fields do not
 * match the signed bytes (a DecodedOfflineQr edited after decodeCode). Never throws.
 */
export function verifyOfflineQr(
  code: DecodedOfflineQr,
  issuerKeys: ReadonlyMap<number, Uint8Array>,
  ed: Ed25519,
): { ok: true } | { ok: false; reason: OfflineQrFailure } {
  try {
    if (!verifyCredential(code.credentialBytes, issuerKeys, ed)) return { ok: false, reason: 'CREDENTIAL_INVALID' };
    const input = phoneSignatureInput(code);
    if (!input.ok) return input;
    return ed.verify(input.message, input.signature, input.publicKey) ? { ok: true } : { ok: false, reason: 'SIGNATURE_INVALID' };
  } catch {
    // Only a hand-made DecodedOfflineQr with missing fields can get here; it is not a valid code.
    return { ok: false, reason: 'SIGNATURE_INVALID' };
  }
}

/**
 * What the phone's signature must be checked over, once the credential bytes are known to be the
 * issuer's: the verified credential bytes are the source of truth and every decoded field must agree
 * with them. SIGNATURE_INVALID when they do not. Throws only on a hand-made DecodedOfflineQr.
 */
export function phoneSignatureInput(
  code: DecodedOfflineQr,
): { ok: true; message: Uint8Array; signature: Uint8Array; publicKey: Uint8Array } | { ok: false; reason: 'SIGNATURE_INVALID' } {
  const bad = { ok: false as const, reason: 'SIGNATURE_INVALID' as const };
  const credential = parseCredential(code.credentialBytes);
  if (!credential.ok || !sameCredential(credential.credential, code.credential)) return bad;
  const signed = code.signedBytes;
  if (!(signed instanceof Uint8Array) || !offlineSignedBytesWellFormed(signed)) return bad;
  if (!bytesEqual(signed.subarray(1, 1 + CREDENTIAL_BYTES), code.credentialBytes)) return bad;
  const fields = readSignedFields(signed);
  if (fields.timestampMs !== code.timestampMs || fields.counter !== code.counter || fields.amountCap !== code.amountCap) return bad;
  return { ok: true, message: offlineCodeSigningMessage(signed), signature: code.signature, publicKey: credential.credential.publicKey };
}
