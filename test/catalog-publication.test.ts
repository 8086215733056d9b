// SPDX-License-Identifier: Apache-2.0
// Catalog publication: the server refuses an invalid catalog file at start naming the field, a
// subscriber receives the retained catalog, and a valid change to the file is published again.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSystem, type RunningSystem } from '../bin/system.ts';
import { catalogMessage, type CatalogMessage } from '../shared/catalog/catalog.ts';
import { topics } from '../shared/topics.ts';
import { loadCatalog } from '../server/catalog/catalog-file.ts';
import { DEMO_CATALOG } from '../server/catalog/demo-catalog.ts';
import { ServerCatalog } from '../server/catalog/server-catalog.ts';
import { connectAs } from './system-kit.ts';
import { eventually } from '../shared/testing/wait.ts';

let dir: string;
let system: RunningSystem | undefined;
const log = pino({ level: 'silent' });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kp-catalog-'));
});
afterEach(async () => {
  await system?.close();
  system = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const start = (server: Record<string, unknown> = {}) =>
  startSystem({ dataDir: join(dir, 'server'), mqttPort: 0, httpPort: 0, kioskIds: ['k1'], log, server });

/** Subscribes as kiosk k1 to the catalog topic; `next(n)` waits (bounded) for the n-th message. */
async function subscribeCatalog(s: RunningSystem) {
  const k = s.kiosks[0]!;
  const client = await connectAs(k, `cat-${process.pid}-${Math.random()}`);
  const seen: Array<{ retain: boolean; catalog: CatalogMessage }> = [];
  client.on('message', (_t, p, packet) => seen.push({ retain: packet.retain, catalog: catalogMessage.parse(JSON.parse(p.toString())) }));
  const granted = await client.subscribeAsync(topics.catalog, { qos: 1 });
  expect(granted[0]!.qos).toBe(1);
  const next = (n: number) => eventually(() => seen[n - 1], { what: `catalog message ${n}` });
  return { next, close: () => client.endAsync() };
}

const fileCatalog = (version: number, price: number) => ({
  v: 1,
  type: 'catalog',
  version,
  currency: 'JPY',
  items: [{ gtin: '4901000000013', name: 'Green tea 500ml', price: { value: price, currency: 'JPY' }, slot: 1 }],
});

describe('catalog file', () => {
  it('refuses a bad file naming the file and the field', () => {
    const path = join(dir, 'catalog.json');
    writeFileSync(
      path,
      JSON.stringify({ ...fileCatalog(1, 100), items: [{ gtin: '4901000000014', name: 'x', price: { value: 1, currency: 'JPY' } }] }),
    );
    expect(() => loadCatalog(path)).toThrow(`catalogFile ${path}: items.0.gtin: must be 13 digits with a correct GS1 check digit`);
    writeFileSync(path, '{"v":1,');
    expect(() => loadCatalog(path)).toThrow(/not valid JSON/);
    expect(() => loadCatalog(join(dir, 'absent.json'))).toThrow(/cannot read: ENOENT/);
    expect(loadCatalog(undefined)).toBe(DEMO_CATALOG);
  });

  it('keeps the last good catalog when the file turns invalid', () => {
    const path = join(dir, 'catalog.json');
    writeFileSync(path, JSON.stringify(fileCatalog(1, 100)));
    const c = new ServerCatalog({ path, pollMs: 1000, log });
    const changes: number[] = [];
    c.onChange((m) => changes.push(m.version));
    writeFileSync(path, JSON.stringify({ ...fileCatalog(2, 100), currency: 'XXX' }));
    expect(c.reload()).toBe(false);
    writeFileSync(path, JSON.stringify(fileCatalog(3, 120)));
    expect(c.reload()).toBe(true);
    expect(changes).toEqual([3]);
    expect(c.current().items[0]!.price.value).toBe(120);
  });
});

describe('catalog publication', () => {
  it('the server will not start with an invalid catalog file', async () => {
    const path = join(dir, 'catalog.json');
    writeFileSync(
      path,
      JSON.stringify({ ...fileCatalog(1, 100), items: [{ gtin: '4901000000013', name: 'x', price: { value: 0, currency: 'JPY' } }] }),
    );
    await expect(start({ catalogFile: path })).rejects.toThrow(`catalogFile ${path}: items.0.price.value`);
  });

  it('publishes the demo catalog retained when no file is configured', async () => {
    system = await start();
    // Barrier: the server publishes its catalog after connecting, so a first subscriber may get it
    // live; once it has a copy, the broker has stored it (before routing it) for later subscribers.
    const probe = await subscribeCatalog(system);
    await probe.next(1);
    await probe.close();
    const sub = await subscribeCatalog(system);
    const first = await sub.next(1);
    expect(first.retain).toBe(true);
    expect(first.catalog).toEqual(DEMO_CATALOG);
    await sub.close();
  });

  it('publishes the file catalog retained and again when the file changes', async () => {
    const path = join(dir, 'catalog.json');
    writeFileSync(path, JSON.stringify(fileCatalog(1, 100)));
    system = await start({ catalogFile: path, catalogPollMs: 100 });
    const sub = await subscribeCatalog(system);
    expect((await sub.next(1)).catalog.version).toBe(1);
    writeFileSync(path, JSON.stringify(fileCatalog(2, 130)) + '\n');
    const second = await sub.next(2);
    expect(second.catalog.version).toBe(2);
    expect(second.catalog.items[0]!.price).toEqual({ value: 130, currency: 'JPY' });
    await sub.close();
  });
});
