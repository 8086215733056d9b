// SPDX-License-Identifier: Apache-2.0
// Seeded fuzzing of every decoder that sees untrusted input: decodeCode (over 100,000 inputs:
// random strings of every kind, random bytes as latin1, and mutations of valid codes of each
// kind), fromBase64url, parseCredential and verifyOfflineQr. Decoders must never throw, must
// always answer the typed shape, and must refuse over-long input before parsing it.
import { describe, expect, it } from 'vitest';
import { bytesEqual, fromBase64url, toBase64url } from '../shared/bytes.ts';
import { nodeEd25519 } from '../shared/crypto/ed25519-node.ts';
import { CREDENTIAL_BODY_BYTES, encodeCredentialBody, parseCredential } from '../shared/codes/credential.ts';
import { decodeCode, decodeStats, type DecodeResult } from '../shared/codes/decode.ts';
import { luhnCheckDigit } from '../shared/codes/luhn.ts';
import { makeNumericOfflineCode } from '../shared/codes/numeric-offline.ts';
import { makeOfflineCode } from '../shared/codes/offline-code.ts';
import { makeOnlineCode } from '../shared/codes/online-code.ts';
import { fixture, T0_MS } from '../shared/codes/test-fixtures.ts';
import { verifyOfflineQr } from '../shared/codes/verify-offline.ts';
import { CODE_TEXT_MAX } from '../shared/schemas.ts';
import { seededRandom } from '../shared/random.ts';

const SEED = Number(process.env['FUZZ_SEED'] ?? 0x5eed);
type Rng = ReturnType<typeof seededRandom>;

const DIGITS = '0123456789';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const NASTY = ' \t\r\n\u0000\u00a0\u2028\ufeff=+/.%"\\\u0660\uff10\ud800\udfff😀é';

const pick = (r: Rng, s: string) => s[r.int(s.length)]!;
const randomString = (r: Rng, alphabet: string, n: number) => Array.from({ length: n }, () => pick(r, alphabet)).join('');

// ---- the valid codes that get mutated ----------------------------------------------------------

const f = fixture();
/** Offline QR codes of every version: 1 ("KP1."), 2 ("KP2.", capped), 3 (509 digits, capped or not). */
const offlineValid: string[] = [f.offlineCode, f.offlineCodeV3];
for (let i = 0; i < 2; i++) {
  const p = { credential: f.credentialBytes, timestampMs: T0_MS + i * 7_919, counter: 100 + i, phoneSecretKey: f.phone.secretKey };
  offlineValid.push(makeOfflineCode({ ...p, amountCap: 300 + i, version: 2 }, nodeEd25519));
  offlineValid.push(makeOfflineCode({ ...p, amountCap: i === 0 ? 700 : undefined, version: 3 }, nodeEd25519));
}
const valid: string[] = [...offlineValid];
{
  const r = seededRandom(SEED + 1);
  for (let i = 0; i < 4; i++) valid.push(makeOnlineCode(r));
  for (let i = 0; i < 4; i++)
    valid.push(
      makeNumericOfflineCode({
        handle: String(10_000_000 + r.int(89_999_999)),
        secret: r.bytes(32),
        timeMs: T0_MS + r.int(1e9),
        stepMs: 30_000,
      }),
    );
}

// ---- input generators --------------------------------------------------------------------------

