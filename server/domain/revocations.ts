// SPDX-License-Identifier: Apache-2.0
// The signed revocation list kiosks cache for their offline pre-check. Every publication gets a new
// sequence number and issue time, so a kiosk can tell how fresh its copy is.
import type { RevocationsMessage } from '../../shared/kiosk-messages.ts';
import type { ServerContext } from './context.ts';

export async function buildRevocations(ctx: ServerContext): Promise<RevocationsMessage> {
  const now = ctx.clock.nowMs();
  const body = await ctx.store.unit(async (tx) => {
    const seq = Number((await tx.getMeta('revocations_seq')) ?? '0') + 1;
    await tx.setMeta('revocations_seq', String(seq));
    return { seq, issuedAt: now, credentials: await tx.listRevokedCredentialIds(now) };
  });
  return ctx.issuer.signRevocations(body);
}
