// SPDX-License-Identifier: Apache-2.0
// Writes the test vectors of docs/codes.md: docs/vectors/{credentials,offline-codes,offline-codes-v3,
// numeric-codes,online-codes}.json. Deterministic: every key, id and random byte comes from a fixed seed, and
// Ed25519 signing is deterministic. Run: node --import tsx docs/vectors/generate.ts
// test/vectors.test.ts checks the files against both Ed25519 adapters and that regenerating them
// changes nothing.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { concatBytes, fromBase64url, toBase64url, toHex, utf8 } from '../../shared/bytes.ts';
import type { Ed25519KeyPair } from '../../shared/crypto/ed25519.ts';
import { nodeEd25519 } from '../../shared/crypto/ed25519-node.ts';
import { hmacSha512 } from '../../shared/crypto/hmac.ts';
import {
  CREDENTIAL_BODY_BYTES,
  CREDENTIAL_SIGNATURE_DOMAIN,
  credentialSigningMessage,
  parseCredential,
  signCredential,
  verifyCredential,
  type OfflineCredential,
} from '../../shared/codes/credential.ts';
import { decodeCode, type DecodedCode } from '../../shared/codes/decode.ts';
import { luhnCheckDigit } from '../../shared/codes/luhn.ts';
import { NUMERIC_MAC_DOMAIN, makeNumericOfflineCode, numericMac, verifyNumericOfflineCode } from '../../shared/codes/numeric-offline.ts';
import {
  OFFLINE_CODE_SIGNATURE_DOMAIN,
  OFFLINE_CODE_SIGNED_BYTES,
  OFFLINE_CODE_V3_SIGNATURE_DOMAIN,
  makeOfflineCode,
  offlineCodeSigningMessage,
  type DecodedOfflineQr,
} from '../../shared/codes/offline-code.ts';
import {
  ED25519_GROUP_ORDER,
  OFFLINE_QR_V3_NUMBER_DIGITS,
  OFFLINE_QR_V3_PREFIX,
  OFFLINE_QR_V3_TEXT_LENGTH,
  V3_CURRENCIES,
  packV3Number,
} from '../../shared/codes/offline-code-digits.ts';
import { checkOfflineTerms } from '../../shared/codes/offline-terms.ts';
import { makeOnlineCode } from '../../shared/codes/online-code.ts';
import { verifyOfflineQr } from '../../shared/codes/verify-offline.ts';
import type { Currency } from '../../shared/money.ts';
import { seededRandom, type Random } from '../../shared/random.ts';

const ed = nodeEd25519;
/** 2025-01-01T00:00:00Z. */
const T_MS = 1_735_689_600_000;
const DAY_MS = 86_400_000;
const FILES = ['credentials.json', 'offline-codes.json', 'offline-codes-v3.json', 'numeric-codes.json', 'online-codes.json'] as const;
export type VectorFileName = (typeof FILES)[number];

// ---- keys --------------------------------------------------------------------------------------

interface NamedKey {
  name: string;
  seed: Uint8Array;
  pair: Ed25519KeyPair;
}
function key(name: string, seedNumber: number): NamedKey {
  const seed = seededRandom(seedNumber).bytes(32);
  return { name, seed, pair: ed.keyPairFromSeed(seed) };
}
const keyJson = (k: NamedKey, extra: Record<string, unknown> = {}) => ({
  name: k.name,
  ...extra,
  seedHex: toHex(k.seed),
  publicKeyHex: toHex(k.pair.publicKey),
  publicKeyBase64url: toBase64url(k.pair.publicKey),
});

const issuer1 = key('issuer-1', 0x1001);
const issuer2 = key('issuer-2', 0x1002);
const rogueIssuer = key('rogue-issuer (not in the issuer key set)', 0x1003);
const ISSUERS = [
  { keyId: 1, k: issuer1 },
  { keyId: 2, k: issuer2 },
];
const issuerKeys: ReadonlyMap<number, Uint8Array> = new Map(ISSUERS.map((i) => [i.keyId, i.k.pair.publicKey]));
const phoneA = key('phone-a', 0x2001);
const phoneB = key('phone-b', 0x2002);
const thief = key('thief (not certified by any credential)', 0x2003);

// ---- helpers -----------------------------------------------------------------------------------

function credentialJson(c: OfflineCredential) {
  return {
    keyId: c.keyId,
    credentialId: c.credentialId,
    publicKeyHex: toHex(c.publicKey),
    accountAlias: c.accountAlias,
    notBeforeMs: c.notBeforeMs,
    notAfterMs: c.notAfterMs,
    limits: c.limits,
  };
}

/** What decodeCode says about a text, in a form another language can compare with. */
function decodeSummary(text: string) {
  const r = decodeCode(text);
  if (!r.ok) return { ok: false, reason: r.reason, detail: r.detail };
  return { ok: true, ...codeSummary(r.code) };
}
function codeSummary(code: DecodedCode) {
  switch (code.kind) {
    case 'online':
      return { kind: code.kind, text: code.text };
    case 'offline-numeric':
      return { kind: code.kind, text: code.text, handle: code.handle, stepDigit: code.stepDigit, mac: code.mac };
    case 'offline-qr':
      return {
        kind: code.kind,
        text: code.text,
        credential: credentialJson(code.credential),
        credentialHex: toHex(code.credentialBytes),
        timestampMs: code.timestampMs,
        counter: code.counter,
        signedBytesHex: toHex(code.signedBytes),
        signatureHex: toHex(code.signature),
      };
  }
}

function kindAndText(input: string) {
  const r = decodeCode(input);
  return r.ok ? { ok: true, kind: r.code.kind, text: r.code.text } : { ok: false, reason: r.reason, detail: r.detail };
}

function sign(message: Uint8Array, k: NamedKey): Uint8Array {
  return ed.sign(message, k.pair.secretKey);
}