/** Random strings of every kind: alphabets near and far from the code formats, long and short. */
function randomInput(r: Rng): string {
  switch (r.int(12)) {
    case 0:
      return randomString(r, DIGITS, r.int(25));
    case 1: {
      const body = randomString(r, DIGITS, 19);
      return r.int(2) ? body + luhnCheckDigit(body) : body + pick(r, DIGITS);
    }
    case 2: {
      const body = (r.int(2) ? '31' : '32') + randomString(r, DIGITS, 17);
      return body + luhnCheckDigit(body);
    }
    case 3:
      return 'KP1.' + randomString(r, B64URL, 270 + r.int(20));
    case 4:
      return structuredOfflineText(r);
    case 5:
      return randomString(r, B64URL + NASTY, r.int(600));
    case 6:
      return String.fromCharCode(...r.bytes(r.int(600))); // random bytes as latin1
    case 7:
      return randomString(r, NASTY + DIGITS, r.int(40));
    case 8:
      return Array.from({ length: r.int(300) }, () => String.fromCharCode(r.int(0x10000))).join(''); // any UTF-16, lone surrogates too
    case 9:
      return r.int(2) ? `KP${r.int(20)}.` + randomString(r, B64URL, 282) : '33' + randomString(r, DIGITS, 505 + r.int(5)); // other versions; version 3 of about the right length
    case 10:
      return groupedDigits(r);
    default: {
      const body = (r.int(2) ? '31' : '32') + randomString(r, DIGITS, 17);
      return grouped(r, body + luhnCheckDigit(body));
    }
  }
}

/** Digits with spaces and hyphens between (and sometimes around) groups, as people type them. */
function grouped(r: Rng, digits: string): string {
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    out += digits[i];
    if (i < digits.length - 1 && r.int(4) === 0) out += randomString(r, ' -', 1 + r.int(2));
  }
  return r.int(8) ? out : pick(r, ' -') + out + pick(r, ' -');
}
function groupedDigits(r: Rng): string {
  return grouped(r, randomString(r, DIGITS, r.int(30)));
}

/** Random 211 bytes shaped to get past the structure checks, so the deeper paths run. */
function structuredOfflineText(r: Rng): string {
  const b = r.bytes(211);
  if (r.int(4)) b[0] = 1;
  if (r.int(4)) b[1] = 1;
  if (r.int(4)) {
    b[57] = 0x01;
    b[58] = 0x88;
  } // JPY = 392 at credential bytes 56..57
  if (r.int(4)) {
    b[49] = 0;
    b[53] = 0xff;
  } // notBefore < notAfter
  return 'KP1.' + toBase64url(b);
}

/** One mutation of a text: bit flips, truncation, insertion, duplication, case changes, ... */
function mutateOnce(r: Rng, s: string): string {
  const i = s.length === 0 ? 0 : r.int(s.length);
  switch (r.int(11)) {
    case 0:
      return s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << r.int(7))) + s.slice(i + 1); // bit flip
    case 1:
      return s.slice(0, i); // truncate the end
    case 2:
      return s.slice(i); // truncate the start
    case 3:
      return s.slice(0, i) + randomString(r, B64URL + DIGITS + NASTY, 1 + r.int(3)) + s.slice(i); // insertion
    case 4: {
      const j = i + r.int(s.length - i + 1);
      return s.slice(0, j) + s.slice(i, j) + s.slice(j);
    } // duplicate a slice
    case 5:
      return s + s; // duplicate everything (often over-long)
    case 6:
      return s.slice(0, i) + (s[i] === s[i]?.toUpperCase() ? s[i]?.toLowerCase() : s[i]?.toUpperCase()) + s.slice(i + 1); // case change
    case 7:
      return r.int(2) ? s.toUpperCase() : s.toLowerCase();
    case 8:
      return s.slice(0, i) + pick(r, s.startsWith('KP') ? B64URL : DIGITS) + s.slice(i + 1); // same-alphabet substitution
    case 9:
      return s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2); // adjacent swap
    default:
      return pick(r, ' \r\n\t') + s + pick(r, ' \r\n\t'); // wrapped in whitespace
  }
}

function mutate(r: Rng, s: string): string {
  let out = s;
  for (let n = 1 + r.int(3); n > 0; n--) out = mutateOnce(r, out);
  return out;
}

// ---- the checks --------------------------------------------------------------------------------

const UINT32_MAX = 0xffff_ffff;

/** The text a decoded code must carry: ends trimmed; digits in groups without their separators. */
function expectedText(input: string): string {
  const trimmed = input.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
  return /^[0-9]+([ -]+[0-9]+)+$/.test(trimmed) ? trimmed.replace(/[ -]/g, '') : trimmed;
}
const OFFLINE_SHAPE = { 1: { text: 286, signed: 147 }, 2: { text: 291, signed: 151 }, 3: { text: 509, signed: 152 } } as const;

