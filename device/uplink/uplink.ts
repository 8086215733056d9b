// SPDX-License-Identifier: Apache-2.0
// The kiosk's uplink to the payment server, as a port: request/reply (docs/protocol.md section 3),
// publishing telemetry and acks, the broker's extra subscriptions (commands, retained broadcasts),
// and the connection's ups and downs. Two adapters pass one contract suite (uplink-contract.ts):
// MqttUplink (mqtt-uplink.ts), the real one over MQTT 3.1.1, and SimUplink (sim-uplink.ts), in
// process, for the simulation and tests.
//
// Failure semantics, which every caller relies on:
// - UplinkOfflineError (code 'offline'): not connected when asked; nothing was sent.
// - UplinkTimeoutError (code 'timeout'): no matching reply in time (the adapter's injected timers);
//   the request may or may not have reached the server, so the caller asks `status` for the same
//   txId, then `void`s it. An adapter never re-sends on its own (but see RATE_LIMITED), never
//   invents new ids and never deduplicates: idempotency belongs to the caller's txId.
// - UplinkClosedError (code 'closed'): close() was called while the request was pending, or before.
// - UplinkConnectError (code 'connect'): the first connection could not be made (MqttUplink.connect).
// - A RATE_LIMITED error reply means the server did not handle the request: the adapter sends the
//   SAME request again after the reply's retryAfterMs plus backoff with jitter (rate-limit-retry.ts),
//   within the one request deadline. Only when no resend fits is the RATE_LIMITED reply returned.
// - A malformed request, a duplicate pending id, too many pending requests or an oversized request
//   are programmer errors: a plain Error, never an UplinkError.
import type { ErrorReply, KioskOperations } from '../../shared/kiosk-messages.ts';

export interface Uplink {
  /** Connected and subscribed to this kiosk's replies: only then are requests sent. */
  readonly connected: boolean;
  /** Requests waiting for their reply. */
  readonly pendingRequests: number;
  /**
   * Sends one request and resolves with the reply that answers it (shared/kiosk-messages.ts
   * `answers`): the reply type of its operation, or an error reply. Rejects as the top of this file says.
   */
  request<K extends keyof KioskOperations>(
    req: KioskOperations[K]['request'] & { type: K },
  ): Promise<KioskOperations[K]['reply'] | ErrorReply>;
  /** Publishes one message (QoS 1); resolves once the broker has it. Rejects offline or closed. */
  publish(topic: string, payload: string, o?: { retain?: boolean }): Promise<void>;
  /** Subscribes to `topic` again, so the broker re-sends its retained message. Rejects offline. */
  resubscribe(topic: string): Promise<void>;
  /** 'connected' each time the uplink becomes usable, 'disconnected' each time it stops being so. */
  on(event: 'connected' | 'disconnected', listener: () => void): this;
  /** Messages on the extra subscriptions (never replies), raw: the listener validates. */
  on(event: 'message', listener: (topic: string, payload: Buffer, retained: boolean) => void): this;
  off(event: 'connected' | 'disconnected', listener: () => void): this;
  off(event: 'message', listener: (topic: string, payload: Buffer, retained: boolean) => void): this;
  /** Rejects pending requests with UplinkClosedError, disconnects and lets go of every timer and socket. Idempotent. */
  close(): Promise<void>;
}

export type UplinkEvent = 'connected' | 'disconnected' | 'message';

/** What the running kiosk uses of the uplink (it never closes it: its owner does). */
export type KioskUplink = Omit<Uplink, 'close' | 'pendingRequests'>;

/** Tells uplink failures apart; see the top of this file. */
export type UplinkErrorCode = 'offline' | 'timeout' | 'closed' | 'connect';

export abstract class UplinkError extends Error {
  abstract readonly code: UplinkErrorCode;
}

/** True when `e` is an uplink failure (of the given code, if one is given). */
export function isUplinkError(e: unknown, code?: UplinkErrorCode): e is UplinkError {
  return e instanceof UplinkError && (code === undefined || e.code === code);
}

/** Not connected to the broker: the request was not sent at all. */
export class UplinkOfflineError extends UplinkError {
  override readonly name = 'UplinkOfflineError';
  readonly code = 'offline';
  constructor(message = 'uplink not connected; request not sent') {
    super(message);
  }
}

/** No reply matched the request in time. Its fate is unknown: ask `status` for the same txId. */
export class UplinkTimeoutError extends UplinkError {
  override readonly name = 'UplinkTimeoutError';
  readonly code = 'timeout';
  constructor(
    readonly requestId: string,
    readonly timeoutMs: number,
  ) {
    super(`no reply to request ${requestId} within ${timeoutMs} ms`);
  }
}

/** The uplink was closed; pending and later requests fail with this. */
export class UplinkClosedError extends UplinkError {
  override readonly name = 'UplinkClosedError';
  readonly code = 'closed';
  constructor() {
    super('uplink closed');
  }
}

/** The first connection could not be made (refused credentials, ACL, or timeout). */
export class UplinkConnectError extends UplinkError {
  override readonly name = 'UplinkConnectError';
  readonly code = 'connect';
  /** The CONNACK return code when the broker refused the login (4 bad credentials, 5 not authorised). */
  constructor(
    message: string,
    readonly returnCode?: number,
  ) {
    super(message);
  }
}