/**
 * The same signature with S replaced by S + L (L the group order): still 32 bytes, and the same
 * point equation holds, so a verifier that reduces S mod L accepts it. RFC 8032 5.1.7 requires
 * S < L: every verifier must refuse it (signature malleability).
 */
function withSPlusL(signature: Uint8Array): Uint8Array {
  const L = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0x10,
  ];
  const out = signature.slice();
  let carry = 0;
  for (let i = 0; i < 32; i++) {
    const sum = out[32 + i]! + L[i]! + carry;
    out[32 + i] = sum & 0xff;
    carry = sum >> 8;
  }
  if (carry !== 0) throw new Error('S + L does not fit 32 bytes');
  return out;
}

/** The identity point (order 1): a small-order public key under which R = identity, S = 0 "signs" any message. */
const SMALL_ORDER_KEY = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0));
/** The signature that a lax verifier accepts for every message under SMALL_ORDER_KEY: R = identity, S = 0. */
const SMALL_ORDER_FORGERY = concatBytes(SMALL_ORDER_KEY, new Uint8Array(32));

/** A Random that records every byte it hands out. */
function recording(inner: Random): Random & { taken: number[] } {
  const taken: number[] = [];
  return {
    taken,
    bytes(n) {
      const b = inner.bytes(n);
      taken.push(...b);
      return b;
    },
  };
}

// ---- credentials.json --------------------------------------------------------------------------

function credentialInput(
  name: string,
  seedNumber: number,
  keyId: number,
  phone: NamedKey,
  currency: Currency,
  limits: Omit<OfflineCredential['limits'], 'currency'>,
  notBeforeMs: number,
  notAfterMs: number,
): { name: string; c: OfflineCredential } {
  const r = seededRandom(seedNumber);
  return {
    name,
    c: {
      keyId,
      credentialId: toHex(r.bytes(8)),
      publicKey: phone.pair.publicKey,
      accountAlias: toHex(r.bytes(6)),
      notBeforeMs,
      notAfterMs,
      limits: { currency, ...limits },
    },
  };
}

const CREDENTIALS = [
  credentialInput(
    'jpy-typical',
    0x3001,
    1,
    phoneA,
    'JPY',
    { perPayment: 5_000, daily: { amount: 20_000, count: 10 }, monthly: { amount: 100_000, count: 60 } },
    T_MS - DAY_MS,
    T_MS + 30 * DAY_MS,
  ),
  credentialInput(
    'usd-second-issuer-key',
    0x3002,
    2,
    phoneB,
    'USD',
    { perPayment: 2_500, daily: { amount: 10_000, count: 5 }, monthly: { amount: 50_000, count: 40 } },
    T_MS - 3_600_000,
    T_MS + 7 * DAY_MS,
  ),
  credentialInput(
    'eur-extremes',
    0x3003,
    1,
    phoneA,
    'EUR',
    { perPayment: 0xffff_ffff, daily: { amount: 0xffff_ffff, count: 255 }, monthly: { amount: 0, count: 0 } },
    0,
    0xffff_ffff * 1000,
  ),
];
const issuerOf = (keyId: number) => ISSUERS.find((i) => i.keyId === keyId)!.k;
const signedCredential = (name: string) => {
  const entry = CREDENTIALS.find((x) => x.name === name)!;
  return signCredential(entry.c, issuerOf(entry.c.keyId).pair.secretKey, ed);
};

function credentialInvalid(name: string, bytes: Uint8Array, note: string) {
  const parsed = parseCredential(bytes);
  return {
    name,
    note,
    bytesHex: toHex(bytes),
    expected: parsed.ok
      ? { parse: 'ok', verify: verifyCredential(bytes, issuerKeys, ed), reason: 'CREDENTIAL_INVALID' }
      : { parse: 'malformed', detail: parsed.detail, reason: 'CODE_MALFORMED' },
  };
}

