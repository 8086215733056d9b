// SPDX-License-Identifier: Apache-2.0
// Who may publish, subscribe and receive where: pure decisions, deny by default. Every allowed
// topic or filter is computed from shared/topics.ts and compared exactly, so a wildcard trick
// (`kp/v1/kiosk/#`, `kp/v1/+/+/status`, `#`) can only pass where a wildcard filter is granted on
// purpose. aedes' authorizeSubscribe sees only the filter, never the topics it will match: that is
// why wildcards are denied unless they are one of the listed filters, and why the broker also
// checks every message it delivers with canReceive (a restored persistent session keeps the
// subscriptions it was given, whoever logs in with its client id later).
//
// Grants (K is the kiosk's own id, {any} any valid kiosk id; "+" filters are `kp/v1/kiosk/+/leaf`):
//   kiosk K     publish req (not retained), status (retained or not), events, ack (not retained);
//               subscribe its own res and cmd, and the server broadcasts.
//   server      publish the broadcasts and the staff broadcasts (retained or not), {any}/res and
//               {any}/cmd (not retained); subscribe +/req (also as $share/GROUP/...), +/status,
//               +/events, +/cmd, +/ack, their per-kiosk forms except req, the broadcasts, the staff
//               broadcasts and the broker's topics.
//   technician  publish {any}/cmd (not retained); subscribe the broadcasts, the staff broadcasts,
//               +/status, +/events, +/ack and their per-kiosk forms.
//   operator    publish nothing; subscribe the broadcasts, the staff broadcasts, +/status, +/events
//               and their per-kiosk forms.
// The broker's topics (kp/v1/broker/alerts) are published by the embedded broker itself, which no
// ACL check stands in front of: no client may publish there.
import { assertUnreachable } from '../shared/assert.ts';
import { isKioskId, parseKioskTopic, topics, type KioskTopicLeaf } from '../shared/topics.ts';

/** Deepest topic or filter accepted, in levels (`a/b/c` has 3). `$share/G/kp/v1/kiosk/+/req` has 7. */
export const TOPIC_LEVELS_MAX = 8;
/** Longest topic or filter accepted, in UTF-8 bytes. Our longest topic is under 60 bytes. */
export const TOPIC_BYTES_MAX = 128;

/** What the ACL needs to know about a client: its role, and for a kiosk its id. */
export type AclSubject = { readonly role: 'kiosk'; readonly kioskId: string } | { readonly role: 'server' | 'technician' | 'operator' };

export type StaffRole = 'server' | 'technician' | 'operator';

/** MQTT 3.1.1 shared subscription prefix, honoured by Mosquitto 2 (aedes 1.2 accepts it but delivers nothing). */
const SHARE_PREFIX = '$share/';
const SHARE_GROUP = /^[A-Za-z0-9_-]{1,32}$/;

/** Retained broadcasts from the server that every role may read and only the server may write. */
export const SERVER_BROADCASTS: readonly string[] = Object.freeze([topics.issuerKeys, topics.revocations, topics.catalog]);
/** Retained server topics that staff may read and kiosks may not (alerts name wallets); only the server writes them. */
export const STAFF_BROADCASTS: readonly string[] = Object.freeze([topics.serverAlerts]);
/** Topics the embedded broker publishes itself: only the server may read them, no client may write them. */
export const BROKER_TOPICS: readonly string[] = Object.freeze([topics.brokerAlerts]);

/** May `role` read `topic`, one of the staff broadcasts or the broker's topics? Undefined for any other topic. */
function serverTopicRead(role: AclSubject['role'], topic: string): boolean | undefined {
  if (STAFF_BROADCASTS.includes(topic)) return role !== 'kiosk';
  if (BROKER_TOPICS.includes(topic)) return role === 'server';
  return undefined;
}

type LeafSet = ReadonlySet<KioskTopicLeaf>;
const leaves = (...l: KioskTopicLeaf[]): LeafSet => new Set(l);

/**
 * The grants on kiosk topics, per role, as leaves of `kp/v1/kiosk/{id}/{leaf}`. Exported so that
 * the Mosquitto ACL generator writes the same grants (mosquitto-config.ts).
 */
export const KIOSK_TOPIC_GRANTS = Object.freeze({
  /** A kiosk on its own topics: publish, of which retained, and read. */
  kiosk: Object.freeze({
    publish: leaves('req', 'status', 'events', 'ack'),
    publishRetained: leaves('status'),
    read: leaves('res', 'cmd'),
  }),
  /** Staff roles on every kiosk's topics (never retained): publish, read via `+` or per kiosk, read per kiosk. */
  server: Object.freeze({
    publish: leaves('res', 'cmd'),
    readAny: leaves('req', 'status', 'events', 'cmd', 'ack'),
    readPerKiosk: leaves('status', 'events', 'cmd', 'ack'),
  }),
  technician: Object.freeze({
    publish: leaves('cmd'),
    readAny: leaves('status', 'events', 'ack'),
    readPerKiosk: leaves('status', 'events', 'ack'),
  }),
  operator: Object.freeze({ publish: leaves(), readAny: leaves('status', 'events'), readPerKiosk: leaves('status', 'events') }),
});

/**
 * Checks that hold for every topic and filter: a string of 1..TOPIC_BYTES_MAX UTF-8 bytes, at most
 * TOPIC_LEVELS_MAX levels, and no U+0000 ([MQTT-4.7.3-2]).
 */
function isSaneTopicText(text: unknown): text is string {
  return (
    typeof text === 'string' &&
    text.length > 0 &&
    Buffer.byteLength(text, 'utf8') <= TOPIC_BYTES_MAX &&
    !text.includes('\u0000') &&
    text.split('/').length <= TOPIC_LEVELS_MAX
  );
}

