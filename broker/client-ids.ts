// SPDX-License-Identifier: Apache-2.0
// Which client ids an identity may connect with. A client id is bound to its identity, so that no
// login can take (or squat, while its owner is away) another's id: a kiosk login cannot connect as
// `kioskpay-server` while the server is down and keep the server out once it is back.
//
//   every identity U      `U`, `kp-U` or `kp-U-<anything>` (a kiosk's username is its kiosk id: the
//                         uplink connects as `kp-K-<8 hex>`; Mosquitto's use_username_as_clientid gives `K`)
//   technician, operator  also `kp-console-<anything>` (the console's random ids)
//   server                also anything that does not start with `kp-` (`kioskpay-server`, replicas' ids)
//   test                  anything (conformance mode only)
//
// So the server's own ids can be used by server logins only, and a kiosk's by that kiosk (and by a
// kiosk whose id extends it with `-`, only for ids with a suffix: `kp-a-b-1` is in both `a`'s and
// `a-b`'s range; the uplink's random suffix makes such an id worthless to squat). A zero-length
// client id, which the broker replaces with a unique random one, is always allowed.
import { assertUnreachable } from '../shared/assert.ts';
import type { Identity } from './identities.ts';

/** Prefix of the kiosks' and consoles' client ids; the server role may use it only under its own name. */
export const CLIENT_ID_PREFIX = 'kp-';
/** Prefix of the technician console's client ids (console/connection.ts). */
export const CONSOLE_CLIENT_ID_PREFIX = 'kp-console-';

/** The client id a tool should use for identity `username`: `kp-<username>-<tag>`. */
export function ownClientId(username: string, tag: string): string {
  return `${CLIENT_ID_PREFIX}${username}-${tag}`;
}

/** True when `identity` may connect with `clientId` (a non-empty id it chose itself). */
export function clientIdAllowed(identity: Identity, clientId: string): boolean {
  const named = `${CLIENT_ID_PREFIX}${identity.username}`;
  if (clientId === identity.username || clientId === named || clientId.startsWith(`${named}-`)) return true;
  switch (identity.role) {
    case 'kiosk':
      return false;
    case 'technician':
    case 'operator':
      return clientId.startsWith(CONSOLE_CLIENT_ID_PREFIX);
    case 'server':
      return !clientId.startsWith(CLIENT_ID_PREFIX);
    case 'test':
      return true;
    default:
      return assertUnreachable(identity);
  }
}