function buildCredentials() {
  const good = signedCredential('jpy-typical');
  const edit = (f: (b: Uint8Array) => void) => {
    const b = good.slice();
    f(b);
    return b;
  };
  const resigned = (b: Uint8Array, k: NamedKey) =>
    concatBytes(b.subarray(0, CREDENTIAL_BODY_BYTES), sign(credentialSigningMessage(b.subarray(0, CREDENTIAL_BODY_BYTES)), k));
  return {
    description:
      'Offline credential v1 (docs/codes.md, "Offline credential"). valid: inputs and the exact 136 bytes; invalid: what parse and verify must say. reason is what a payment using the credential is declined with.',
    signatureDomain: CREDENTIAL_SIGNATURE_DOMAIN.replace('\0', '\\0'),
    signatureDomainHex: toHex(utf8(CREDENTIAL_SIGNATURE_DOMAIN)),
    issuerKeys: ISSUERS.map((i) => keyJson(i.k, { keyId: i.keyId })),
    phoneKeys: [keyJson(phoneA), keyJson(phoneB)],
    valid: CREDENTIALS.map(({ name, c }) => {
      const bytes = signCredential(c, issuerOf(c.keyId).pair.secretKey, ed);
      return {
        name,
        issuer: issuerOf(c.keyId).name,
        input: credentialJson(c),
        bodyHex: toHex(bytes.subarray(0, CREDENTIAL_BODY_BYTES)),
        signingMessageHex: toHex(credentialSigningMessage(bytes.subarray(0, CREDENTIAL_BODY_BYTES))),
        signatureHex: toHex(bytes.subarray(CREDENTIAL_BODY_BYTES)),
        bytesHex: toHex(bytes),
        base64url: toBase64url(bytes),
      };
    }),
    invalid: [
      credentialInvalid(
        'signature-byte-changed',
        edit((b) => {
          b[100]! ^= 0x01;
        }),
        'byte 100 (in the signature) XOR 0x01',
      ),
      credentialInvalid(
        'limit-byte-changed',
        edit((b) => {
          b[61]! ^= 0x01;
        }),
        'byte 61 (perPayment, low byte) XOR 0x01: the signature no longer covers the body',
      ),
      credentialInvalid(
        'phone-key-swapped',
        edit((b) => {
          b.set(phoneB.pair.publicKey, 10);
        }),
        "the phone public key replaced by phone-b's",
      ),
      credentialInvalid(
        'unknown-key-id',
        resigned(
          edit((b) => {
            b[1] = 9;
          }),
          issuer1,
        ),
        'keyId 9, correctly signed by issuer-1; keyId 9 is not in the issuer key set',
      ),
      credentialInvalid(
        'key-id-of-other-issuer',
        resigned(
          edit((b) => {
            b[1] = 2;
          }),
          issuer1,
        ),
        'keyId 2 but signed by issuer-1',
      ),
      credentialInvalid('rogue-issuer', resigned(good, rogueIssuer), 'keyId 1 but signed by a key that is not issuer-1'),
      credentialInvalid(
        'signed-without-domain',
        concatBytes(good.subarray(0, CREDENTIAL_BODY_BYTES), sign(good.subarray(0, CREDENTIAL_BODY_BYTES), issuer1)),
        'issuer-1 signed the 72 body bytes without the domain string',
      ),
      credentialInvalid(
        'version-2',
        edit((b) => {
          b[0] = 2;
        }),
        'version byte 2',
      ),
      credentialInvalid('truncated', good.subarray(0, 135), '135 bytes'),
      credentialInvalid('over-long', concatBytes(good, new Uint8Array(1)), '137 bytes'),
      credentialInvalid(
        'unknown-currency',
        edit((b) => {
          b[56] = 0x03;
          b[57] = 0x3a;
        }),
        'currency 826 (GBP) is not supported',
      ),
      credentialInvalid(
        'signature-s-plus-l',
        concatBytes(good.subarray(0, CREDENTIAL_BODY_BYTES), withSPlusL(good.subarray(CREDENTIAL_BODY_BYTES))),
        'the issuer signature with S + L in place of S (S >= L): a verifier that reduces S accepts it; RFC 8032 refuses it',
      ),
      credentialInvalid(
        'not-before-after-not-after',
        edit((b) => {
          b.set([0xff, 0xff, 0xff, 0xff], 48);
        }),
        'notBefore = 2^32 - 1 seconds, after notAfter',
      ),
    ],
  };
}

// ---- offline-codes.json ------------------------------------------------------------------------

const OFFLINE_CODES = [
  { name: 'jpy-counter-1', credential: 'jpy-typical', phone: phoneA, timestampMs: T_MS + 12_345, counter: 1 },
  { name: 'jpy-counter-2', credential: 'jpy-typical', phone: phoneA, timestampMs: T_MS + 60_000, counter: 2 },
  {
    name: 'usd-second-issuer-key',
    credential: 'usd-second-issuer-key',
    phone: phoneB,
    timestampMs: T_MS + 5 * DAY_MS + 999,
    counter: 4_000_000_000,
  },
  { name: 'eur-extreme-timestamp', credential: 'eur-extremes', phone: phoneA, timestampMs: 2 ** 48 - 1, counter: 0xffff_ffff },
];

function offlineInvalid(name: string, input: string, note: string) {
  const r = decodeCode(input);
  let expected: Record<string, unknown>;
  if (!r.ok) expected = { reason: r.reason, detail: r.detail };
  else if (r.code.kind !== 'offline-qr') throw new Error(`${name}: decodes as ${r.code.kind}`);
  else {
    const v = verifyOfflineQr(r.code, issuerKeys, ed);
    if (v.ok) throw new Error(`${name}: verifies`);
    expected = { reason: v.reason };
  }
  return { name, note, text: input, expected };
}

/** A code made outside its credential's validity period, checked at its own time. */
function expiredCase(
  name: string,
  credentialName: string,
  phone: NamedKey,
  when: (c: OfflineCredential) => number,
  amount: { value: number; currency: Currency },
) {
  const bytes = signedCredential(credentialName);
  const c = parseCredential(bytes);
  if (!c.ok) throw new Error(c.detail);
  const timestampMs = when(c.credential);
  const text = makeOfflineCode({ credential: bytes, timestampMs, counter: 5, phoneSecretKey: phone.pair.secretKey, version: 1 }, ed);
  const windowMs = 300_000;
  return {
    name,
    text,
    amount,
    referenceTimeMs: timestampMs,
    windowMs,
    expected: checkOfflineTerms({ credential: c.credential, timestampMs, amount, referenceTimeMs: timestampMs, windowMs }),
  };
}

