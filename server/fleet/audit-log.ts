// SPDX-License-Identifier: Apache-2.0
// The server's audit log of technician commands: one JSON line per command seen on
// kp/v1/kiosk/+/cmd and one per final ack seen on kp/v1/kiosk/+/ack (progress messages are not
// recorded). Lines are appended to <dataDir>/audit.log; fsync is batched (at most every
// `fsyncIntervalMs`, and on close); when the file would pass `bytesMax` it is rotated to
// audit.log.1 .. audit.log.N (`filesKept`), the oldest dropped. Commands carry no payment code, so
// their arguments are recorded whole; an ack's result is recorded only when small (a `list-stored`
// or `status` result is summarised by its size).
import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import type { Clock } from '../../shared/clock.ts';
import { commandReply, kioskCommand, type KioskCommand } from '../../shared/kiosk-commands.ts';
import { parseJsonMessage } from '../../shared/kiosk-messages.ts';

export const AUDIT_DEFAULTS = Object.freeze({
  /** Rotate before the file passes this size, in bytes. */
  bytesMax: 10 * 1024 * 1024,
  /** Rotated files kept besides the live one. */
  filesKept: 5,
  /** Longest wait between a written line and its fsync, in ms. */
  fsyncIntervalMs: 1_000,
  /** An ack result up to this many bytes of JSON is recorded whole; a larger one by its size. */
  resultBytesMax: 1_024,
  /** Commands remembered to name their ack; the oldest is forgotten past this. */
  pendingMax: 1_000,
  /** Largest command or ack payload looked at, in bytes. */
  payloadBytesMax: 16 * 1024,
});

export interface AuditLogOptions {
  /** The live file, e.g. <dataDir>/audit.log. */
  path: string;
  clock: Clock;
  bytesMax?: number;
  filesKept?: number;
  fsyncIntervalMs?: number;
  /** Called when a write fails (disk full); the line is lost but the server keeps running. */
  onError?: (err: unknown) => void;
}

/** One audit record, as written (one JSON object per line). */
export type AuditRecord =
  | { at: number; kind: 'command'; kioskId: string; id: string; name: string; by: string; expiresAt: number; args: Record<string, unknown> }
  | { at: number; kind: 'ack'; kioskId: string; re: string; name: string | null; ok: true; result: unknown }
  | { at: number; kind: 'ack'; kioskId: string; re: string; name: string | null; ok: false; error: { code: string; message: string } }
  | { at: number; kind: 'malformed'; kioskId: string; leaf: 'cmd' | 'ack'; id: string | null; error: string };

export class AuditLog {
  readonly #o: Required<Omit<AuditLogOptions, 'onError'>> & Pick<AuditLogOptions, 'onError'>;
  #fd: number | null;
  #size: number;
  #dirty = false;
  #timer: NodeJS.Timeout | null = null;
  /** command id -> name, to name the ack (insertion order = age). */
  readonly #pending = new Map<string, string>();

