// SPDX-License-Identifier: Apache-2.0
// Runs one parsed console action against a live session and says what happened, as text or (with
// --json) one JSON object per result. Returns the exit code of a one-shot command (exit-codes.ts).
import type { MqttClient } from 'mqtt';
import type { Clock } from '../shared/clock.ts';
import { parseJsonMessage } from '../shared/kiosk-messages.ts';
import { kioskEventMessage, onlineStatusSchema } from '../shared/kiosk-telemetry.ts';
import { parseKioskTopic, topics } from '../shared/topics.ts';
import { runAlerts } from './alerts-command.ts';
import type { CommandClient, CommandOutcome } from './command-client.ts';
import { CONSOLE_COMMANDS, type ConsoleAction, type SendVerb } from './console-commands.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';
import type { FleetEntry, FleetView } from './fleet-view.ts';
import {
  formatEvent,
  formatFleet,
  formatOutcome,
  formatPolicy,
  formatStatus,
  formatStored,
  lastSeenPhrase,
  notSentOfflineMessage,
  stateWord,
  storedItems,
  shellCommand,
  unknownKioskMessage,
  type CommandWords,
} from './format.ts';
import { nearest, orList } from './nearest.ts';
import { progressSink } from './progress-bar.ts';

export interface ConsoleOutput {
  write(text: string): unknown;
}

export interface ConsoleSession {
  client: MqttClient;
  commands: CommandClient;
  fleet: FleetView;
  clock: Clock;
  /** How long to wait for a kiosk's ack, in ms. */
  timeoutMs: number;
  out: ConsoleOutput;
  err: ConsoleOutput;
  /** Draw progress bars (stdout is a terminal and --json is off). */
  isTTY: boolean;
  json: boolean;
  /** How messages write a console command: `kioskpay console list` (one-shot) or `list` (prompt). */
  cmd: CommandWords;
  /** The broker's URL, named when no kiosk at all is known there. */
  brokerUrl?: string;
}

const EVENT_BYTES_MAX = 64 * 1024;

export async function runAction(a: ConsoleAction, s: ConsoleSession, signal?: AbortSignal): Promise<ExitCode> {
  const say = (text: string) => s.out.write(text + '\n');
  const emit = (obj: unknown) => s.out.write(JSON.stringify(obj) + '\n');
  const now = s.clock.nowMs();
  // A kiosk no retained status names would never answer: say so at once, with the nearest ids.
  const kioskId = 'kioskId' in a ? a.kioskId : null;
  if (kioskId !== null && s.fleet.get(kioskId) === undefined) return unknownKiosk(kioskId, s);
  // A kiosk whose status is its last will keeps no broker session: a command sent now would never reach it.
  if (a.kind === 'status' || a.kind === 'send') {
    const e = s.fleet.get(a.kioskId);
    if (e?.status.state === 'offline') return offlineKiosk(e, a.kind === 'status' ? 'status' : a.body.name, s);
  }
  switch (a.kind) {
    case 'help':
      return printHelp(a.topic, say);
    case 'quit':
      return EXIT.OK;
    case 'list': {
      const entries = s.fleet.list();
      if (s.json)
        emit({
          kiosks: entries.map((e) => ({
            kioskId: e.kioskId,
            state: stateWord(e, now),
            receivedAt: e.receivedAtMs,
            offlineSince: e.offlineSinceMs,
            status: e.status,
          })),
        });
      else say(formatFleet(entries, now));
      return EXIT.OK;
    }
    case 'show-policy': {
      const e = s.fleet.get(a.kioskId);
      if (e?.status.state !== 'online') {
        if (s.json) emit({ kioskId: a.kioskId, outcome: 'unknown', reason: lastSeenPhrase(e, now) });
        else
          say(
            `the policy of ${a.kioskId} is not known (${lastSeenPhrase(e, now)}); set one with ${s.cmd(`policy ${a.kioskId} --mode MODE`)} or a cap option`,
          );
        return EXIT.NO_ANSWER;
      }
      if (s.json) emit({ kioskId: a.kioskId, policy: e.status.policy });
      else say(`${a.kioskId} policy: ${formatPolicy(e.status.policy)}`);
      return EXIT.OK;
    }
    case 'status':
      return status(a.kioskId, s, signal);
    case 'send':
      return send(a.verb, a.kioskId, a.body, s, signal);
    case 'watch':
      return watch(a.kioskId, a.count, s, signal);
    case 'alerts':
      return runAlerts(a.follow, a.count, s, signal);
  }
}

