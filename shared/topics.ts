// SPDX-License-Identifier: Apache-2.0
// MQTT topic names, written once. Call these functions; never concatenate topics at call sites.
// Layout (protocol version 1):
//   kp/v1/kiosk/{kioskId}/req      kiosk -> server   requests (QoS 1)
//   kp/v1/kiosk/{kioskId}/res      server -> kiosk   replies (QoS 1)
//   kp/v1/server/keys              server, retained  issuer public keys
//   kp/v1/server/revocations       server, retained  signed revocation list

export const TOPIC_ROOT = 'kp/v1';
const KIOSK_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** Kiosk ids are 1-32 characters of a-z, 0-9 and '-', so they can never contain MQTT wildcards. */
export function isKioskId(x: unknown): x is string {
  return typeof x === 'string' && KIOSK_ID.test(x);
}

function kiosk(kioskId: string, leaf: string): string {
  if (!isKioskId(kioskId)) throw new Error(`invalid kiosk id: ${JSON.stringify(kioskId)}`);
  return `${TOPIC_ROOT}/kiosk/${kioskId}/${leaf}`;
}

export const topics = {
  kioskRequests: (kioskId: string) => kiosk(kioskId, 'req'),
  kioskReplies: (kioskId: string) => kiosk(kioskId, 'res'),
  /** What the server subscribes to: every kiosk's requests. */
  allKioskRequests: `${TOPIC_ROOT}/kiosk/+/req`,
  issuerKeys: `${TOPIC_ROOT}/server/keys`,
  revocations: `${TOPIC_ROOT}/server/revocations`,
} as const;

/** The kiosk id in a request topic, or undefined when the topic is not a kiosk request topic. */
export function kioskIdOfRequestTopic(topic: string): string | undefined {
  const parts = topic.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT || parts[2] !== 'kiosk' || parts[4] !== 'req') return undefined;
  return isKioskId(parts[3]) ? parts[3] : undefined;
}