function buildOfflineCodes() {
  const made = OFFLINE_CODES.map((o) => ({
    ...o,
    text: makeOfflineCode(
      {
        credential: signedCredential(o.credential),
        timestampMs: o.timestampMs,
        counter: o.counter,
        phoneSecretKey: o.phone.pair.secretKey,
        version: 1,
      },
      ed,
    ),
  }));
  const good = made[0]!.text;
  const bytes = () => fromBase64url(good.slice(4))!;
  const text = (b: Uint8Array) => 'KP1.' + toBase64url(b);
  const flip = (i: number) => {
    const b = bytes();
    b[i]! ^= 0x01;
    return text(b);
  };
  const resignedBy = (b: Uint8Array, k: NamedKey, domain = true) => {
    const signed = b.subarray(0, OFFLINE_CODE_SIGNED_BYTES);
    return text(concatBytes(signed, sign(domain ? offlineCodeSigningMessage(signed) : signed, k)));
  };
  const withCredential = (credentialBytes: Uint8Array) => {
    const b = bytes();
    b.set(credentialBytes, 1);
    return resignedBy(b, phoneA);
  };
  const jpy = signedCredential('jpy-typical');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const lastSibling = alphabet[alphabet.indexOf(good.at(-1)!) | 1]!;

  return {
    description:
      'Offline QR code v1 (docs/codes.md, "Offline QR code"). valid: inputs, the exact text, what decoding yields, and offline-terms checks; invalid: the reason a verifier must give (CODE_MALFORMED from decoding, else CREDENTIAL_INVALID or SIGNATURE_INVALID from the two signature checks). detail texts are informative, not normative.',
    prefix: 'KP1.',
    signatureDomain: OFFLINE_CODE_SIGNATURE_DOMAIN.replace('\0', '\\0'),
    signatureDomainHex: toHex(utf8(OFFLINE_CODE_SIGNATURE_DOMAIN)),
    issuerKeys: ISSUERS.map((i) => keyJson(i.k, { keyId: i.keyId })),
    phoneKeys: [keyJson(phoneA), keyJson(phoneB)],
    valid: made.map((o) => {
      const credential = signedCredential(o.credential);
      const d = decodeCode(o.text);
      if (!d.ok || d.code.kind !== 'offline-qr') throw new Error('does not decode');
      const code = d.code;
      const terms = (amount: { value: number; currency: Currency }, referenceTimeMs: number, windowMs: number, uncertaintyMs?: number) => ({
        amount,
        referenceTimeMs,
        windowMs,
        ...(uncertaintyMs === undefined ? {} : { uncertaintyMs }),
        expected: checkOfflineTerms({
          credential: code.credential,
          timestampMs: code.timestampMs,
          amount,
          referenceTimeMs,
          windowMs,
          ...(uncertaintyMs === undefined ? {} : { uncertaintyMs }),
        }),
      });
      const cur = code.credential.limits.currency;
      const per = code.credential.limits.perPayment;
      return {
        name: o.name,
        credential: o.credential,
        credentialBase64url: toBase64url(credential),
        phone: o.phone.name,
        timestampMs: o.timestampMs,
        counter: o.counter,
        signingMessageHex: toHex(offlineCodeSigningMessage(code.signedBytes)),
        text: o.text,
        decoded: decodeSummary(o.text),
        verify: verifyOfflineQr(code, issuerKeys, ed),
        terms:
          o.name === 'jpy-counter-1'
            ? [
                terms({ value: 1_200, currency: cur }, o.timestampMs + 30_000, 300_000),
                terms({ value: per, currency: cur }, o.timestampMs - 300_000, 300_000),
                terms({ value: per + 1, currency: cur }, o.timestampMs, 300_000),
                terms({ value: 1_200, currency: 'USD' }, o.timestampMs, 300_000),
                terms({ value: 1_200, currency: cur }, o.timestampMs + 300_001, 300_000),
                terms({ value: 1_200, currency: cur }, o.timestampMs + 300_001, 300_000, 1),
                terms({ value: 1_200, currency: cur }, o.timestampMs - 300_002, 300_000, 1),
              ]
            : o.name === 'usd-second-issuer-key'
              ? [
                  terms({ value: 2_500, currency: 'USD' }, o.timestampMs, 300_000),
                  terms({ value: 2_500, currency: 'JPY' }, o.timestampMs, 300_000),
                ]
              : [],
      };
    }),
    expiredTerms: [
      expiredCase('made-after-not-after', 'usd-second-issuer-key', phoneB, (c) => c.notAfterMs + 1_000, { value: 100, currency: 'USD' }),
      expiredCase('made-before-not-before', 'jpy-typical', phoneA, (c) => c.notBeforeMs - 1_000, { value: 100, currency: 'JPY' }),
    ],
    invalid: [
      offlineInvalid('credential-phone-key-byte-changed', flip(1 + 10), 'code byte 11 (credential byte 10, the phone key) XOR 0x01'),
      offlineInvalid('credential-signature-byte-changed', flip(1 + 100), 'code byte 101 (in the issuer signature) XOR 0x01'),
      offlineInvalid(
        'credential-unknown-key-id',
        withCredential(
          concatBytes(
            Uint8Array.of(1, 9),
            jpy.subarray(2, CREDENTIAL_BODY_BYTES),
            sign(credentialSigningMessage(concatBytes(Uint8Array.of(1, 9), jpy.subarray(2, CREDENTIAL_BODY_BYTES))), issuer1),
          ),
        ),
        'credential keyId 9 (not in the issuer key set), code correctly signed by phone-a',
      ),
      offlineInvalid(
        'credential-by-rogue-issuer',
        withCredential(
          concatBytes(
            jpy.subarray(0, CREDENTIAL_BODY_BYTES),
            sign(credentialSigningMessage(jpy.subarray(0, CREDENTIAL_BODY_BYTES)), rogueIssuer),
          ),
        ),
        'credential signed by a key that is not issuer-1',
      ),
      offlineInvalid('timestamp-byte-changed', flip(142), 'code byte 142 (timestamp, low byte) XOR 0x01'),
      offlineInvalid('counter-byte-changed', flip(146), 'code byte 146 (counter, low byte) XOR 0x01'),
      offlineInvalid('phone-signature-byte-changed', flip(200), 'code byte 200 (phone signature) XOR 0x01'),
      offlineInvalid('signed-by-uncertified-key', resignedBy(bytes(), thief), 'signed by a key the credential does not certify'),
      offlineInvalid('signed-without-domain', resignedBy(bytes(), phoneA, false), 'phone-a signed the 147 bytes without the domain string'),
      offlineInvalid(
        'phone-signature-s-plus-l',
        (() => {
          const b = bytes();
          b.set(withSPlusL(b.subarray(OFFLINE_CODE_SIGNED_BYTES)), OFFLINE_CODE_SIGNED_BYTES);
          return text(b);
        })(),
        'the phone signature with S + L in place of S (S >= L): a verifier that reduces S accepts it; RFC 8032 refuses it',
      ),
      offlineInvalid(
        'credential-signature-s-plus-l',
        withCredential(concatBytes(jpy.subarray(0, CREDENTIAL_BODY_BYTES), withSPlusL(jpy.subarray(CREDENTIAL_BODY_BYTES)))),
        "the credential's issuer signature with S + L (S >= L), code correctly signed by phone-a",
      ),
      offlineInvalid(
        'small-order-phone-key',
        (() => {
          // A credential the issuer signed for the identity point (a real issuer never does: the
          // server refuses such keys and signCredential asserts), and a code "signed" with
          // R = identity, S = 0, which an RFC 8032 equation check alone accepts for every message.
          const body = jpy.slice(0, CREDENTIAL_BODY_BYTES);
          body.set(SMALL_ORDER_KEY, 10);
          const b = bytes();
          b.set(concatBytes(body, sign(credentialSigningMessage(body), issuer1)), 1);
          return text(concatBytes(b.subarray(0, OFFLINE_CODE_SIGNED_BYTES), SMALL_ORDER_FORGERY));
        })(),
        'credential (issuer-1) certifying the small-order key 01 00..00, code signature R = that point, S = 0: forgeable by anybody',
      ),
      offlineInvalid(
        'version-byte-2',
        (() => {
          const b = bytes();
          b[0] = 2;
          return resignedBy(b, phoneA);
        })(),
        'code byte 0 = 2, re-signed',
      ),
      offlineInvalid('credential-version-0', flip(1), 'code byte 1 (credential version) XOR 0x01 = 0'),
      offlineInvalid('prefix-kp3', 'KP3.' + good.slice(4), 'prefix KP3.'),
      offlineInvalid('prefix-lowercase', 'kp1.' + good.slice(4), 'prefix kp1.'),
      offlineInvalid('truncated', good.slice(0, -1), '285 characters'),
      offlineInvalid('over-long', good + 'A', '287 characters'),
      offlineInvalid('padding', good.slice(0, -2) + '==', 'base64 padding'),
      offlineInvalid('standard-base64-alphabet', good.slice(0, 100) + '+' + good.slice(101), "'+' from the standard alphabet"),
      offlineInvalid('non-canonical-trailing-bits', good.slice(0, -1) + lastSibling, 'unused low bits of the last character set'),
      offlineInvalid('inner-whitespace', good.slice(0, 143) + '\n' + good.slice(143), 'a line break in the middle'),
      offlineInvalid('too-long-with-padding', good + ' '.repeat(227), '513 characters (a valid code and spaces): refused before parsing'),
    ],
    whitespace: [
      { name: 'crlf-suffix', input: `${good}\r\n`, decoded: kindAndText(`${good}\r\n`) },
      { name: 'spaces-and-tab-around', input: ` \t${good} `, decoded: kindAndText(` \t${good} `) },
    ],
  };
}

