// SPDX-License-Identifier: Apache-2.0
// Identities for tests that run a real broker. Hashed with cheap scrypt (1 MiB, about 3 ms) so a
// login does not cost 50 ms; identities.test.ts covers the production parameters.
import { identitiesFromPasswords, type IdentityTable, type IdentityWithPassword } from '../identities.ts';

export const CHEAP_SCRYPT = { N: 1024, r: 8, p: 1 };

/** Kiosks k1 and k2 and the server, password `pw-<username>`, plus any extra identities. */
export function testIdentities(extra: IdentityWithPassword[] = []): Promise<IdentityTable> {
  return identitiesFromPasswords(
    [
      { username: 'k1', password: 'pw-k1', role: 'kiosk', kioskId: 'k1' },
      { username: 'k2', password: 'pw-k2', role: 'kiosk', kioskId: 'k2' },
      { username: 'server', password: 'pw-server', role: 'server' },
      ...extra,
    ],
    CHEAP_SCRYPT,
  );
}
