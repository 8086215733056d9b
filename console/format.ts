// SPDX-License-Identifier: Apache-2.0
// Words and tables for people: the fleet table, one kiosk's status, stored payments, events, and
// what happened to a command ("k1 acknowledged: policy is now force-offline", "k1 refused:
// COMMAND_EXPIRED (...)", "no answer from k1 in 10 s (it is offline since 12:03)"). Times are shown
// as local HH:MM (today) or YYYY-MM-DD HH:MM; --json output uses raw milliseconds instead.
import { COMMAND_ERRORS, storedPaymentSchema, type CommandErrorCode, type StoredPayment } from '../shared/kiosk-commands.ts';
import { kioskPolicySchema, type KioskPolicy } from '../shared/kiosk-policy.ts';
import type { KioskEventMessage, OnlineStatus } from '../shared/kiosk-telemetry.ts';
import { formatMoney, isCurrency } from '../shared/money.ts';
import type { CommandOutcome } from './command-client.ts';
import type { SendVerb } from './console-commands.ts';
import { offsetText } from '../shared/time-zone.ts';
import type { FleetEntry } from './fleet-view.ts';
import { orList } from './nearest.ts';

/**
 * How a console command is written where a message names one: `kioskpay console list` from the
 * shell, `list` at the console's prompt.
 */
export type CommandWords = (command: string) => string;
export const shellCommand: CommandWords = (command) => `kioskpay console ${command}`;
export const promptCommand: CommandWords = (command) => command;

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * Local clock time with its offset, as every screen of ours shows time (shared/time-zone.ts):
 * `12:03 +09:00` today, `2026-11-27 12:03 +09:00` otherwise.
 */
export function formatTime(ms: number, nowMs: number): string {
  const d = new Date(ms);
  const day = new Date(nowMs).toDateString() === d.toDateString() ? '' : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} `;
  return `${day}${pad(d.getHours())}:${pad(d.getMinutes())} ${offsetText(-d.getTimezoneOffset() * 60_000)}`;
}

/** A status is stale when older than two heartbeats (docs/protocol.md section 9). */
export function isStale(s: OnlineStatus, nowMs: number): boolean {
  return nowMs - s.at > 2 * s.heartbeatMs;
}

/** The one-word state: online, stale or offline. */
export function stateWord(e: FleetEntry, nowMs: number): string {
  if (e.status.state === 'offline') return e.status.reason === 'shutdown' ? 'offline (shut down)' : 'offline';
  return isStale(e.status, nowMs) ? 'stale' : 'online';
}

/** "it is offline since 12:03", "its last status is from 12:01", ... for timeout messages. */
export function lastSeenPhrase(e: FleetEntry | undefined, nowMs: number): string {
  if (!e) return 'no status was ever seen from it';
  if (e.status.state === 'offline') {
    const how = e.status.reason === 'shutdown' ? 'shut down' : 'offline';
    return e.offlineSinceMs === null ? `it is ${how}` : `it is ${how} since ${formatTime(e.offlineSinceMs, nowMs)}`;
  }
  return isStale(e.status, nowMs)
    ? `its last status is from ${formatTime(e.status.at, nowMs)}`
    : `it was online at ${formatTime(e.status.at, nowMs)}`;
}

/** `10 s`, `0.3 s`. */
export function formatSeconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 100) / 10} s`;
}

