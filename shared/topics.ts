// SPDX-License-Identifier: Apache-2.0
// MQTT topic names, written once. Call these functions; never concatenate topics at call sites.
// Layout (protocol version 1):
//   kp/v1/kiosk/{kioskId}/req      kiosk -> server   requests (QoS 1)
//   kp/v1/kiosk/{kioskId}/res      server -> kiosk   replies (QoS 1)
//   kp/v1/kiosk/{kioskId}/status   kiosk, retained   telemetry; its last will says offline
//   kp/v1/kiosk/{kioskId}/events   kiosk -> all      payments, forwarding progress, faults (QoS 1)
//   kp/v1/kiosk/{kioskId}/cmd      tech/server -> k  technician commands (QoS 1, never retained)
//   kp/v1/kiosk/{kioskId}/ack      kiosk -> tech     command acknowledgements and progress (QoS 1)
//   kp/v1/server/keys              server, retained  issuer public keys
//   kp/v1/server/revocations       server, retained  signed revocation list
//   kp/v1/server/catalog           server, retained  product catalog
//   kp/v1/server/alerts            server, retained  the server's newest operator alerts (staff only: they name wallets)
//   kp/v1/broker/alerts            broker -> server  login floods, published by the embedded broker itself (no client may)

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
  kioskStatus: (kioskId: string) => kiosk(kioskId, 'status'),
  kioskEvents: (kioskId: string) => kiosk(kioskId, 'events'),
  kioskCommands: (kioskId: string) => kiosk(kioskId, 'cmd'),
  kioskAcks: (kioskId: string) => kiosk(kioskId, 'ack'),
  /** What the server subscribes to: every kiosk's requests. */
  allKioskRequests: `${TOPIC_ROOT}/kiosk/+/req`,
  allKioskStatus: `${TOPIC_ROOT}/kiosk/+/status`,
  allKioskEvents: `${TOPIC_ROOT}/kiosk/+/events`,
  allKioskCommands: `${TOPIC_ROOT}/kiosk/+/cmd`,
  allKioskAcks: `${TOPIC_ROOT}/kiosk/+/ack`,
  issuerKeys: `${TOPIC_ROOT}/server/keys`,
  revocations: `${TOPIC_ROOT}/server/revocations`,
  catalog: `${TOPIC_ROOT}/server/catalog`,
  serverAlerts: `${TOPIC_ROOT}/server/alerts`,
  brokerAlerts: `${TOPIC_ROOT}/broker/alerts`,
} as const;

/** The leaves under a kiosk's topic, in the order of the layout above. */
export type KioskTopicLeaf = 'req' | 'res' | 'status' | 'events' | 'cmd' | 'ack';
const KIOSK_LEAVES: ReadonlySet<string> = new Set<KioskTopicLeaf>(['req', 'res', 'status', 'events', 'cmd', 'ack']);

/** Splits `kp/v1/kiosk/{id}/{leaf}` into its kiosk id and leaf, or undefined for any other topic. */
export function parseKioskTopic(topic: string): { kioskId: string; leaf: KioskTopicLeaf } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT || parts[2] !== 'kiosk') return undefined;
  const [, , , kioskId, leaf] = parts;
  return isKioskId(kioskId) && KIOSK_LEAVES.has(leaf!) ? { kioskId, leaf: leaf as KioskTopicLeaf } : undefined;
}

/** The kiosk id in a request topic, or undefined when the topic is not a kiosk request topic. */
export function kioskIdOfRequestTopic(topic: string): string | undefined {
  const parsed = parseKioskTopic(topic);
  return parsed?.leaf === 'req' ? parsed.kioskId : undefined;
}