// ---- offline-codes-v3.json ---------------------------------------------------------------------

const V3_CODES = [
  { name: 'jpy-uncapped', credential: 'jpy-typical', phone: phoneA, timestampMs: T_MS + 12_345, counter: 1, amountCap: undefined },
  { name: 'jpy-capped-1200', credential: 'jpy-typical', phone: phoneA, timestampMs: T_MS + 60_000, counter: 2, amountCap: 1_200 },
  {
    name: 'usd-second-issuer-key-cap-0',
    credential: 'usd-second-issuer-key',
    phone: phoneB,
    timestampMs: T_MS + 5 * DAY_MS + 999,
    counter: 4_000_000_000,
    amountCap: 0,
  },
  {
    name: 'eur-extremes',
    credential: 'eur-extremes',
    phone: phoneA,
    timestampMs: 2 ** 48 - 1,
    counter: 0xffff_ffff,
    amountCap: 0xffff_ffff,
  },
];

/** The eight mixed-radix fields of a version-3 code, as decimal strings, read from its bytes as docs/codes.md 6.2 says. */
function v3Fields(code: DecodedOfflineQr) {
  const be = (b: Uint8Array) => BigInt('0x' + (toHex(b) || '0'));
  const le = (b: Uint8Array) => be(b.slice().reverse());
  const s = code.signedBytes;
  const cred = s.subarray(1, 137);
  return {
    A: be(cred.subarray(1, 56)).toString(),
    cur: String(V3_CURRENCIES.indexOf((cred[56]! << 8) | cred[57]!)),
    B: be(cred.subarray(58, 104)).toString(),
    S1: le(cred.subarray(104, 136)).toString(),
    C: be(s.subarray(137, 147)).toString(),
    cap: String(code.amountCap === null ? 0 : code.amountCap + 1),
    R2: be(code.signature.subarray(0, 32)).toString(),
    S2: le(code.signature.subarray(32, 64)).toString(),
  };
}