/** Fixed-width columns, header first. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatFleet(entries: FleetEntry[], nowMs: number): string {
  if (entries.length === 0) return 'no kiosk has published a status yet';
  const rows = [['KIOSK', 'STATE', 'MODE', 'POLICY', 'QUEUE', 'AMOUNT', 'CLOCK', 'LAST SYNC', 'FAULTS']];
  for (const e of entries) {
    const s = e.status;
    if (s.state === 'offline') {
      rows.push([e.kioskId, stateWord(e, nowMs), '-', '-', '-', '-', '-', '-', '-']);
      continue;
    }
    rows.push([
      e.kioskId,
      stateWord(e, nowMs),
      s.mode,
      s.policy.mode,
      String(s.queue.count),
      formatMoney(s.queue.amount),
      s.clock.trusted ? 'trusted' : 'UNTRUSTED',
      s.clock.lastSyncAt === null ? 'never' : formatTime(s.clock.lastSyncAt, nowMs),
      s.faults.length === 0 ? '-' : s.faults.join('; '),
    ]);
  }
  return table(rows);
}

export function formatPolicy(p: KioskPolicy): string {
  return `${p.mode}; at most ${p.caps.storedCountMax} stored payments, ${p.caps.storedAmountMax} minor units, ${p.caps.offlineDurationMaxMs / 3_600_000} h offline`;
}

export function formatStatus(kioskId: string, s: OnlineStatus, nowMs: number): string {
  const q = s.queue;
  const c = s.clock;
  const lines = [
    `${kioskId}: ${isStale(s, nowMs) ? 'stale' : 'online'}, ${s.mode}, checkout ${s.checkout}, firmware ${s.firmware}`,
    `  policy    ${formatPolicy(s.policy)}`,
    `  queue     ${q.count} stored, ${formatMoney(q.amount)}${q.oldestCapturedAt === null ? '' : `, oldest ${formatTime(q.oldestCapturedAt, nowMs)}`}, ${q.declined} declined kept${q.forwarding ? `, forwarding ${q.forwarding.done}/${q.forwarding.total}` : ''}${q.voidsPending ? `, ${q.voidsPending} to void` : ''}`,
    `  clock     ${c.trusted ? 'trusted' : 'NOT trusted'}${c.offsetMs === null ? '' : `, offset ${c.offsetMs} ms`}${c.uncertaintyMs === null ? '' : ` ±${c.uncertaintyMs} ms`}, last sync ${c.lastSyncAt === null ? 'never' : formatTime(c.lastSyncAt, nowMs)}`,
    `  health    scanner ${s.health.scanner}, gpio ${s.health.gpio}, display ${s.health.display}`,
    `  faults    ${s.faults.length === 0 ? 'none' : s.faults.join('; ')}`,
    `  catalog   ${s.catalogVersion === null ? 'none' : `version ${s.catalogVersion}`}`,
    `  as of     ${formatTime(s.at, nowMs)} (seq ${s.seq})`,
  ];
  return lines.join('\n');
}

export function formatStored(kioskId: string, items: StoredPayment[], nowMs: number): string {
  if (items.length === 0) return `${kioskId} holds no stored payments`;
  const rows = [['TX', 'AMOUNT', 'CAPTURED', 'STATE', 'REASON']];
  for (const i of items)
    rows.push([
      i.txId,
      isCurrency(i.amount.currency)
        ? formatMoney({ value: i.amount.value, currency: i.amount.currency })
        : `${i.amount.value} ${i.amount.currency}`,
      formatTime(i.capturedAt, nowMs),
      i.state,
      i.reason ?? '',
    ]);
  return table(rows);
}

export function formatEvent(kioskId: string, e: KioskEventMessage, nowMs: number): string {
  const at = formatTime(e.at, nowMs);
  switch (e.kind) {
    case 'payment':
      return `${at} ${kioskId} payment ${e.txId} ${formatMoney(e.amount)} ${e.outcome}${e.offline ? ' (offline, stored)' : ''}${e.reason ? ` ${e.reason}` : ''}`;
    case 'forward':
      return `${at} ${kioskId} forward ${e.done}/${e.total}: ${e.settled} settled, ${e.declined} declined${e.finished ? `, finished${e.end ? ` (${e.end})` : ''}` : ''}`;
    case 'settle-declined':
      return `${at} ${kioskId} settle declined ${e.txId} ${formatMoney(e.amount)}: ${e.reason}`;
    case 'fault':
      return `${at} ${kioskId} fault ${e.fault} ${e.raised ? 'raised' : 'cleared'}`;
    case 'uplink':
      return `${at} ${kioskId} uplink ${e.online ? 'back online' : 'down'}`;
  }
}

/** What an ok ack means, in words, per console verb. */
function acknowledged(verb: SendVerb, result: Record<string, unknown>): string {
  switch (verb) {
    case 'policy': {
      const p = kioskPolicySchema.safeParse(result['policy']);
      return p.success ? `policy is now ${formatPolicy(p.data)}` : 'policy changed';
    }
    case 'forward': {
      const n = (k: string) => (typeof result[k] === 'number' ? result[k] : '?');
      return `forwarding ended${typeof result['end'] === 'string' ? ` (${result['end']})` : ''}: ${n('settled')} settled, ${n('declined')} declined, ${n('remaining')} remaining`;
    }
    case 'message':
      return result['shown'] === true ? `message shown for ${String(result['seconds'])} s` : 'message cleared';
    case 'test':
      return `${String(result['target'])} test done`;
    case 'reload-catalog':
      return `catalog reloaded (version ${result['version'] === null ? 'none' : String(result['version'])})`;
    case 'stored':
      return `${Array.isArray(result['items']) ? result['items'].length : 0} stored or declined payments`;
  }
}

