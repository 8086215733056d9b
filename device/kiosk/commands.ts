// SPDX-License-Identifier: Apache-2.0
// Technician commands on the kiosk (shared/kiosk-commands.ts; docs/protocol.md section 9). Each
// command is checked before it runs: schema, expiry by the kiosk's trusted clock estimate, a time to
// live no longer than COMMAND_TTL_MAX_MS, and an id never seen before (ids are remembered until
// their command expires, so a QoS 1 redelivery or a replayed capture runs nothing twice). Then it
// runs, and exactly one final ack goes back (ok with a result, or a typed error), with progress
// messages before it for long operations.
import {
  COMMAND_TTL_MAX_MS,
  kioskCommand,
  type CommandAck,
  type CommandErrorCode,
  type CommandReply,
  type KioskCommand,
  type StoredPayment,
} from '../../shared/kiosk-commands.ts';
import { parseJsonMessage } from '../../shared/kiosk-messages.ts';
import type { KioskPolicy, PolicyChange } from '../../shared/kiosk-policy.ts';

/** Remembered command ids at most; beyond it new commands are refused (COMMAND_BUSY) until some expire. */
export const SEEN_COMMANDS_MAX = 1_000;

export class CommandFailure extends Error {
  constructor(
    readonly code: CommandErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface CommandActions {
  status(): Record<string, unknown>;
  forward(progress: (done: number, total: number) => void): Promise<Record<string, unknown>>;
  setPolicy(change: PolicyChange): Promise<KioskPolicy>;
  displayMessage(text: string, seconds: number): void;
  test(target: 'led' | 'buzzer' | 'relay'): Promise<void>;
  reloadCatalog(): Promise<{ version: number | null }>;
  listStored(): StoredPayment[];
}

export class CommandDesk {
  readonly #actions: CommandActions;
  readonly #nowMs: () => number;
  readonly #reply: (message: CommandReply) => void;
  /** id -> expiresAt. */
  readonly #seen = new Map<string, number>();

  constructor(actions: CommandActions, nowMs: () => number, reply: (message: CommandReply) => void) {
    this.#actions = actions;
    this.#nowMs = nowMs;
    this.#reply = reply;
  }

  /** Handles one raw message from the command topic. Never throws; resolves when the final ack was handed to reply(). */
  async handle(payload: Uint8Array | string): Promise<void> {
    const parsed = parseJsonMessage(kioskCommand, payload, 16 * 1024);
    if (!parsed.ok) {
      if (parsed.id !== null) this.#fail(parsed.id, 'COMMAND_MALFORMED', parsed.message);
      return;
    }
    const cmd = parsed.value;
    const refusal = this.#admit(cmd);
    if (refusal) return this.#fail(cmd.id, refusal.code, refusal.message);
    try {
      const result = await this.#run(cmd);
      this.#reply({ v: 1, type: 'ack', re: cmd.id, ok: true, result });
    } catch (e) {
      if (e instanceof CommandFailure) this.#fail(cmd.id, e.code, e.message);
      else this.#fail(cmd.id, 'COMMAND_FAILED', (e as Error).message ?? String(e));
    }
  }

  #admit(cmd: KioskCommand): { code: CommandErrorCode; message: string } | undefined {
    const now = this.#nowMs();
    for (const [id, expiresAt] of this.#seen) if (expiresAt < now) this.#seen.delete(id);
    if (this.#seen.has(cmd.id)) return { code: 'COMMAND_REPEATED', message: `command ${cmd.id} was already received` };
    if (cmd.expiresAt < now)
      return { code: 'COMMAND_EXPIRED', message: `expired ${Math.round((now - cmd.expiresAt) / 1000)} s ago by the kiosk's clock` };
    if (cmd.expiresAt > now + COMMAND_TTL_MAX_MS)
      return { code: 'COMMAND_MALFORMED', message: `expiresAt is more than ${COMMAND_TTL_MAX_MS / 60_000} min ahead` };
    if (this.#seen.size >= SEEN_COMMANDS_MAX) return { code: 'COMMAND_BUSY', message: 'too many recent commands; retry later' };
    this.#seen.set(cmd.id, cmd.expiresAt);
    return undefined;
  }

  async #run(cmd: KioskCommand): Promise<Record<string, unknown>> {
    const a = this.#actions;
    switch (cmd.name) {
      case 'status':
        return a.status();
      case 'forward':
        return a.forward((done, total) => this.#reply({ v: 1, type: 'progress', re: cmd.id, done, total }));
      case 'set-policy':
        return { policy: await a.setPolicy(cmd.policy) };
      case 'display-message':
        a.displayMessage(cmd.text, cmd.seconds);
        return { shown: cmd.seconds > 0 && cmd.text.length > 0, seconds: cmd.seconds };
      case 'test':
        await a.test(cmd.target);
        return { target: cmd.target };
      case 'reload-catalog':
        return await a.reloadCatalog();
      case 'list-stored':
        return { items: a.listStored() };
    }
  }

  #fail(re: string, code: CommandErrorCode, message: string): void {
    const ack: CommandAck = { v: 1, type: 'ack', re, ok: false, error: { code, message: message.slice(0, 500) } };
    this.#reply(ack);
  }
}