/** Exit 2 with the nearest known ids (and, with --json, one object on stdout saying the same). */
function unknownKiosk(kioskId: string, s: ConsoleSession): ExitCode {
  const known = s.fleet.ids();
  const suggestions = nearest(kioskId, known);
  const message = unknownKioskMessage(kioskId, known, suggestions, s.cmd, s.brokerUrl);
  if (s.json) s.out.write(JSON.stringify({ kioskId, outcome: 'unknown-kiosk', suggestions, message }) + '\n');
  // From the shell on stderr, as every usage error; at the prompt among the other answers.
  if (s.cmd === shellCommand) s.err.write(`kioskpay console: ${message}\n`);
  else if (!s.json) s.out.write(`${message}\n`);
  return EXIT.USAGE;
}

/** Exit 3 at once, sending nothing, for a kiosk whose retained status says it is offline. */
function offlineKiosk(e: FleetEntry, command: string, s: ConsoleSession): ExitCode {
  const message = notSentOfflineMessage(e, s.clock.nowMs(), s.cmd);
  if (s.json)
    s.out.write(
      JSON.stringify({ kioskId: e.kioskId, command, id: null, outcome: 'offline', offlineSince: e.offlineSinceMs, message }) + '\n',
    );
  else s.out.write(`${message}\n`);
  return EXIT.NO_ANSWER;
}

/** `help` and `help COMMAND`; needs no broker. */
export function printHelp(topic: string | null, say: (t: string) => void): ExitCode {
  const specs = topic === null ? CONSOLE_COMMANDS : CONSOLE_COMMANDS.filter((c) => c.name === topic);
  if (specs.length === 0) {
    const near = nearest(
      topic ?? '',
      CONSOLE_COMMANDS.map((c) => c.name),
    );
    say(
      `no command "${topic}"${near.length > 0 ? `; did you mean ${orList(near)}?` : ''}; commands: ${CONSOLE_COMMANDS.map((c) => c.name).join(', ')}`,
    );
    return EXIT.USAGE;
  }
  for (const c of specs) say(`  ${c.usage}\n      ${c.help}`);
  return EXIT.OK;
}

function exitOf(o: CommandOutcome): ExitCode {
  return o.kind === 'ack' ? (o.ack.ok ? EXIT.OK : EXIT.REFUSED) : EXIT.NO_ANSWER;
}

function outcomeJson(kioskId: string, o: CommandOutcome): Record<string, unknown> {
  const base = { kioskId, command: o.command?.name ?? null, id: o.command?.id ?? null };
  switch (o.kind) {
    case 'ack':
      return o.ack.ok ? { ...base, outcome: 'acknowledged', result: o.ack.result } : { ...base, outcome: 'refused', error: o.ack.error };
    case 'timeout':
      return { ...base, outcome: 'timeout', timeoutMs: o.timeoutMs };
    case 'not-sent':
      return { ...base, outcome: 'not-sent', reason: o.reason };
  }
}

async function status(kioskId: string, s: ConsoleSession, signal?: AbortSignal): Promise<ExitCode> {
  const built = s.commands.build({ name: 'status' });
  if (!built.ok) throw new Error(built.message); // a programmer error: the body is fixed
  const o = await s.commands.send(kioskId, built.command, { timeoutMs: s.timeoutMs, ...(signal ? { signal } : {}) });
  const now = s.clock.nowMs();
  const fleet = s.fleet.get(kioskId);
  const st = o.kind === 'ack' && o.ack.ok ? onlineStatusSchema.safeParse(o.ack.result) : null;
  if (s.json) {
    s.out.write(
      JSON.stringify({
        ...outcomeJson(kioskId, o),
        ...(st?.success ? { status: st.data } : {}),
        ...(o.kind !== 'ack' && fleet ? { lastStatus: fleet.status, lastStatusReceivedAt: fleet.receivedAtMs } : {}),
      }) + '\n',
    );
    return exitOf(o);
  }
  if (st?.success) s.out.write(formatStatus(kioskId, st.data, now) + '\n');
  else if (o.kind === 'ack' && o.ack.ok)
    s.out.write(`${kioskId} acknowledged with a status this console cannot read: ${JSON.stringify(o.ack.result).slice(0, 400)}\n`);
  else {
    s.out.write(formatOutcome(kioskId, 'stored', o, fleet, now, s.cmd) + '\n');
    if (fleet?.status.state === 'online') s.out.write(`last known status:\n${formatStatus(kioskId, fleet.status, now)}\n`);
  }
  return exitOf(o);
}

