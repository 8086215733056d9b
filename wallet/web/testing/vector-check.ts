// SPDX-License-Identifier: Apache-2.0
// The published test vectors (docs/vectors/*.json), checked inside a browser with the same code and
// the same Ed25519 adapter (tweetnacl) the wallet app ships. The browser test bundles this file with
// the app's esbuild settings, loads it into Chromium and passes the vector files in; every mismatch
// comes back as a line of text. Mirrors test/vectors.test.ts, which runs the same checks in Node.
import { fromBase64url, fromHex, toBase64url, toHex } from '../../../shared/bytes.ts';
import { parseCredential, signCredential, verifyCredential, type OfflineCredential } from '../../../shared/codes/credential.ts';
import { decodeCode } from '../../../shared/codes/decode.ts';
import { luhnCheckDigit } from '../../../shared/codes/luhn.ts';
import { makeNumericOfflineCode, numericMac, verifyNumericOfflineCode } from '../../../shared/codes/numeric-offline.ts';
import { makeOfflineCode } from '../../../shared/codes/offline-code.ts';
import { makeOnlineCode } from '../../../shared/codes/online-code.ts';
import { verifyOfflineQr } from '../../../shared/codes/verify-offline.ts';
import { naclEd25519 } from '../../../shared/crypto/ed25519-nacl.ts';
import { hmacSha512 } from '../../../shared/crypto/hmac.ts';
import type { Random } from '../../../shared/random.ts';

/** The vector files are JSON written by docs/vectors/generate.ts; read loosely, checked exactly. */
// biome-ignore lint/suspicious/noExplicitAny: vector files are read loosely and checked value by value
type Json = any;
export interface VectorFiles {
  credentials: Json;
  offlineCodes: Json;
  offlineCodesV3: Json;
  numericCodes: Json;
  onlineCodes: Json;
}
export interface VectorReport {
  checks: number;
  failures: string[];
}

const ed = naclEd25519;