/** Asserts the exact typed shape of a decode result (no stray fields, right types and ranges). */
function assertShape(r: DecodeResult, input: string): void {
  if (!r.ok) {
    if (Object.keys(r).length !== 3 || r.reason !== 'CODE_MALFORMED' || typeof r.detail !== 'string' || r.detail.length === 0) {
      throw new Error(`bad failure shape for ${JSON.stringify(input.slice(0, 60))}: ${JSON.stringify(r)}`);
    }
    return;
  }
  const c = r.code;
  const good = (() => {
    if (typeof c.text !== 'string' || c.text !== expectedText(input)) return false;
    switch (c.kind) {
      case 'online':
        return /^31[0-9]{18}$/.test(c.text) && Object.keys(c).length === 2;
      case 'offline-numeric':
        return (
          /^32[0-9]{18}$/.test(c.text) &&
          /^[0-9]{8}$/.test(c.handle) &&
          Number.isInteger(c.stepDigit) &&
          c.stepDigit >= 0 &&
          c.stepDigit <= 9 &&
          /^[0-9]{8}$/.test(c.mac)
        );
      case 'offline-qr': {
        const p = parseCredential(c.credentialBytes);
        const shape = OFFLINE_SHAPE[c.version];
        const prefix = c.version === 3 ? /^33[0-9]{507}$/ : c.version === 2 ? /^KP2\./ : /^KP1\./;
        const cap =
          c.amountCap === null || (Number.isInteger(c.amountCap) && c.amountCap >= 0 && c.amountCap <= UINT32_MAX && c.version !== 1);
        return (
          shape !== undefined &&
          prefix.test(c.text) &&
          c.text.length === shape.text &&
          c.signedBytes.length === shape.signed &&
          c.signature.length === 64 &&
          c.signedBytes[0] === c.version &&
          cap &&
          c.credentialBytes.length === 136 &&
          Number.isSafeInteger(c.timestampMs) &&
          c.timestampMs >= 0 &&
          c.timestampMs < 2 ** 48 &&
          Number.isInteger(c.counter) &&
          c.counter >= 0 &&
          c.counter <= UINT32_MAX &&
          p.ok &&
          bytesEqual(c.signedBytes.subarray(1, 137), c.credentialBytes) &&
          c.credential.keyId === p.credential.keyId
        );
      }
      default:
        return false;
    }
  })();
  if (!good) throw new Error(`bad success shape for ${JSON.stringify(input.slice(0, 60))}: ${JSON.stringify(r)}`);
}

/** Decodes one input and checks everything about the answer; returns it. */
function check(input: string): DecodeResult {
  const before = decodeStats.parsed;
  let r: DecodeResult;
  try {
    r = decodeCode(input);
  } catch (e) {
    throw new Error(`decodeCode threw for ${JSON.stringify(input.slice(0, 60))}: ${String(e)}`);
  }
  assertShape(r, input);
  if (input.length > CODE_TEXT_MAX) {
    if (r.ok || !/too long/.test(r.detail) || decodeStats.parsed !== before)
      throw new Error(`over-long input of ${input.length} reached the parser`);
  } else if (decodeStats.parsed !== before + 1) {
    throw new Error('counter did not move for an input within the limit');
  }
  return r;
}