async function send(
  verb: SendVerb,
  kioskId: string,
  body: Parameters<CommandClient['build']>[0],
  s: ConsoleSession,
  signal?: AbortSignal,
): Promise<ExitCode> {
  const built = s.commands.build(body);
  if (!built.ok) {
    s.err.write(`${built.message}\n`);
    return EXIT.USAGE;
  }
  const bar = progressSink(s.out, s.isTTY && !s.json, `${kioskId} ${verb}`);
  const o = await s.commands.send(kioskId, built.command, {
    timeoutMs: s.timeoutMs,
    onProgress: (d, t) => bar.update(d, t),
    ...(signal ? { signal } : {}),
  });
  bar.end();
  const now = s.clock.nowMs();
  if (s.json) {
    s.out.write(JSON.stringify(outcomeJson(kioskId, o)) + '\n');
    return exitOf(o);
  }
  if (verb === 'stored' && o.kind === 'ack' && o.ack.ok) s.out.write(formatStored(kioskId, storedItems(o.ack.result), now) + '\n');
  else s.out.write(formatOutcome(kioskId, verb, o, s.fleet.get(kioskId), now, s.cmd) + '\n');
  return exitOf(o);
}

async function watch(kioskId: string | null, count: number | null, s: ConsoleSession, signal?: AbortSignal): Promise<ExitCode> {
  const filter = kioskId === null ? topics.allKioskEvents : topics.kioskEvents(kioskId);
  let seen = 0;
  let finish!: () => void;
  const done = new Promise<void>((r) => {
    finish = r;
  });
  const onMessage = (topic: string, payload: Buffer) => {
    const t = parseKioskTopic(topic);
    if (t?.leaf !== 'events' || (kioskId !== null && t.kioskId !== kioskId)) return;
    const parsed = parseJsonMessage(kioskEventMessage, payload, EVENT_BYTES_MAX);
    if (!parsed.ok) {
      s.err.write(`${t.kioskId}: unreadable event (${parsed.message})\n`);
      return;
    }
    if (s.json) s.out.write(JSON.stringify({ kioskId: t.kioskId, event: parsed.value }) + '\n');
    else s.out.write(formatEvent(t.kioskId, parsed.value, s.clock.nowMs()) + '\n');
    seen += 1;
    if (count !== null && seen >= count) finish();
  };
  let lost = false;
  const onClose = () => {
    lost = true;
    s.err.write(`connection to the broker lost; run ${s.cmd(kioskId === null ? 'watch' : `watch ${kioskId}`)} again once it is back\n`);
    finish();
  };
  s.client.on('message', onMessage);
  try {
    const granted = await s.client.subscribeAsync(filter, { qos: 1 });
    if (granted[0]?.qos === 128) {
      s.err.write(
        `the broker refused the subscription to ${filter}; log in as a technician or operator (--login FILE, or --username and --password)\n`,
      );
      return EXIT.NO_ANSWER;
    }
    if (!s.json && s.isTTY) s.err.write(`watching ${kioskId ?? 'all kiosks'}; Ctrl-C stops\n`);
    if (signal?.aborted) return EXIT.OK;
    signal?.addEventListener('abort', () => finish(), { once: true });
    s.client.on('close', onClose);
    await done;
    return lost ? EXIT.NO_ANSWER : EXIT.OK;
  } finally {
    s.client.off('message', onMessage);
    s.client.off('close', onClose);
    if (s.client.connected) await s.client.unsubscribeAsync(filter).catch(() => undefined);
  }
}
