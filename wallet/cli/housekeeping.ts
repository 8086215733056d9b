// SPDX-License-Identifier: Apache-2.0
// After a command has reached the server, the CLI does what the app does in the background: sync the
// clock when the last sync is over an hour old (claim 5) and renew the offline credential once it is
// past renewAfter (claims 4 and 10). Failures are notes, never the command's exit code.
import { maintainWallet, type MaintenanceEvent } from '../core/maintenance.ts';
import type { WalletState } from '../core/wallet-state.ts';
import { MAINTENANCE_TIMEOUT_MS, apiFor, isoTime, type CommandContext } from './command.ts';

export async function housekeeping(ctx: CommandContext, state: WalletState): Promise<WalletState> {
  if (state.enrollment === undefined) return state;
  const api = apiFor(ctx, state, MAINTENANCE_TIMEOUT_MS);
  const r = await maintainWallet(state, { api, clock: ctx.env.clock, ed: ctx.env.ed });
  if (r.state !== state) await ctx.store.save(r.state);
  for (const e of r.events) ctx.note(describe(e));
  return r.state;
}

function describe(e: MaintenanceEvent): string {
  switch (e.type) {
    case 'clock-synced':
      return `clock synced with the server (offset ${e.offsetMs} ms, ±${e.uncertaintyMs} ms)`;
    case 'credential-renewed':
      return `offline credential renewed (${e.credentialId}, valid until ${isoTime(e.notAfterMs)})`;
    case 'credential-dropped':
      return `offline credential dropped: the server no longer allows offline payment (${e.reason})`;
    case 'skipped':
      return `${e.task} skipped, will retry later: ${e.code}: ${e.message}`;
  }
}
