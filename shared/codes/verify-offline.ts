// SPDX-License-Identifier: Apache-2.0
// The two signatures of an offline QR code, checked with nothing but the issuer public keys: the
// issuer's over the credential, then the phone's (with the key the credential certifies) over the
// code. Used by the server and by a kiosk deciding alone while its uplink is down.
import { bytesEqual } from '../bytes.ts';
import type { Ed25519 } from '../crypto/ed25519.ts';
import type { ErrorCode } from '../errors.ts';
import { CREDENTIAL_BYTES, parseCredential, sameCredential, verifyCredential } from './credential.ts';
import { OFFLINE_CODE_SIGNED_BYTES, offlineCodeSigningMessage, readSignedFields, type DecodedOfflineQr } from './offline-code.ts';

/** Reasons are keys of ERRORS (a compile error otherwise). */
type Reasons<T extends ErrorCode> = T;
export type OfflineQrFailure = Reasons<'CREDENTIAL_INVALID' | 'SIGNATURE_INVALID'>;

/**
 * CREDENTIAL_INVALID: the credential is not signed by the issuer key its keyId names (unknown keyId
 * included). SIGNATURE_INVALID: the phone's signature does not verify, or the decoded fields do not
 * match the signed bytes (a DecodedOfflineQr edited after decodeCode). Never throws.
 */
export function verifyOfflineQr(
  code: DecodedOfflineQr, issuerKeys: ReadonlyMap<number, Uint8Array>, ed: Ed25519,
): { ok: true } | { ok: false; reason: OfflineQrFailure } {
  try {
    if (!verifyCredential(code.credentialBytes, issuerKeys, ed)) return { ok: false, reason: 'CREDENTIAL_INVALID' };
    // The verified credential bytes are the source of truth; everything else must agree with them.
    const credential = parseCredential(code.credentialBytes);
    if (!credential.ok || !sameCredential(credential.credential, code.credential)) return { ok: false, reason: 'SIGNATURE_INVALID' };
    const signed = code.signedBytes;
    if (!(signed instanceof Uint8Array) || signed.length !== OFFLINE_CODE_SIGNED_BYTES) return { ok: false, reason: 'SIGNATURE_INVALID' };
    if (!bytesEqual(signed.subarray(1, 1 + CREDENTIAL_BYTES), code.credentialBytes)) return { ok: false, reason: 'SIGNATURE_INVALID' };
    const fields = readSignedFields(signed);
    if (fields.timestampMs !== code.timestampMs || fields.counter !== code.counter) return { ok: false, reason: 'SIGNATURE_INVALID' };
    const phoneKey = credential.credential.publicKey;
    if (!ed.verify(offlineCodeSigningMessage(signed), code.signature, phoneKey)) return { ok: false, reason: 'SIGNATURE_INVALID' };
    return { ok: true };
  } catch {
    // Only a hand-made DecodedOfflineQr with missing fields can get here; it is not a valid code.
    return { ok: false, reason: 'SIGNATURE_INVALID' };
  }
}