/** What to do about each refusal, naming the command that helps. */
const REFUSAL_FIX: Readonly<Record<CommandErrorCode, (kioskId: string, cmd: CommandWords) => string>> = {
  COMMAND_MALFORMED: (k, cmd) => `its firmware may not know this command or option: ${cmd(`status ${k}`)} shows its firmware`,
  COMMAND_EXPIRED: (k, cmd) => `its clock or this computer's is off: ${cmd(`status ${k}`)} shows the kiosk's clock; then send it again`,
  COMMAND_REPEATED: () => 'send it again (every send has a fresh id)',
  COMMAND_BUSY: (k, cmd) => `send it again once that has ended (${cmd(`status ${k}`)} shows the progress)`,
  COMMAND_UNSUPPORTED: (k, cmd) => `${cmd(`status ${k}`)} shows which hardware it has`,
  COMMAND_FAILED: (k, cmd) => `${cmd(`watch ${k}`)} shows its faults as they happen`,
};

/**
 * The one-line outcome of a sent command; a refusal or a timeout says what to do next, with
 * commands written as `cmd` writes them (from the shell, or at the prompt).
 */
export function formatOutcome(
  kioskId: string,
  verb: SendVerb,
  o: CommandOutcome,
  fleet: FleetEntry | undefined,
  nowMs: number,
  cmd: CommandWords = shellCommand,
): string {
  switch (o.kind) {
    case 'ack':
      return o.ack.ok
        ? `${kioskId} acknowledged: ${acknowledged(verb, o.ack.result)}`
        : `${kioskId} refused: ${o.ack.error.code} (${o.ack.error.message || COMMAND_ERRORS[o.ack.error.code]}); ${REFUSAL_FIX[o.ack.error.code](kioskId, cmd)}`;
    case 'timeout':
      return `no answer from ${kioskId} in ${formatSeconds(o.timeoutMs)} (${lastSeenPhrase(fleet, nowMs)}); ${timeoutFix(kioskId, fleet, cmd)}`;
    case 'not-sent':
      return `not sent to ${kioskId}: ${o.reason}`;
  }
}

/** What to do when a kiosk did not answer in time. */
export function timeoutFix(kioskId: string, fleet: FleetEntry | undefined, cmd: CommandWords): string {
  const longer = cmd === shellCommand ? 'give it longer with --timeout S' : 'start the console with --timeout S to wait longer';
  if (fleet?.status.state === 'offline') return `it takes commands only while connected: ${cmd('list')} shows when it is back`;
  return `${longer}, or see what it is doing with ${cmd(`watch ${kioskId}`)}`;
}

/** A command not sent because the kiosk's retained status is its last will: it would never see it. */
export function notSentOfflineMessage(e: FleetEntry, nowMs: number, cmd: CommandWords): string {
  return `not sent to ${e.kioskId}: ${lastSeenPhrase(e, nowMs)}; ${timeoutFix(e.kioskId, e, cmd)}`;
}

/**
 * A kiosk id that no retained status names: the nearest known ids, or the known ones, or (no kiosk
 * at all) that this may be the wrong broker.
 */
export function unknownKioskMessage(
  kioskId: string,
  known: readonly string[],
  suggestions: readonly string[],
  cmd: CommandWords,
  brokerUrl?: string,
): string {
  if (known.length === 0) {
    return `unknown kiosk ${kioskId}: no kiosk has published a status on ${brokerUrl ?? 'this broker'}; start it (kioskpay kiosk --config FILE), or give the kiosks' broker with --url`;
  }
  if (suggestions.length > 0) return `unknown kiosk ${kioskId}; did you mean ${orList(suggestions)}? (${cmd('list')} shows every kiosk)`;
  const shown = known.slice(0, 5).join(', ') + (known.length > 5 ? ` and ${known.length - 5} more` : '');
  return `unknown kiosk ${kioskId}; the kiosks are ${shown} (${cmd('list')} shows them all)`;
}

/** Stored items from a list-stored result, dropping any that break the schema. */
export function storedItems(result: Record<string, unknown>): StoredPayment[] {
  const items = Array.isArray(result['items']) ? result['items'] : [];
  return items.flatMap((i) => {
    const p = storedPaymentSchema.safeParse(i);
    return p.success ? [p.data] : [];
  });
}