/** A topic name we could ever deliver: sane, no `$` first level, no wildcard [MQTT-3.3.2-2]. */
function isPlainTopic(topic: unknown): topic is string {
  return isSaneTopicText(topic) && !topic.startsWith('$') && !topic.includes('+') && !topic.includes('#');
}

/** False for a kiosk subject whose id is not a kiosk id: it gets nothing at all. */
function hasValidId(subject: AclSubject): boolean {
  return subject.role !== 'kiosk' || isKioskId(subject.kioskId);
}

/** The `kp/v1/kiosk/+/leaf` filters that exist in shared/topics.ts, by leaf (nobody reads `+/res`). */
const ANY_KIOSK_FILTERS: ReadonlyMap<string, KioskTopicLeaf> = new Map<string, KioskTopicLeaf>([
  [topics.allKioskRequests, 'req'],
  [topics.allKioskStatus, 'status'],
  [topics.allKioskEvents, 'events'],
  [topics.allKioskCommands, 'cmd'],
  [topics.allKioskAcks, 'ack'],
]);

/** The leaf of exactly one of ANY_KIOSK_FILTERS, or undefined. */
function anyKioskLeaf(filter: string): KioskTopicLeaf | undefined {
  return ANY_KIOSK_FILTERS.get(filter);
}

/** `$share/<group>/kp/v1/kiosk/+/req`, the shared form of the server's request subscription. */
function isSharedAllKioskRequests(filter: string): boolean {
  if (!filter.startsWith(SHARE_PREFIX)) return false;
  const rest = filter.slice(SHARE_PREFIX.length);
  const slash = rest.indexOf('/');
  return slash > 0 && SHARE_GROUP.test(rest.slice(0, slash)) && rest.slice(slash + 1) === topics.allKioskRequests;
}

/**
 * May `subject` publish to `topic` (with this retain flag)? This also decides last wills, which
 * aedes publishes through the same check. Topics starting with `$` (`$SYS/`, `$share/`) are never
 * publishable [MQTT-4.7.2-1]; wildcards never appear in a topic name [MQTT-3.3.2-2].
 */
export function canPublish(subject: AclSubject, topic: string, retain: boolean): boolean {
  if (!isPlainTopic(topic) || !hasValidId(subject)) return false;
  const kioskTopic = parseKioskTopic(topic);
  switch (subject.role) {
    case 'kiosk': {
      const g = KIOSK_TOPIC_GRANTS.kiosk;
      return (
        kioskTopic?.kioskId === subject.kioskId && g.publish.has(kioskTopic.leaf) && (!retain || g.publishRetained.has(kioskTopic.leaf))
      );
    }
    case 'server':
      return (
        SERVER_BROADCASTS.includes(topic) ||
        STAFF_BROADCASTS.includes(topic) ||
        (!retain && kioskTopic !== undefined && KIOSK_TOPIC_GRANTS.server.publish.has(kioskTopic.leaf))
      );
    case 'technician':
    case 'operator':
      return !retain && kioskTopic !== undefined && KIOSK_TOPIC_GRANTS[subject.role].publish.has(kioskTopic.leaf);
    default:
      return assertUnreachable(subject);
  }
}

/**
 * May `subject` subscribe with this filter? Only the exact filters listed at the top pass: a
 * topic name that is granted, or one of the role's `kp/v1/kiosk/+/leaf` filters; no other wildcard.
 */
export function canSubscribe(subject: AclSubject, filter: string): boolean {
  if (!isSaneTopicText(filter) || !hasValidId(subject)) return false;
  if (SERVER_BROADCASTS.includes(filter)) return true;
  const staffOrBroker = serverTopicRead(subject.role, filter);
  if (staffOrBroker !== undefined) return staffOrBroker;
  switch (subject.role) {
    case 'kiosk': {
      const own = parseKioskTopic(filter);
      return own?.kioskId === subject.kioskId && KIOSK_TOPIC_GRANTS.kiosk.read.has(own.leaf);
    }
    case 'server':
    case 'technician':
    case 'operator': {
      const g = KIOSK_TOPIC_GRANTS[subject.role];
      if (subject.role === 'server' && isSharedAllKioskRequests(filter)) return true;
      const any = anyKioskLeaf(filter);
      if (any !== undefined) return g.readAny.has(any);
      const one = parseKioskTopic(filter);
      return one !== undefined && g.readPerKiosk.has(one.leaf);
    }
    default:
      return assertUnreachable(subject);
  }
}

/**
 * May `subject` receive a message published on `topic`? True exactly when some filter it may
 * subscribe to matches the topic. The broker checks this for every delivery (live, queued for a
 * persistent session, retained), so no subscription, however it came to exist, leaks a topic.
 */
export function canReceive(subject: AclSubject, topic: string): boolean {
  if (!isPlainTopic(topic) || !hasValidId(subject)) return false;
  if (SERVER_BROADCASTS.includes(topic)) return true;
  const staffOrBroker = serverTopicRead(subject.role, topic);
  if (staffOrBroker !== undefined) return staffOrBroker;
  const kioskTopic = parseKioskTopic(topic);
  if (kioskTopic === undefined) return false;
  switch (subject.role) {
    case 'kiosk':
      return kioskTopic.kioskId === subject.kioskId && KIOSK_TOPIC_GRANTS.kiosk.read.has(kioskTopic.leaf);
    case 'server':
    case 'technician':
    case 'operator':
      return KIOSK_TOPIC_GRANTS[subject.role].readAny.has(kioskTopic.leaf);
    default:
      return assertUnreachable(subject);
  }
}

/** True when the filter is a `$share/...` subscription (aedes 1.2 delivers nothing to those). */
export function isSharedSubscription(filter: string): boolean {
  return filter.startsWith(SHARE_PREFIX);
}
