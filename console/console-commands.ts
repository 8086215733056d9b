// SPDX-License-Identifier: Apache-2.0
// The console's commands, written once: name, usage, one-line help, and the parser that turns the
// words after the command name into an action. Used by the one-shot command line, the REPL, its
// tab completion and docs/console.md. Parsing validates everything (kiosk ids, numbers, the policy
// ranges of shared/kiosk-policy.ts) before anything is sent.
import { parseArgs } from 'node:util';
import { DISPLAY_MESSAGE_MAX } from '../shared/kiosk-commands.ts';
import { POLICY_MODES, exposureCapsSchema, type PolicyChange, type PolicyMode } from '../shared/kiosk-policy.ts';
import { isKioskId } from '../shared/topics.ts';
import type { CommandBody } from './command-client.ts';
import { nearest, orList } from './nearest.ts';

export const TEST_TARGETS = ['led', 'buzzer', 'relay'] as const;
/** Seconds a message stays on a kiosk's screen unless --seconds says otherwise. */
export const MESSAGE_SECONDS_DEFAULT = 30;

export type ConsoleAction =
  | { kind: 'list' }
  | { kind: 'status'; kioskId: string }
  | { kind: 'watch'; kioskId: string | null; count: number | null }
  /** The server's newest alerts; with `follow`, then new ones live (until Ctrl-C or `count` new ones). */
  | { kind: 'alerts'; follow: boolean; count: number | null }
  /** `policy KIOSK` without options: show the policy from the kiosk's last status. */
  | { kind: 'show-policy'; kioskId: string }
  | { kind: 'send'; verb: SendVerb; kioskId: string; body: CommandBody }
  | { kind: 'help'; topic: string | null }
  | { kind: 'quit' };
export type SendVerb = 'stored' | 'forward' | 'policy' | 'message' | 'test' | 'reload-catalog';

export interface CommandSpec {
  readonly name: string;
  readonly usage: string;
  readonly help: string;
  /** Whether the first argument is a kiosk id (for completion). */
  readonly takesKiosk: boolean;
}

export const CONSOLE_COMMANDS: readonly CommandSpec[] = Object.freeze([
  { name: 'list', usage: 'list', help: 'every kiosk with its live state: online/offline, mode, queue, clock, faults', takesKiosk: false },
  { name: 'status', usage: 'status KIOSK', help: 'ask one kiosk for its full status', takesKiosk: true },
  {
    name: 'watch',
    usage: 'watch [KIOSK] [--count N]',
    help: 'print events live (all kiosks, or one) until Ctrl-C or N events',
    takesKiosk: true,
  },
  {
    name: 'alerts',
    usage: 'alerts [--follow] [--count N]',
    help: "the server's newest alerts (copies, revocations, limit declines, code guessing, login floods); --follow prints new ones live until Ctrl-C or N",
    takesKiosk: false,
  },
  { name: 'stored', usage: 'stored KIOSK', help: "the kiosk's stored offline payments and kept declines (no codes)", takesKiosk: true },
  { name: 'forward', usage: 'forward KIOSK', help: 'forward stored offline payments now, with a progress bar', takesKiosk: true },
  {
    name: 'policy',
    usage:
      'policy KIOSK [--mode prefer-online|require-online|force-offline] [--stored-count-max N] [--stored-amount-max N] [--offline-duration-max-h N]',
    help: 'show or set the payment policy and offline caps',
    takesKiosk: true,
  },
  {
    name: 'message',
    usage: 'message KIOSK TEXT [--seconds N]',
    help: `show TEXT (up to ${DISPLAY_MESSAGE_MAX} characters) on the screen for N seconds (default ${MESSAGE_SECONDS_DEFAULT}; 0 clears)`,
    takesKiosk: true,
  },
  { name: 'test', usage: 'test KIOSK led|buzzer|relay', help: 'exercise one output once (one capped relay pulse)', takesKiosk: true },
  {
    name: 'reload-catalog',
    usage: 'reload-catalog KIOSK',
    help: "make the kiosk take the server's retained catalog again",
    takesKiosk: true,
  },
  { name: 'help', usage: 'help [COMMAND]', help: 'this list, or one command', takesKiosk: false },
  { name: 'quit', usage: 'quit', help: 'leave the console (also Ctrl-D)', takesKiosk: false },
]);