describe(`fuzzing the decoders (seed ${SEED}; set FUZZ_SEED to replay another)`, () => {
  it('decodeCode survives 100,000+ random and mutated inputs with the typed shape', () => {
    const r = seededRandom(SEED);
    const faultsBefore = decodeStats.faults;
    const counts = {
      random: 0,
      mutated: 0,
      overLong: 0,
      decoded: { online: 0, 'offline-numeric': 0, 'offline-qr': 0 },
      version3: 0,
      grouped: 0,
    };
    const tally = (input: string, res: DecodeResult) => {
      if (input.length > CODE_TEXT_MAX) counts.overLong++;
      if (!res.ok) return;
      counts.decoded[res.code.kind]++;
      if (res.code.kind === 'offline-qr' && res.code.version === 3) counts.version3++;
      if (/[0-9][ -]+[0-9]/.test(input)) counts.grouped++;
    };
    for (let i = 0; i < 60_000; i++) {
      const input = randomInput(r);
      counts.random++;
      tally(input, check(input));
    }
    for (let i = 0; i < 45_000; i++) {
      const input = mutate(r, valid[i % valid.length]!);
      counts.mutated++;
      tally(input, check(input));
    }
    for (const x of [
      undefined,
      null,
      0,
      NaN,
      1e21,
      true,
      {},
      [],
      [f.offlineCode],
      new Uint8Array(286),
      () => f.offlineCode,
      Symbol('s'),
      10n,
    ]) {
      expect(decodeCode(x)).toEqual({ ok: false, reason: 'CODE_MALFORMED', detail: 'code is not a string' });
    }
    expect(decodeStats.faults - faultsBefore).toBe(0);
    expect(counts.random + counts.mutated).toBeGreaterThanOrEqual(100_000);
    // The generators must reach every branch: over-long inputs and every kind of code.
    expect(counts.overLong).toBeGreaterThan(1_000);
    for (const n of Object.values(counts.decoded)) expect(n).toBeGreaterThan(100);
    expect(counts.version3).toBeGreaterThan(100);
    expect(counts.grouped).toBeGreaterThan(100);
  });

  it('fromBase64url never throws, and whatever it accepts re-encodes to the same text', () => {
    const r = seededRandom(SEED + 2);
    for (let i = 0; i < 20_000; i++) {
      const s = r.int(4) ? randomString(r, B64URL, r.int(50)) : randomString(r, B64URL + NASTY, r.int(50));
      const b = fromBase64url(s);
      if (b !== undefined) expect(toBase64url(b)).toBe(s);
    }
  });

  it('parseCredential never throws, and whatever it accepts encodes back to the same body', () => {
    const r = seededRandom(SEED + 3);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const b = r.int(8) ? r.bytes(136) : r.bytes(r.int(300));
      if (r.int(3)) b[0] = 1;
      if (r.int(3) && b.length > 57) {
        b[56] = 0x03;
        b[57] = [0x48, 0x88, 0xd2][r.int(3)]!;
      } // 840, 904 (unknown), 978
      if (r.int(3) && b.length > 53) {
        b[48] = 0;
        b[52] = 0xff;
      }
      const p = parseCredential(b);
      if (!p.ok) continue;
      accepted++;
      if (
        !bytesEqual(encodeCredentialBody(p.credential), b.subarray(0, CREDENTIAL_BODY_BYTES)) ||
        !bytesEqual(p.signature, b.subarray(CREDENTIAL_BODY_BYTES))
      ) {
        throw new Error(`credential does not round-trip: ${toBase64url(b)}`);
      }
    }
    expect(accepted).toBeGreaterThan(1_000);
  });

  it('verifyOfflineQr never throws and never accepts a code whose bytes were changed', () => {
    const r = seededRandom(SEED + 4);
    const originals = offlineValid.map((v) => {
      const d = decodeCode(v);
      if (!d.ok || d.code.kind !== 'offline-qr') throw new Error('not offline');
      return d.code;
    });
    let verified = 0;
    for (let i = 0; i < 12_000 && verified < 2_500; i++) {
      const res = check(mutate(r, offlineValid[i % offlineValid.length]!));
      if (!res.ok || res.code.kind !== 'offline-qr') continue;
      const code = res.code;
      const unchanged = originals.some((o) => bytesEqual(o.signedBytes, code.signedBytes) && bytesEqual(o.signature, code.signature));
      const v = verifyOfflineQr(code, f.issuerKeys, nodeEd25519);
      verified++;
      if (unchanged) expect(v).toEqual({ ok: true });
      else expect(v.ok, code.text).toBe(false);
    }
    expect(verified).toBeGreaterThan(1_000);
  });
});
