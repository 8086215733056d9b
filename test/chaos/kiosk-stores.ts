// SPDX-License-Identifier: Apache-2.0
// A kiosk's durable stores (outbox.json, kiosk-state.json: DurableJsonAdapter envelopes) read from its
// data dir. peekKioskState() reads while the kiosk runs, without touching any file (the kiosk may be
// renaming them this instant: the newest valid of main and backup wins, as on load).
// openKioskStores() opens them with the kiosk's own classes and schemas, once the kiosk is stopped.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initialKioskState, KIOSK_STATE_FORMAT, KioskStateStore, type KioskState } from '../../device/kiosk/kiosk-state.ts';
import { FileOutbox } from '../../device/outbox/file-outbox.ts';
import type { OutboxEntry } from '../../device/outbox/outbox-store.ts';

async function readEnvelope(path: string, format: string): Promise<{ seq: number; body: unknown } | undefined> {
  let doc: { format?: unknown; seq?: unknown; body?: unknown; checksum?: unknown };
  try {
    doc = JSON.parse(await readFile(path, 'utf8')) as typeof doc;
  } catch {
    return undefined;
  }
  if (doc.format !== format || typeof doc.seq !== 'number') return undefined;
  const sum = createHash('sha256')
    .update(JSON.stringify({ format: doc.format, seq: doc.seq, body: doc.body }))
    .digest('hex');
  return sum === doc.checksum ? { seq: doc.seq, body: doc.body } : undefined;
}

/** The kiosk's current state as on disk, or undefined when neither file is readable yet. */
export async function peekKioskState(dataDir: string): Promise<Pick<KioskState, 'voidLater' | 'inflight' | 'declined'> | undefined> {
  const path = join(dataDir, 'kiosk-state.json');
  const found = [await readEnvelope(path, KIOSK_STATE_FORMAT), await readEnvelope(`${path}.bak`, KIOSK_STATE_FORMAT)]
    .filter((e) => e !== undefined)
    .sort((a, b) => b.seq - a.seq)[0];
  if (!found) return undefined;
  const b = found.body as Partial<KioskState>;
  return { voidLater: b.voidLater ?? [], inflight: b.inflight ?? [], declined: b.declined ?? [] };
}

export interface KioskStores {
  outbox: readonly OutboxEntry[];
  state: KioskState;
  /** Where each store was loaded from: 'main' unless a crash left only the backup. */
  sources: { outbox: string; state: string };
}

/** Opens both stores with the kiosk's own loaders (full validation), reads them, closes them. */
export async function openKioskStores(dataDir: string): Promise<KioskStores> {
  const outbox = await FileOutbox.open({ path: join(dataDir, 'outbox.json') });
  try {
    const { store, loaded } = await KioskStateStore.open(join(dataDir, 'kiosk-state.json'), initialKioskState());
    try {
      return {
        outbox: [...outbox.list()],
        state: structuredClone(store.state) as KioskState,
        sources: { outbox: outbox.recovery.source, state: loaded.source },
      };
    } finally {
      await store.close();
    }
  } finally {
    await outbox.close();
  }
}
