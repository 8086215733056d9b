// SPDX-License-Identifier: Apache-2.0
// Login floods the embedded broker reports on kp/v1/broker/alerts (broker/flood-watch.ts), raised
// as `login-flood` server alerts so /ops and consoles show them. Only the broker can publish there
// (broker/acl.ts); a message that fails the shared schema, or a retained one (it would come back
// on every reconnect), is logged and ignored. Mosquitto publishes nothing there.
import type { Logger } from 'pino';
import { ALERT_PAYLOAD_BYTES_MAX, loginFloodMessage, type LoginFloodMessage } from '../../shared/alert-messages.ts';
import { parseJsonMessage } from '../../shared/kiosk-messages.ts';
import type { NewServerAlert } from '../domain/alerts.ts';
import type { ServerContext } from '../domain/context.ts';

/** The alert for one broker message, dated by the server's clock like every other alert. */
export function loginFloodAlert(m: LoginFloodMessage, nowMs: number): NewServerAlert {
  const who =
    m.username === null
      ? 'no username'
      : `username ${JSON.stringify(m.username)}${m.usernameKnown ? (m.kioskId === null ? ' (a broker identity)' : ` (kiosk ${m.kioskId})`) : ' (not an identity)'}`;
  const counts =
    `${m.addressCounts.failed} wrong passwords and ${m.addressCounts.deferred} deferred logins from the address, ` +
    `${m.usernameCounts.failed} and ${m.usernameCounts.deferred} for the username, since ${new Date(m.since).toISOString()}`;
  return {
    kind: 'login-flood',
    // A flood on a real identity is an attack on it, or a device with a wrong password that stays off.
    severity: m.usernameKnown ? 'critical' : 'warning',
    at: nowMs,
    kioskId: m.kioskId,
    walletId: null,
    amount: null,
    message: `login flood (by ${m.trigger}) from ${m.address}, ${who}: ${counts}; the broker defers further attempts${m.suppressed > 0 ? `; ${m.suppressed} more flood alerts withheld before this one` : ''}`,
  };
}

/** Handles one message on kp/v1/broker/alerts. */
export function raiseBrokerAlert(ctx: ServerContext, payload: Buffer, retained: boolean, log: Logger): void {
  if (retained) {
    log.warn('retained broker alert ignored');
    return;
  }
  const parsed = parseJsonMessage(loginFloodMessage, payload, ALERT_PAYLOAD_BYTES_MAX);
  if (!parsed.ok) {
    log.warn({ code: parsed.code, reason: parsed.message }, 'unreadable broker alert ignored');
    return;
  }
  const alert = loginFloodAlert(parsed.value, ctx.clock.nowMs());
  log.warn(
    { address: parsed.value.address, username: parsed.value.username, kioskId: alert.kioskId },
    'login flood reported by the broker',
  );
  ctx.alerts.raise(alert);
}