  constructor(options: AuditLogOptions) {
    this.#o = {
      bytesMax: AUDIT_DEFAULTS.bytesMax,
      filesKept: AUDIT_DEFAULTS.filesKept,
      fsyncIntervalMs: AUDIT_DEFAULTS.fsyncIntervalMs,
      ...options,
    };
    if (!(this.#o.bytesMax >= 1024)) throw new Error('audit log bytesMax must be at least 1024');
    if (!(Number.isInteger(this.#o.filesKept) && this.#o.filesKept >= 1)) throw new Error('audit log filesKept must be at least 1');
    this.#fd = openSync(this.#o.path, 'a', 0o600);
    this.#size = statSync(this.#o.path).size;
  }

  /** Records a message from a kiosk's command topic. Never throws. */
  recordCommand(kioskId: string, payload: Uint8Array | string): void {
    const parsed = parseJsonMessage(kioskCommand, payload, AUDIT_DEFAULTS.payloadBytesMax);
    if (!parsed.ok) {
      this.#write({ at: this.#now(), kind: 'malformed', kioskId, leaf: 'cmd', id: parsed.id, error: parsed.message });
      return;
    }
    const cmd = parsed.value;
    this.#remember(cmd.id, cmd.name);
    this.#write({
      at: this.#now(),
      kind: 'command',
      kioskId,
      id: cmd.id,
      name: cmd.name,
      by: cmd.by,
      expiresAt: cmd.expiresAt,
      args: argsOf(cmd),
    });
  }

  /** Records a final ack from a kiosk's ack topic; progress messages are skipped. Never throws. */
  recordAck(kioskId: string, payload: Uint8Array | string): void {
    const parsed = parseJsonMessage(commandReply, payload, AUDIT_DEFAULTS.payloadBytesMax);
    if (!parsed.ok) {
      this.#write({ at: this.#now(), kind: 'malformed', kioskId, leaf: 'ack', id: readRe(payload), error: parsed.message });
      return;
    }
    const reply = parsed.value;
    if (reply.type === 'progress') return;
    const name = this.#pending.get(reply.re) ?? null;
    this.#pending.delete(reply.re);
    const base = { at: this.#now(), kind: 'ack' as const, kioskId, re: reply.re, name };
    this.#write(reply.ok ? { ...base, ok: true, result: summarise(reply.result) } : { ...base, ok: false, error: reply.error });
  }

  /** Writes pending data to disk now. */
  flush(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (!this.#dirty || this.#fd === null) return;
    this.#dirty = false;
    try {
      fsyncSync(this.#fd);
    } catch (err) {
      this.#o.onError?.(err);
    }
  }

  close(): void {
    this.flush();
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }

  #now(): number {
    return this.#o.clock.nowMs();
  }

  #remember(id: string, name: string): void {
    this.#pending.delete(id);
    this.#pending.set(id, name);
    if (this.#pending.size > AUDIT_DEFAULTS.pendingMax) this.#pending.delete(this.#pending.keys().next().value!);
  }

  #write(record: AuditRecord): void {
    if (this.#fd === null) return;
    const line = Buffer.from(JSON.stringify(record) + '\n', 'utf8');
    try {
      if (this.#size > 0 && this.#size + line.byteLength > this.#o.bytesMax) this.#rotate();
      let off = 0;
      while (off < line.byteLength) off += writeSync(this.#fd, line, off);
      this.#size += line.byteLength;
      this.#dirty = true;
      this.#timer ??= setTimeout(() => this.flush(), this.#o.fsyncIntervalMs).unref();
    } catch (err) {
      this.#o.onError?.(err);
    }
  }

  /** audit.log.(N-1) -> .N, ..., audit.log -> audit.log.1, then a fresh audit.log. */
  #rotate(): void {
    const p = this.#o.path;
    fsyncSync(this.#fd!);
    closeSync(this.#fd!);
    this.#fd = null;
    rmSync(`${p}.${this.#o.filesKept}`, { force: true });
    for (let n = this.#o.filesKept - 1; n >= 1; n--) {
      try {
        renameSync(`${p}.${n}`, `${p}.${n + 1}`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    renameSync(p, `${p}.1`);
    this.#fd = openSync(p, 'a', 0o600);
    this.#size = 0;
    this.#dirty = false;
  }
}

/** The command's own arguments: everything but the envelope. */
function argsOf(cmd: KioskCommand): Record<string, unknown> {
  const { v: _v, type: _t, id: _id, expiresAt: _e, by: _by, name: _n, ...args } = cmd;
  return args;
}

function summarise(result: Record<string, unknown>): unknown {
  const json = JSON.stringify(result);
  return Buffer.byteLength(json, 'utf8') <= AUDIT_DEFAULTS.resultBytesMax
    ? result
    : { omitted: true, bytes: Buffer.byteLength(json, 'utf8'), keys: Object.keys(result).slice(0, 16) };
}

function readRe(payload: Uint8Array | string): string | null {
  try {
    const json = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload)) as unknown;
    const re = typeof json === 'object' && json !== null ? (json as Record<string, unknown>)['re'] : undefined;
    return typeof re === 'string' ? re.slice(0, 64) : null;
  } catch {
    return null;
  }
}
