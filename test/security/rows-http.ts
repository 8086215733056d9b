// SPDX-License-Identifier: Apache-2.0
// Matrix rows against the wallet HTTP API: guessing wallet tokens. Tokens are 256-bit random values
// stored only as SHA-256; a client that fails too many checks in a minute is locked out, even when
// it finally presents a real token.
import { toBase64url } from '../../shared/bytes.ts';
import { seededRandom } from '../../shared/random.ts';
import type { HttpEnv } from './http-env.ts';
import type { AttackRow, Outcome } from './matrix.ts';

/** The i-th guess: a well-formed token (43 base64url characters, 256 bits) that nobody was issued. */
const guess = (i: number) => toBase64url(seededRandom(1_000 + i).bytes(32));

export const httpRows: AttackRow<HttpEnv>[] = [
  {
    name: 'wallet API: a guessed token used to top up',
    outcome: 'UNAUTHORIZED',
    async arrange(e) {
      await e.phone(5_000);
      return async () =>
        (await e.call('POST', '/v1/wallet/topup', guess(0), { amount: { value: 100_000, currency: 'JPY' } })).code ?? 'APPROVED';
    },
  },
  {
    name: 'wallet API: brute force on wallet tokens until lockout',
    outcome: 'RATE_LIMITED',
    async arrange(e) {
      const victim = await e.phone(5_000);
      return async (): Promise<Outcome> => {
        for (let i = 0; i < e.w.config.authFailuresPerMinuteMax; i++) {
          const r = await e.call('POST', '/v1/wallet/codes', guess(i));
          if (r.code !== 'UNAUTHORIZED') return r.code ?? 'APPROVED';
        }
        // The next try is refused before the token is even looked at: the real token does not help.
        return (await e.call('POST', '/v1/wallet/codes', victim.token)).code ?? 'APPROVED';
      };
    },
  },
];