function buildOfflineCodesV3() {
  const made = V3_CODES.map((o) => ({
    ...o,
    text: makeOfflineCode(
      {
        credential: signedCredential(o.credential),
        timestampMs: o.timestampMs,
        counter: o.counter,
        phoneSecretKey: o.phone.pair.secretKey,
        amountCap: o.amountCap,
        version: 3,
      },
      ed,
    ),
  }));
  const qr = (text: string) => {
    const d = decodeCode(text);
    if (!d.ok || d.code.kind !== 'offline-qr') throw new Error('does not decode');
    return d.code;
  };
  const good = qr(made[1]!.text); // jpy-capped-1200
  const repack = (signed: Uint8Array, signature: Uint8Array) => OFFLINE_QR_V3_PREFIX + packV3Number(signed, signature);
  const edited = (f: (signed: Uint8Array) => void) => {
    const b = good.signedBytes.slice();
    f(b);
    return b;
  };
  const resigned = (signed: Uint8Array, k: NamedKey, domain = true) =>
    repack(signed, sign(domain ? offlineCodeSigningMessage(signed) : signed, k));
  const jpy = signedCredential('jpy-typical');
  const withCredential = (credential: Uint8Array) =>
    resigned(
      edited((b) => b.set(credential, 1)),
      phoneA,
    );
  const digit = (i: number) => good.text.slice(0, i) + String((Number(good.text[i]) + 1) % 10) + good.text.slice(i + 1);
  const product = [2n ** 440n, 3n, 2n ** 368n, ED25519_GROUP_ORDER, 2n ** 80n, 2n ** 32n + 1n, 2n ** 256n, ED25519_GROUP_ORDER].reduce(
    (a, b) => a * b,
    1n,
  );
  const v2Signature = sign(
    offlineCodeSigningMessage(concatBytes(Uint8Array.of(2), good.signedBytes.subarray(1, 147), good.signedBytes.subarray(148, 152))),
    phoneA,
  );
  const grouped = good.text.slice(0, 170) + ' ' + good.text.slice(170, 340) + '-' + good.text.slice(340);

  return {
    description:
      'Offline QR code v3 (docs/codes.md, "Version 3"): the information of version 2 as "33" and a 507-digit number, for QR numeric mode (version 10 at ECC M). valid: inputs, the eight mixed-radix fields (decimal), the number, the exact text, what decoding yields; invalid: the reason a verifier must give. detail texts are informative, not normative.',
    prefix: OFFLINE_QR_V3_PREFIX,
    textLength: OFFLINE_QR_V3_TEXT_LENGTH,
    numberDigits: OFFLINE_QR_V3_NUMBER_DIGITS,
    radices: {
      A: (2n ** 440n).toString(),
      cur: '3',
      B: (2n ** 368n).toString(),
      S1: ED25519_GROUP_ORDER.toString(),
      C: (2n ** 80n).toString(),
      cap: (2n ** 32n + 1n).toString(),
      R2: (2n ** 256n).toString(),
      S2: ED25519_GROUP_ORDER.toString(),
    },
    currencyIndex: V3_CURRENCIES,
    signatureDomain: OFFLINE_CODE_V3_SIGNATURE_DOMAIN.replace('\0', '\\0'),
    signatureDomainHex: toHex(utf8(OFFLINE_CODE_V3_SIGNATURE_DOMAIN)),
    issuerKeys: ISSUERS.map((i) => keyJson(i.k, { keyId: i.keyId })),
    phoneKeys: [keyJson(phoneA), keyJson(phoneB)],
    valid: made.map((o) => {
      const code = qr(o.text);
      return {
        name: o.name,
        credential: o.credential,
        credentialBase64url: toBase64url(signedCredential(o.credential)),
        phone: o.phone.name,
        timestampMs: o.timestampMs,
        counter: o.counter,
        amountCap: o.amountCap ?? null,
        signingMessageHex: toHex(offlineCodeSigningMessage(code.signedBytes)),
        signatureHex: toHex(code.signature),
        fields: v3Fields(code),
        number: BigInt(o.text.slice(OFFLINE_QR_V3_PREFIX.length)).toString(),
        text: o.text,
        decoded: { ...decodeSummary(o.text), version: code.version, amountCap: code.amountCap },
        verify: verifyOfflineQr(code, issuerKeys, ed),
      };
    }),
    invalid: [
      offlineInvalid(
        'phone-signature-digit-changed',
        digit(OFFLINE_QR_V3_TEXT_LENGTH - 10),
        'the tenth digit from the end plus 1 (mod 10): the phone signature changes',
      ),
      offlineInvalid(
        'timestamp-changed',
        repack(
          edited((b) => {
            b[142]! ^= 0x01;
          }),
          good.signature,
        ),
        'timestamp low bit flipped, signature kept',
      ),
      offlineInvalid(
        'cap-raised',
        repack(
          edited((b) => {
            new DataView(b.buffer).setUint32(148, 5_000);
          }),
          good.signature,
        ),
        'cap 1200 raised to 5000, signature kept',
      ),
      offlineInvalid(
        'cap-removed',
        repack(
          edited((b) => {
            b.fill(0, 147);
          }),
          good.signature,
        ),
        'cap removed (field 0), signature kept',
      ),
      offlineInvalid(
        'version-2-signature',
        repack(good.signedBytes, v2Signature),
        'the same fields, with the signature phone-a made over the version-2 bytes of this code',
      ),
      offlineInvalid(
        'signed-without-domain',
        resigned(good.signedBytes.slice(), phoneA, false),
        'phone-a signed the 152 bytes without the domain string',
      ),
      offlineInvalid(
        'signed-by-uncertified-key',
        resigned(good.signedBytes.slice(), thief),
        'signed by a key the credential does not certify',
      ),
      offlineInvalid(
        'credential-limit-changed',
        repack(
          edited((b) => {
            b[1 + 61]! ^= 0x01;
          }),
          good.signature,
        ),
        'credential byte 61 (perPayment, low byte) XOR 0x01: the issuer signature no longer covers it',
      ),
      offlineInvalid(
        'credential-by-rogue-issuer',
        withCredential(
          concatBytes(
            jpy.subarray(0, CREDENTIAL_BODY_BYTES),
            sign(credentialSigningMessage(jpy.subarray(0, CREDENTIAL_BODY_BYTES)), rogueIssuer),
          ),
        ),
        'credential signed by a key that is not issuer-1, code correctly signed by phone-a',
      ),
      offlineInvalid(
        'small-order-phone-key',
        (() => {
          const body = jpy.slice(0, CREDENTIAL_BODY_BYTES);
          body.set(SMALL_ORDER_KEY, 10);
          return repack(
            edited((b) => b.set(concatBytes(body, sign(credentialSigningMessage(body), issuer1)), 1)),
            SMALL_ORDER_FORGERY,
          );
        })(),
        'credential (issuer-1) certifying the small-order key 01 00..00, code signature R = that point, S = 0',
      ),
      offlineInvalid(
        'not-before-after-not-after',
        repack(
          edited((b) => {
            b.set([0xff, 0xff, 0xff, 0xff], 1 + 48);
          }),
          good.signature,
        ),
        'credential notBefore = 2^32 - 1 seconds, after notAfter',
      ),
      offlineInvalid(
        'number-equals-product',
        OFFLINE_QR_V3_PREFIX + product.toString().padStart(OFFLINE_QR_V3_NUMBER_DIGITS, '0'),
        'the number is the product of the radices: one past the largest code',
      ),
      offlineInvalid(
        'all-nines',
        OFFLINE_QR_V3_PREFIX + '9'.repeat(OFFLINE_QR_V3_NUMBER_DIGITS),
        'the number is above the product of the radices',
      ),
      offlineInvalid('truncated', good.text.slice(0, -1), '508 digits'),
      offlineInvalid('over-long', good.text + '0', '510 digits'),
      offlineInvalid('prefix-34', '34' + good.text.slice(2), '509 digits starting 34'),
      offlineInvalid('letter-inside', good.text.slice(0, 100) + 'O' + good.text.slice(101), 'the letter O in place of a digit'),
      offlineInvalid(
        'dot-separators',
        good.text.slice(0, 170) + '.' + good.text.slice(170),
        'a dot between digits (only spaces and hyphens are separators)',
      ),
    ],
    whitespace: [
      { name: 'crlf-suffix', input: `${good.text}\r\n`, decoded: kindAndText(`${good.text}\r\n`) },
      { name: 'groups-with-space-and-hyphen', input: grouped, decoded: kindAndText(grouped) },
    ],
  };
}