export const COMMAND_OPTIONS = {
  mode: { type: 'string' },
  'stored-count-max': { type: 'string' },
  'stored-amount-max': { type: 'string' },
  'offline-duration-max-h': { type: 'string' },
  seconds: { type: 'string' },
  count: { type: 'string' },
  follow: { type: 'boolean' },
} as const;

export class UsageError extends Error {
  override name = 'UsageError';
}

type Values = {
  [K in keyof typeof COMMAND_OPTIONS]?: ((typeof COMMAND_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string) | undefined;
};

/** Parses the words of one command (e.g. from a REPL line). Throws UsageError. */
export function parseCommandWords(words: string[]): ConsoleAction {
  let parsed;
  try {
    parsed = parseArgs({ args: words, options: COMMAND_OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return parseCommand(parsed.positionals, parsed.values);
}

/** Turns positionals (command name first) and option values into an action. Throws UsageError. */
export function parseCommand(positionals: string[], values: Values): ConsoleAction {
  const [name, ...args] = positionals;
  if (name === undefined) throw new UsageError('no command given; "help" lists the commands');
  const spec = CONSOLE_COMMANDS.find((c) => c.name === name);
  if (!spec) {
    const near = nearest(
      name,
      CONSOLE_COMMANDS.map((c) => c.name),
    );
    throw new UsageError(`unknown command "${name}"; ${near.length > 0 ? `did you mean ${orList(near)}? ` : ''}"help" lists the commands`);
  }
  const allowed = new Set<string>(
    name === 'policy'
      ? ['mode', 'stored-count-max', 'stored-amount-max', 'offline-duration-max-h']
      : name === 'message'
        ? ['seconds']
        : name === 'watch'
          ? ['count']
          : name === 'alerts'
            ? ['follow', 'count']
            : [],
  );
  for (const [k, v] of Object.entries(values))
    if (v !== undefined && !allowed.has(k)) throw new UsageError(`${name} takes no --${k}; usage: ${spec.usage}`);
  const kiosk = (required: boolean): string | null => {
    const id = args.shift();
    if (id === undefined) {
      if (required) throw new UsageError(`which kiosk? usage: ${spec.usage}`);
      return null;
    }
    const fixed = id
      .trim()
      .toLowerCase()
      .replace(/[\s_]+/g, '-');
    if (!isKioskId(id)) {
      throw new UsageError(
        `"${id}" is not a kiosk id (1-32 of a-z, 0-9 and -)${isKioskId(fixed) ? `; did you mean ${fixed}?` : ''} ("list" shows the kiosks)`,
      );
    }
    return id;
  };
  const noMore = () => {
    if (args.length > 0) throw new UsageError(`unexpected "${args[0]}"; usage: ${spec.usage}`);
  };
  switch (name) {
    case 'list':
      noMore();
      return { kind: 'list' };
    case 'help': {
      const topic = args.shift() ?? null;
      noMore();
      return { kind: 'help', topic };
    }
    case 'quit':
      noMore();
      return { kind: 'quit' };
    case 'status': {
      const kioskId = kiosk(true)!;
      noMore();
      return { kind: 'status', kioskId };
    }
    case 'watch': {
      const kioskId = kiosk(false);
      noMore();
      return { kind: 'watch', kioskId, count: values.count === undefined ? null : int(values.count, '--count', 1, 1_000_000) };
    }
    case 'alerts': {
      noMore();
      const follow = values.follow === true;
      if (values.count !== undefined && !follow) throw new UsageError(`--count needs --follow; usage: ${spec.usage}`);
      return { kind: 'alerts', follow, count: values.count === undefined ? null : int(values.count, '--count', 1, 1_000_000) };
    }
    case 'stored': {
      const kioskId = kiosk(true)!;
      noMore();
      return { kind: 'send', verb: 'stored', kioskId, body: { name: 'list-stored' } };
    }
    case 'forward': {
      const kioskId = kiosk(true)!;
      noMore();
      return { kind: 'send', verb: 'forward', kioskId, body: { name: 'forward' } };
    }
    case 'reload-catalog': {
      const kioskId = kiosk(true)!;
      noMore();
      return { kind: 'send', verb: 'reload-catalog', kioskId, body: { name: 'reload-catalog' } };
    }
    case 'test': {
      const kioskId = kiosk(true)!;
      const target = args.shift();
      if (!(TEST_TARGETS as readonly (string | undefined)[]).includes(target))
        throw new UsageError(`test what? one of ${TEST_TARGETS.join(', ')}; usage: ${spec.usage}`);
      noMore();
      return { kind: 'send', verb: 'test', kioskId, body: { name: 'test', target: target as (typeof TEST_TARGETS)[number] } };
    }
    case 'message': {
      const kioskId = kiosk(true)!;
      const text = args.join(' ');
      if (text.length > DISPLAY_MESSAGE_MAX)
        throw new UsageError(`message is ${text.length} characters; shorten TEXT to at most ${DISPLAY_MESSAGE_MAX}`);
      const seconds = values.seconds === undefined ? MESSAGE_SECONDS_DEFAULT : int(values.seconds, '--seconds', 0, 3600);
      if (text === '' && seconds > 0) throw new UsageError(`which text? usage: ${spec.usage} (--seconds 0 clears the message)`);
      return { kind: 'send', verb: 'message', kioskId, body: { name: 'display-message', text, seconds } };
    }
    case 'policy': {
      const kioskId = kiosk(true)!;
      noMore();
      const change = policyChange(values);
      return change === null
        ? { kind: 'show-policy', kioskId }
        : { kind: 'send', verb: 'policy', kioskId, body: { name: 'set-policy', policy: change } };
    }
    default:
      throw new UsageError(`unknown command "${name}"`);
  }
}

function policyChange(values: Values): PolicyChange | null {
  const change: PolicyChange = {};
  if (values.mode !== undefined) {
    if (!(POLICY_MODES as readonly string[]).includes(values.mode))
      throw new UsageError(`--mode must be one of ${POLICY_MODES.join(', ')}`);
    change.mode = values.mode as PolicyMode;
  }
  const caps: NonNullable<PolicyChange['caps']> = {};
  const shape = exposureCapsSchema.shape;
  if (values['stored-count-max'] !== undefined)
    caps.storedCountMax = int(
      values['stored-count-max'],
      '--stored-count-max',
      shape.storedCountMax.minValue!,
      shape.storedCountMax.maxValue!,
    );
  if (values['stored-amount-max'] !== undefined)
    caps.storedAmountMax = int(
      values['stored-amount-max'],
      '--stored-amount-max',
      shape.storedAmountMax.minValue!,
      shape.storedAmountMax.maxValue!,
    );
  if (values['offline-duration-max-h'] !== undefined) {
    const h = int(
      values['offline-duration-max-h'],
      '--offline-duration-max-h',
      1,
      Math.floor(shape.offlineDurationMaxMs.maxValue! / 3_600_000),
    );
    caps.offlineDurationMaxMs = h * 3_600_000;
  }
  if (Object.keys(caps).length > 0) change.caps = caps;
  return Object.keys(change).length === 0 ? null : change;
}

function int(text: string, flag: string, min: number, max: number): number {
  if (!/^[0-9]{1,16}$/.test(text)) throw new UsageError(`${flag} must be a whole number, got "${text}"`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be between ${min} and ${max}, got ${text}`);
  return n;
}