export function runVectors(files: VectorFiles): VectorReport {
  const report: VectorReport = { checks: 0, failures: [] };
  const eq = (name: string, actual: unknown, expected: unknown) => {
    report.checks += 1;
    const a = JSON.stringify(actual);
    const e = JSON.stringify(expected);
    if (a !== e) report.failures.push(`${name}: got ${a.slice(0, 200)}, expected ${e.slice(0, 200)}`);
  };
  const run = (name: string, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      report.failures.push(`${name}: threw ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  run('credentials', () => credentials(files.credentials, eq));
  run('offline codes', () => offlineCodes(files.offlineCodes, eq, 1));
  run('offline codes v3', () => offlineCodes(files.offlineCodesV3, eq, 3));
  run('numeric codes', () => numericCodes(files.numericCodes, eq));
  run('online codes', () => onlineCodes(files.onlineCodes, eq));
  return report;
}

type Eq = (name: string, actual: unknown, expected: unknown) => void;

function hex(s: string): Uint8Array {
  const b = fromHex(s);
  if (b === undefined) throw new Error(`bad hex in vectors: ${s.slice(0, 20)}`);
  return b;
}

function keys(file: Json, eq: Eq) {
  const byName = new Map<string, { secretKey: Uint8Array; publicKey: Uint8Array }>();
  for (const k of [...file.issuerKeys, ...file.phoneKeys]) {
    const pair = ed.keyPairFromSeed(hex(k.seedHex));
    eq(`key ${k.name}`, toHex(pair.publicKey), k.publicKeyHex);
    byName.set(k.name, pair);
  }
  const issuerKeys = new Map<number, Uint8Array>(file.issuerKeys.map((k: Json) => [k.keyId, hex(k.publicKeyHex)]));
  return { byName, issuerKeys };
}

function credentialFromJson(j: Json): OfflineCredential {
  return {
    keyId: j.keyId,
    credentialId: j.credentialId,
    publicKey: hex(j.publicKeyHex),
    accountAlias: j.accountAlias,
    notBeforeMs: j.notBeforeMs,
    notAfterMs: j.notAfterMs,
    limits: j.limits,
  };
}

function credentials(file: Json, eq: Eq): void {
  const { byName, issuerKeys } = keys(file, eq);
  for (const v of file.valid) {
    const bytes = signCredential(credentialFromJson(v.input), byName.get(v.issuer)!.secretKey, ed);
    eq(`credential ${v.name} bytes`, toHex(bytes), v.bytesHex);
    eq(`credential ${v.name} base64url`, toBase64url(bytes), v.base64url);
    eq(`credential ${v.name} parses`, parseCredential(bytes).ok, true);
    eq(`credential ${v.name} verifies`, verifyCredential(bytes, issuerKeys, ed), true);
  }
  for (const v of file.invalid) {
    const bytes = hex(v.bytesHex);
    if (v.expected.parse === 'malformed')
      eq(`credential ${v.name} parse`, parseCredential(bytes), { ok: false, detail: v.expected.detail });
    eq(`credential ${v.name} rejected`, verifyCredential(bytes, issuerKeys, ed), false);
  }
}

function offlineCodes(file: Json, eq: Eq, version: 1 | 3): void {
  const { byName, issuerKeys } = keys(file, eq);
  for (const v of file.valid) {
    const text = makeOfflineCode(
      {
        credential: fromBase64url(v.credentialBase64url)!,
        timestampMs: v.timestampMs,
        counter: v.counter,
        phoneSecretKey: byName.get(v.phone)!.secretKey,
        amountCap: v.amountCap ?? undefined,
        version,
      },
      ed,
    );
    eq(`offline ${v.name} text`, text, v.text);
    const r = decodeCode(text);
    if (!r.ok || r.code.kind !== 'offline-qr') {
      eq(`offline ${v.name} decodes`, r.ok, true);
      continue;
    }
    eq(`offline ${v.name} counter`, r.code.counter, v.counter);
    eq(`offline ${v.name} verifies`, verifyOfflineQr(r.code, issuerKeys, ed), v.verify);
  }
  for (const v of file.invalid) {
    const r = decodeCode(v.text);
    if (v.expected.reason === 'CODE_MALFORMED') {
      eq(`offline ${v.name} malformed`, r, { ok: false, reason: 'CODE_MALFORMED', detail: v.expected.detail });
      continue;
    }
    if (!r.ok || r.code.kind !== 'offline-qr') {
      eq(`offline ${v.name} decodes`, r.ok, true);
      continue;
    }
    eq(`offline ${v.name} rejected`, verifyOfflineQr(r.code, issuerKeys, ed), { ok: false, reason: v.expected.reason });
  }
}

function numericCodes(file: Json, eq: Eq): void {
  for (const v of file.valid) {
    const secret = hex(v.secretHex);
    eq(`numeric ${v.name} hmac`, toHex(hmacSha512(secret, hex(v.macInputHex))), v.hmacSha512Hex);
    eq(`numeric ${v.name} mac`, numericMac(secret, v.handle, v.step), v.mac);
    eq(`numeric ${v.name} text`, makeNumericOfflineCode({ handle: v.handle, secret, timeMs: v.timeMs, stepMs: file.stepMs }), v.text);
    const r = decodeCode(v.text);
    if (!r.ok || r.code.kind !== 'offline-numeric') {
      eq(`numeric ${v.name} decodes`, r.ok, true);
      continue;
    }
    for (const c of v.verify)
      eq(`numeric ${v.name} verify at ${c.nowMs}`, verifyNumericOfflineCode(r.code, secret, c.nowMs, file.stepMs, c.windowMs), c.expected);
  }
  for (const v of file.invalid) {
    const r = decodeCode(v.text);
    if (v.expected.reason === 'CODE_MALFORMED') {
      eq(`numeric ${v.name} malformed`, r, { ok: false, reason: 'CODE_MALFORMED', detail: v.expected.detail });
      continue;
    }
    if (!r.ok || r.code.kind !== 'offline-numeric') {
      eq(`numeric ${v.name} decodes`, r.ok, true);
      continue;
    }
    const w = v.verifyWith;
    eq(`numeric ${v.name} rejected`, verifyNumericOfflineCode(r.code, hex(w.secretHex), w.nowMs, file.stepMs, w.windowMs), {
      ok: false,
      reason: v.expected.reason,
    });
  }
}

function onlineCodes(file: Json, eq: Eq): void {
  for (const v of file.valid) {
    const stream = hex(v.randomBytesHex);
    let at = 0;
    const random: Random = {
      bytes(n) {
        if (at + n > stream.length) throw new Error('stream exhausted');
        at += n;
        return stream.slice(at - n, at);
      },
    };
    eq(`online ${v.name} text`, makeOnlineCode(random), v.text);
    eq(`online ${v.name} consumed`, at, stream.length);
  }
  for (const l of file.luhn) eq(`luhn ${l.digits}`, luhnCheckDigit(l.digits), l.checkDigit);
  for (const v of file.invalid)
    eq(`online ${v.name} malformed`, decodeCode(v.text), { ok: false, reason: 'CODE_MALFORMED', detail: v.expected.detail });
}

(globalThis as { kioskpayVectors?: typeof runVectors }).kioskpayVectors = runVectors;
