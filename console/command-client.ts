// SPDX-License-Identifier: Apache-2.0
// Sends one technician command and waits for its answer. The command gets a fresh id and
// expiresAt = now + COMMAND_TTL_DEFAULT_MS, is validated against the shared schema before it is
// sent, and goes out at QoS 1 on the kiosk's cmd topic after the console has subscribed to the
// kiosk's ack topic (so the answer cannot slip past). Progress messages for the id are passed on;
// the first final ack for the id settles it; anything else on the ack topic is ignored. No answer
// within the timeout settles it as `timeout` (the kiosk may still run it later, until expiresAt).
import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { Clock } from '../shared/clock.ts';
import { COMMAND_TTL_DEFAULT_MS, commandReply, kioskCommand, type CommandAck, type KioskCommand } from '../shared/kiosk-commands.ts';
import { parseJsonMessage } from '../shared/kiosk-messages.ts';
import { parseKioskTopic, topics } from '../shared/topics.ts';

type Envelope = 'v' | 'type' | 'id' | 'expiresAt' | 'by';
/** A command without its envelope: `{ name: 'test', target: 'led' }`. */
export type CommandBody = KioskCommand extends infer C ? (C extends KioskCommand ? Omit<C, Envelope> : never) : never;

export type CommandOutcome =
  | { kind: 'ack'; command: KioskCommand; ack: CommandAck }
  | { kind: 'timeout'; command: KioskCommand; timeoutMs: number }
  | { kind: 'not-sent'; command: KioskCommand | null; reason: string };

export interface SendOptions {
  timeoutMs: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface CommandClientOptions {
  /** Who sends, for the audit log: the broker username. */
  by: string;
  clock: Clock;
  /** Fresh command ids; default `c-` and 12 random hex digits. */
  newId?: () => string;
}

interface Pending {
  resolve: (o: CommandOutcome) => void;
  command: KioskCommand;
  onProgress: ((d: number, t: number) => void) | undefined;
}

/** Largest ack payload looked at, in bytes (a list-stored result of a full outbox fits). */
const ACK_BYTES_MAX = 256 * 1024;

export class CommandClient {
  readonly #client: MqttClient;
  readonly #o: CommandClientOptions;
  readonly #pending = new Map<string, Pending>();
  readonly #subscribed = new Set<string>();

  constructor(client: MqttClient, options: CommandClientOptions) {
    this.#client = client;
    this.#o = options;
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
  }

  /** Builds the full command, or an error message when the body breaks the shared schema. */
  build(body: CommandBody): { ok: true; command: KioskCommand } | { ok: false; message: string } {
    const id = this.#o.newId?.() ?? `c-${randomBytes(6).toString('hex')}`;
    const candidate = { v: 1, type: 'command', id, expiresAt: this.#o.clock.nowMs() + COMMAND_TTL_DEFAULT_MS, by: this.#o.by, ...body };
    const parsed = kioskCommand.safeParse(candidate);
    if (parsed.success) return { ok: true, command: parsed.data };
    const issue = parsed.error.issues[0];
    return { ok: false, message: issue ? `${issue.path.join('.') || 'command'}: ${issue.message}` : 'invalid command' };
  }

  /** Sends the command and resolves with its outcome. Never rejects. */
  async send(kioskId: string, command: KioskCommand, o: SendOptions): Promise<CommandOutcome> {
    if (!this.#client.connected)
      return {
        kind: 'not-sent',
        command,
        reason: 'not connected to the broker; send it again once the console is connected (check --url if it never is)',
      };
    try {
      const ackTopic = topics.kioskAcks(kioskId);
      if (!this.#subscribed.has(ackTopic)) {
        const granted = await this.#client.subscribeAsync(ackTopic, { qos: 1 });
        if (granted[0]?.qos === 128)
          return {
            kind: 'not-sent',
            command,
            reason: `the broker refused the subscription to ${ackTopic}; only a technician may command kiosks: log in as one (--login FILE, or --username and --password)`,
          };
        this.#subscribed.add(ackTopic);
      }
      const outcome = new Promise<CommandOutcome>((resolve) => {
        const timer = setTimeout(() => settle({ kind: 'timeout', command, timeoutMs: o.timeoutMs }), o.timeoutMs);
        const onAbort = () => settle({ kind: 'not-sent', command, reason: 'interrupted' });
        const settle = (x: CommandOutcome) => {
          clearTimeout(timer);
          o.signal?.removeEventListener('abort', onAbort);
          this.#pending.delete(command.id);
          resolve(x);
        };
        o.signal?.addEventListener('abort', onAbort, { once: true });
        this.#pending.set(command.id, { resolve: settle, command, onProgress: o.onProgress });
      });
      await this.#client.publishAsync(topics.kioskCommands(kioskId), JSON.stringify(command), { qos: 1, retain: false });
      return await outcome;
    } catch (e) {
      this.#pending.get(command.id)?.resolve({ kind: 'not-sent', command, reason: (e as Error).message });
      return { kind: 'not-sent', command, reason: (e as Error).message };
    }
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (parseKioskTopic(topic)?.leaf !== 'ack') return;
    const parsed = parseJsonMessage(commandReply, payload, ACK_BYTES_MAX);
    if (!parsed.ok) return;
    const reply = parsed.value;
    const pending = this.#pending.get(reply.re);
    if (!pending) return;
    if (reply.type === 'progress') pending.onProgress?.(reply.done, reply.total);
    else pending.resolve({ kind: 'ack', command: pending.command, ack: reply });
  }
}
