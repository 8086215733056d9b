// SPDX-License-Identifier: Apache-2.0
// Pure framing of a scanner's byte stream into scans. No I/O, no timers, never throws on input.
//
// - Lines end with the configured suffix: CR, LF or CR LF (a lone CR in CRLF mode is content,
//   so a scanner configured differently yields 'non-printable' drops, not wrong scans).
// - An optional AIM symbology identifier (']' + letter + digit, e.g. ']Q1') is stripped from
//   the start of the text and mapped to a symbology name.
// - Caps: maxLineBytes per line (bytes, without terminator) and maxTextChars for the text after
//   the prefix (UTF-16 units, like the CODE_TEXT_MAX zod check). A line over the byte cap is
//   not buffered further: it is discarded up to the next terminator and reported once.
// - Lines that are not valid UTF-8 or contain control characters are dropped with a reason.
// - Empty lines (two terminators in a row) are ignored silently.
import { CODE_TEXT_MAX } from '../../../shared/schemas.ts';
import type { DropReason, DroppedLine, Scan, Symbology } from './scanner.ts';

export type Suffix = 'CR' | 'LF' | 'CRLF';

export interface LineFramerOptions {
  suffix?: Suffix;
  /** 'auto' strips a leading AIM identifier when present (default); 'off' keeps text as sent. */
  aim?: 'auto' | 'off';
  /** Default 1024. */
  maxLineBytes?: number;
  /** Default CODE_TEXT_MAX (512). */
  maxTextChars?: number;
}

export type FramerEvent = { kind: 'scan'; scan: Scan } | { kind: 'dropped'; dropped: DroppedLine };

const CR = 0x0d;
const LF = 0x0a;

/** AIM code character (ISO/IEC 15424) -> symbology; some depend on the modifier digit. */
export function symbologyForAim(aimId: string): Symbology | undefined {
  const code = aimId[1];
  const mod = aimId[2];
  switch (code) {
    case 'Q':
      return 'qr';
    case 'E':
      return mod === '4' ? 'ean-8' : 'ean-13';
    case 'C':
      return mod === '1' ? 'gs1-128' : 'code-128';
    case 'A':
      return 'code-39';
    case 'I':
      return 'itf';
    case 'd':
      return 'data-matrix';
    case 'L':
      return 'pdf417';
    case 'z':
      return 'aztec';
    case 'e':
      return 'gs1-databar';
    default:
      return undefined;
  }
}

/** The AIM id we attach for a symbology in the simulator (inverse of symbologyForAim). */
export function aimForSymbology(symbology: string): string | undefined {
  const table: Record<string, string> = {
    qr: ']Q1',
    'ean-13': ']E0',
    'ean-8': ']E4',
    'code-128': ']C0',
    'gs1-128': ']C1',
    'code-39': ']A0',
    itf: ']I0',
    'data-matrix': ']d1',
    pdf417: ']L0',
    aztec: ']z0',
    'gs1-databar': ']e0',
  };
  return table[symbology];
}

const AIM_RE = /^\][A-Za-z][0-9]/;
// C0 controls, DEL, C1 controls; also lone surrogates cannot occur after a fatal UTF-8 decode.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this pattern's job
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Checks decoded text (prefix already removed): printable and within the character cap.
 * Returns the drop reason, or undefined when the text is acceptable.
 */
export function checkText(text: string, maxTextChars: number = CODE_TEXT_MAX): DropReason | undefined {
  if (text.length === 0) return 'empty';
  if (CONTROL_RE.test(text)) return 'non-printable';
  if (text.length > maxTextChars) return 'too-long';
  return undefined;
}

export class LineFramer {
  readonly #suffix: Suffix;
  readonly #aim: 'auto' | 'off';
  readonly #maxLineBytes: number;
  readonly #maxTextChars: number;
  /** Room for the line plus the CR of a CRLF terminator. */
  readonly #buf: Uint8Array;
  #len = 0;
  /** Bytes seen in the current line while over the cap (buffering stopped). */
  #overflow = 0;
  #lastWasCR = false;
  readonly #decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  constructor(opts: LineFramerOptions = {}) {
    this.#suffix = opts.suffix ?? 'CR';
    this.#aim = opts.aim ?? 'auto';
    this.#maxLineBytes = opts.maxLineBytes ?? 1024;
    this.#maxTextChars = opts.maxTextChars ?? CODE_TEXT_MAX;
    if (!Number.isInteger(this.#maxLineBytes) || this.#maxLineBytes < 1) throw new RangeError('maxLineBytes must be a positive integer');
    if (!Number.isInteger(this.#maxTextChars) || this.#maxTextChars < 1) throw new RangeError('maxTextChars must be a positive integer');
    this.#buf = new Uint8Array(this.#maxLineBytes + 1);
  }

  /** Feeds a chunk of bytes; returns the scans and drops completed by it, in order. */
  push(chunk: Uint8Array): FramerEvent[] {
    const out: FramerEvent[] = [];
    const crlf = this.#suffix === 'CRLF';
    const term = this.#suffix === 'LF' ? LF : CR;
    const cap = this.#buf.length; // maxLineBytes + 1
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      const ends = crlf ? b === LF && this.#lastWasCR : b === term;
      this.#lastWasCR = b === CR;
      if (ends) {
        this.#endLine(out, crlf);
        this.#lastWasCR = false;
        continue;
      }
      if (this.#overflow > 0) {
        this.#overflow++;
      } else if (this.#len < cap) {
        this.#buf[this.#len++] = b;
      } else {
        this.#overflow = this.#len + 1;
        this.#len = 0;
      }
    }
    return out;
  }

  /** Discards a partial line (after an unplug or at stop); reports it when there was one. */
  reset(): FramerEvent[] {
    const pending = this.#overflow > 0 ? this.#overflow : this.#len;
    this.#len = 0;
    this.#overflow = 0;
    this.#lastWasCR = false;
    return pending > 0 ? [{ kind: 'dropped', dropped: { length: pending, reason: 'incomplete' } }] : [];
  }

  #endLine(out: FramerEvent[], crlf: boolean): void {
    if (this.#overflow > 0) {
      const length = this.#overflow - (crlf ? 1 : 0); // the CR of CR LF was counted
      this.#overflow = 0;
      this.#len = 0;
      out.push({ kind: 'dropped', dropped: { length, reason: 'too-long' } });
      return;
    }
    const length = this.#len - (crlf ? 1 : 0);
    this.#len = 0;
    if (length <= 0) return; // empty line
    if (length > this.#maxLineBytes) {
      out.push({ kind: 'dropped', dropped: { length, reason: 'too-long' } });
      return;
    }
    out.push(this.#decodeLine(this.#buf.subarray(0, length)));
  }

  #decodeLine(bytes: Uint8Array): FramerEvent {
    const length = bytes.length;
    let text: string;
    try {
      text = this.#decoder.decode(bytes);
    } catch {
      return { kind: 'dropped', dropped: { length, reason: 'invalid-utf8' } };
    }
    let aimId: string | undefined;
    if (this.#aim === 'auto' && AIM_RE.test(text)) {
      aimId = text.slice(0, 3);
      text = text.slice(3);
    }
    const reason = checkText(text, this.#maxTextChars);
    if (reason) return { kind: 'dropped', dropped: { length, reason } };
    const scan: Scan = { text };
    if (aimId !== undefined) {
      scan.aimId = aimId;
      const symbology = symbologyForAim(aimId);
      if (symbology) scan.symbology = symbology;
    }
    return { kind: 'scan', scan };
  }
}
