// SPDX-License-Identifier: Apache-2.0
// Who may publish and subscribe where: pure decisions, deny by default. Every allowed topic or
// filter is computed from shared/topics.ts and compared exactly, so a wildcard trick
// (`kp/v1/kiosk/+/res`, `kp/#`) can only pass where a wildcard filter is granted on purpose.
// aedes' authorizeSubscribe sees only the filter, never the topics it will match: that is why
// wildcards are denied unless they are one of the listed filters.
import { assertUnreachable } from '../shared/assert.ts';
import { isKioskId, topics } from '../shared/topics.ts';

/** Deepest topic or filter accepted, in levels (`a/b/c` has 3). `$share/G/kp/v1/kiosk/+/req` has 7. */
export const TOPIC_LEVELS_MAX = 8;
/** Longest topic or filter accepted, in UTF-8 bytes. Our longest topic is under 60 bytes. */
export const TOPIC_BYTES_MAX = 128;

/** What the ACL needs to know about a client: its role, and for a kiosk its id. */
export type AclSubject =
  | { readonly role: 'kiosk'; readonly kioskId: string }
  | { readonly role: 'server' | 'technician' | 'operator' };

/** MQTT 3.1.1 shared subscription prefix, honoured by Mosquitto 2 (aedes 1.2 accepts it but delivers nothing). */
const SHARE_PREFIX = '$share/';
const SHARE_GROUP = /^[A-Za-z0-9_-]{1,32}$/;

/** Retained broadcasts from the server that every role may read. */
const SERVER_BROADCASTS: readonly string[] = [topics.issuerKeys, topics.revocations];

/**
 * Checks that hold for every topic and filter: a string of 1..TOPIC_BYTES_MAX UTF-8 bytes, at most
 * TOPIC_LEVELS_MAX levels, and no U+0000 ([MQTT-4.7.3-2]).
 */
function isSaneTopicText(text: unknown): text is string {
  return typeof text === 'string'
    && text.length > 0
    && Buffer.byteLength(text, 'utf8') <= TOPIC_BYTES_MAX
    && !text.includes('\u0000')
    && text.split('/').length <= TOPIC_LEVELS_MAX;
}

/** True for `kp/v1/kiosk/{any valid kiosk id}/res`, matched per topic (never as a wildcard). */
function isKioskReplyTopic(topic: string): boolean {
  const kioskId = topic.split('/')[3];
  return isKioskId(kioskId) && topics.kioskReplies(kioskId) === topic;
}

/** `$share/<group>/kp/v1/kiosk/+/req`, the shared form of the server's request subscription. */
function isSharedAllKioskRequests(filter: string): boolean {
  if (!filter.startsWith(SHARE_PREFIX)) return false;
  const rest = filter.slice(SHARE_PREFIX.length);
  const slash = rest.indexOf('/');
  return slash > 0 && SHARE_GROUP.test(rest.slice(0, slash)) && rest.slice(slash + 1) === topics.allKioskRequests;
}

/**
 * May `subject` publish to `topic` (with this retain flag)? Topics starting with `$` (`$SYS/`,
 * `$share/`) are never publishable [MQTT-4.7.2-1]; wildcards never appear in a topic name
 * [MQTT-3.3.2-2]; retained messages only on the server's broadcasts.
 */
export function canPublish(subject: AclSubject, topic: string, retain: boolean): boolean {
  if (!isSaneTopicText(topic) || topic.startsWith('$') || topic.includes('+') || topic.includes('#')) return false;
  switch (subject.role) {
    case 'kiosk':
      return !retain && isKioskId(subject.kioskId) && topic === topics.kioskRequests(subject.kioskId);
    case 'server':
      return SERVER_BROADCASTS.includes(topic) || (!retain && isKioskReplyTopic(topic));
    case 'technician':
    case 'operator':
      return false;
    default:
      return assertUnreachable(subject);
  }
}

/** May `subject` subscribe with this filter? Only exact listed filters pass; no other wildcard does. */
export function canSubscribe(subject: AclSubject, filter: string): boolean {
  if (!isSaneTopicText(filter)) return false;
  switch (subject.role) {
    case 'kiosk':
      return isKioskId(subject.kioskId) && (filter === topics.kioskReplies(subject.kioskId) || SERVER_BROADCASTS.includes(filter));
    case 'server':
      return filter === topics.allKioskRequests || isSharedAllKioskRequests(filter) || SERVER_BROADCASTS.includes(filter);
    case 'technician':
    case 'operator':
      return SERVER_BROADCASTS.includes(filter);
    default:
      return assertUnreachable(subject);
  }
}

/** True when the filter is a `$share/...` subscription (aedes 1.2 delivers nothing to those). */
export function isSharedSubscription(filter: string): boolean {
  return filter.startsWith(SHARE_PREFIX);
}