// ---- numeric-codes.json ------------------------------------------------------------------------

const STEP_MS = 30_000;
function buildNumericCodes() {
  const secretA = seededRandom(0x4001).bytes(32);
  const secretB = seededRandom(0x4002).bytes(32);
  const cases = [
    { name: 'typical', handle: '48213907', secret: secretA, timeMs: T_MS + 12_345 },
    { name: 'step-digit-9', handle: '48213907', secret: secretA, timeMs: T_MS + 9 * STEP_MS + 1 },
    { name: 'leading-zeros', handle: '00000042', secret: secretB, timeMs: T_MS + 3 * DAY_MS },
    { name: 'time-zero', handle: '99999999', secret: secretB, timeMs: 0 },
  ];
  const decodeN = (text: string) => {
    const d = decodeCode(text);
    if (!d.ok || d.code.kind !== 'offline-numeric') throw new Error('not numeric');
    return d.code;
  };
  const withLuhn = (body: string) => body + luhnCheckDigit(body);
  const good = makeNumericOfflineCode({ handle: '48213907', secret: secretA, timeMs: T_MS + 12_345, stepMs: STEP_MS });
  return {
    description:
      'Numeric offline code v1 (docs/codes.md, "Numeric offline code"). MAC = uint40(first 5 bytes of HMAC-SHA-512(secret, macInput)) mod 10^8. verify lists server checks with the window; timestampMs is the instant of the matching step nearest to nowMs.',
    macDomain: NUMERIC_MAC_DOMAIN.replace('\0', '\\0'),
    macDomainHex: toHex(utf8(NUMERIC_MAC_DOMAIN)),
    stepMs: STEP_MS,
    valid: cases.map((c) => {
      const step = Math.floor(c.timeMs / STEP_MS);
      const stepBytes = new Uint8Array(8);
      new DataView(stepBytes.buffer).setBigUint64(0, BigInt(step));
      const macInput = concatBytes(utf8(NUMERIC_MAC_DOMAIN), utf8(c.handle), stepBytes);
      const text = makeNumericOfflineCode({ handle: c.handle, secret: c.secret, timeMs: c.timeMs, stepMs: STEP_MS });
      const code = decodeN(text);
      const check = (nowMs: number, windowMs: number) => ({
        nowMs,
        windowMs,
        expected: verifyNumericOfflineCode(code, c.secret, nowMs, STEP_MS, windowMs),
      });
      return {
        name: c.name,
        handle: c.handle,
        secretHex: toHex(c.secret),
        secretBase64url: toBase64url(c.secret),
        timeMs: c.timeMs,
        step,
        macInputHex: toHex(macInput),
        hmacSha512Hex: toHex(hmacSha512(c.secret, macInput)),
        mac: numericMac(c.secret, c.handle, step),
        text,
        decoded: decodeSummary(text),
        verify:
          c.timeMs === 0
            ? [check(0, 0), check(60_000, 120_000)]
            : [
                check(c.timeMs, 120_000),
                check(c.timeMs + 120_000, 120_000),
                check(c.timeMs - 120_000, 120_000),
                check(c.timeMs + 10 * 60_000, 120_000),
                check(c.timeMs, 0),
              ],
      };
    }),
    wrongSecret: {
      text: good,
      secretHex: toHex(secretB),
      nowMs: T_MS + 12_345,
      windowMs: 120_000,
      expected: verifyNumericOfflineCode(decodeN(good), secretB, T_MS + 12_345, STEP_MS, 120_000),
    },
    invalid: [
      { name: 'check-digit-wrong', text: good.slice(0, 19) + String((Number(good[19]) + 1) % 10) },
      {
        name: 'mac-digit-changed-luhn-fixed',
        text: withLuhn(good.slice(0, 12) + String((Number(good[12]) + 1) % 10) + good.slice(13, 19)),
        verifyWith: { secretHex: toHex(secretA), nowMs: T_MS + 12_345, windowMs: 120_000 },
      },
      {
        name: 'step-digit-changed-luhn-fixed',
        text: withLuhn(good.slice(0, 10) + String((Number(good[10]) + 1) % 10) + good.slice(11, 19)),
        verifyWith: { secretHex: toHex(secretA), nowMs: T_MS + 12_345, windowMs: 120_000 },
      },
      { name: 'nineteen-digits', text: good.slice(0, 19) },
      { name: 'unknown-prefix-33', text: withLuhn('33' + good.slice(2, 19)) },
      { name: 'letter-inside', text: good.slice(0, 5) + 'O' + good.slice(6) },
      { name: 'fullwidth-digits', text: good.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d))) },
    ].map((c) => {
      const d = decodeCode(c.text);
      if (d.ok) {
        if (d.code.kind !== 'offline-numeric' || !('verifyWith' in c) || !c.verifyWith) throw new Error(`${c.name}: decodes`);
        const v = verifyNumericOfflineCode(d.code, secretA, c.verifyWith.nowMs, STEP_MS, c.verifyWith.windowMs);
        return { ...c, expected: v.ok ? { ok: true } : { reason: v.reason } };
      }
      return { ...c, expected: { reason: d.reason, detail: d.detail } };
    }),
  };
}

