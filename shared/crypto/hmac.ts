// SPDX-License-Identifier: Apache-2.0
// HMAC-SHA-512 (RFC 2104) over tweetnacl's SHA-512, so it runs in browsers without Web Crypto's
// async API. Checked against RFC 4231 and node:crypto in hmac.test.ts.
import nacl from 'tweetnacl';

/** SHA-512's block size in bytes. */
const BLOCK_BYTES = 128;

export function hmacSha512(key: Uint8Array, message: Uint8Array): Uint8Array {
  // Keys longer than a block are hashed first (RFC 2104, section 2); shorter ones are zero-padded.
  const k = new Uint8Array(BLOCK_BYTES);
  k.set(key.length > BLOCK_BYTES ? nacl.hash(key) : key);
  const inner = new Uint8Array(BLOCK_BYTES + message.length);
  const outer = new Uint8Array(BLOCK_BYTES + 64);
  for (let i = 0; i < BLOCK_BYTES; i++) {
    inner[i] = k[i]! ^ 0x36;
    outer[i] = k[i]! ^ 0x5c;
  }
  inner.set(message, BLOCK_BYTES);
  outer.set(nacl.hash(inner), BLOCK_BYTES);
  return nacl.hash(outer).slice();
}
