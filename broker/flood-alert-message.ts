// SPDX-License-Identifier: Apache-2.0
// Turns a login-flood alert of flood-watch.ts into the kp/v1/broker/alerts message the server reads
// (shared/alert-messages.ts). The username is whatever the client sent: it is reduced to printable
// ASCII and clipped, so it can be logged and shown to operators without harm.
import { loginFloodMessage, type LoginFloodMessage } from '../shared/alert-messages.ts';
import type { FloodAlert } from './flood-watch.ts';
import type { Identity } from './identities.ts';

const USERNAME_SHOWN_MAX = 64;

/** Printable ASCII only (anything else becomes `?`), at most 64 characters; undefined for none. */
export function shownUsername(username: string | undefined): string | null {
  if (username === undefined || username === '') return null;
  return [...username]
    .slice(0, USERNAME_SHOWN_MAX)
    .map((ch) => (/^[\x20-\x7e]$/.test(ch) ? ch : '?'))
    .join('');
}

function shownAddress(address: string): string {
  return /^[0-9A-Za-z.:%_-]{1,64}$/.test(address) ? address : 'unknown';
}

/**
 * The message for `alert`. `wallNowMs` is the broker's wall clock now, `watchNowMs` the watch's
 * clock now (they differ: the watch runs on a monotonic clock), to date the episode's start.
 * `identity` is the broker identity the username names, if any.
 */
export function loginFloodAlertMessage(
  alert: FloodAlert,
  identity: Identity | undefined,
  wallNowMs: number,
  watchNowMs: number,
): LoginFloodMessage {
  return loginFloodMessage.parse({
    v: 1,
    type: 'login-flood',
    at: wallNowMs,
    trigger: alert.trigger,
    address: shownAddress(alert.address),
    username: shownUsername(alert.username),
    usernameKnown: identity !== undefined,
    kioskId: identity?.role === 'kiosk' ? identity.kioskId : null,
    addressCounts: alert.addressCounts,
    usernameCounts: alert.usernameCounts,
    since: Math.max(0, Math.round(wallNowMs - (watchNowMs - alert.sinceMs))),
    suppressed: alert.suppressed,
  });
}