// ---- online-codes.json -------------------------------------------------------------------------

function buildOnlineCodes() {
  const valid = [0x5001, 0x5002, 0x5003, 0x5004].map((seed, i) => {
    const r = recording(seededRandom(seed));
    const text = makeOnlineCode(r);
    return { name: `seed-${i + 1}`, randomBytesHex: toHex(Uint8Array.from(r.taken)), text, decoded: decodeSummary(text) };
  });
  // A byte stream with values >= 250, to show that they are skipped.
  const skipping = [250, 0, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9, 251, 10, 11, 12, 13, 14, 15, 16, 252];
  let at = 0;
  const fixed = recording({ bytes: (n) => Uint8Array.from({ length: n }, () => skipping[at++]!) });
  const skippedText = makeOnlineCode(fixed);
  valid.push({
    name: 'bytes-250-and-above-skipped',
    randomBytesHex: toHex(Uint8Array.from(fixed.taken)),
    text: skippedText,
    decoded: decodeSummary(skippedText),
  });

  const good = valid[0]!.text;
  const withLuhn = (body: string) => body + luhnCheckDigit(body);
  return {
    description:
      'Online one-time code (docs/codes.md, "Online one-time code"): "31" + 17 digits + Luhn. randomBytesHex is the byte stream consumed: bytes < 250 give the digit byte mod 10, bytes >= 250 are skipped. The server stores issued codes; decoding only checks form.',
    valid,
    luhn: ['7992739871', '3100000000000000000', '3212345678901234567', '0', '1'].map((digits) => ({
      digits,
      checkDigit: luhnCheckDigit(digits),
    })),
    whitespace: [
      { name: 'crlf-suffix', input: `${good}\r\n`, decoded: decodeSummary(`${good}\r\n`) },
      { name: 'leading-space', input: ` ${good}`, decoded: decodeSummary(` ${good}`) },
      {
        name: 'groups-of-four-with-spaces',
        input: good.replace(/(\d{4})(?=\d)/g, '$1 '),
        decoded: decodeSummary(good.replace(/(\d{4})(?=\d)/g, '$1 ')),
      },
      {
        name: 'groups-with-hyphens',
        input: good.replace(/(\d{4})(?=\d)/g, '$1-'),
        decoded: decodeSummary(good.replace(/(\d{4})(?=\d)/g, '$1-')),
      },
      {
        name: 'inner-space',
        input: good.slice(0, 10) + ' ' + good.slice(10),
        decoded: decodeSummary(good.slice(0, 10) + ' ' + good.slice(10)),
      },
    ],
    invalid: [
      { name: 'check-digit-wrong', text: good.slice(0, 19) + String((Number(good[19]) + 1) % 10) },
      { name: 'adjacent-digits-swapped', text: good.slice(0, 5) + good[6] + good[5] + good.slice(7) },
      { name: 'twenty-one-digits', text: withLuhn(good.slice(0, 20)) },
      { name: 'unknown-prefix-30', text: withLuhn('30' + good.slice(2, 19)) },
      { name: 'inner-dot', text: good.slice(0, 10) + '.' + good.slice(10) },
      { name: 'leading-hyphen', text: '-' + good },
      { name: 'empty', text: '' },
      { name: 'too-long', text: '3'.repeat(513) },
    ]
      .filter((c) => c.text !== good)
      .map((c) => {
        const d = decodeCode(c.text);
        if (d.ok) throw new Error(`${c.name}: decodes`);
        return { ...c, expected: { reason: d.reason, detail: d.detail } };
      }),
  };
}

// ---- output ------------------------------------------------------------------------------------

/** The vector files as objects, keyed by file name. Pure: same output on every run. */
export function buildVectors(): Record<VectorFileName, unknown> {
  return {
    'credentials.json': buildCredentials(),
    'offline-codes.json': buildOfflineCodes(),
    'offline-codes-v3.json': buildOfflineCodesV3(),
    'numeric-codes.json': buildNumericCodes(),
    'online-codes.json': buildOnlineCodes(),
  };
}

/** The exact file texts: pretty-printed JSON with a final newline. */
export function renderVectorFiles(): Record<VectorFileName, string> {
  const v = buildVectors();
  return Object.fromEntries(FILES.map((name) => [name, JSON.stringify(v[name], null, 2) + '\n'])) as Record<VectorFileName, string>;
}

export const VECTORS_DIR = path.dirname(fileURLToPath(import.meta.url));

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [name, text] of Object.entries(renderVectorFiles())) {
    writeFileSync(path.join(VECTORS_DIR, name), text);
    console.log(`wrote docs/vectors/${name} (${text.length} bytes)`);
  }
}
