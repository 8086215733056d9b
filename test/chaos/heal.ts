// SPDX-License-Identifier: Apache-2.0
// After the chaos: bring every process back, restore every uplink, and wait (bounded) until the
// system has healed: each kiosk online with an empty outbox, nothing left to void or in flight on
// its disk, and its retained status (read as a technician over MQTT) saying the same and counting
// the declines it keeps. Then stop everything cleanly so the stores can be read.
import mqtt from 'mqtt';
import { kioskStatusMessage, type OnlineStatus } from '../../shared/kiosk-telemetry.ts';
import { topics } from '../../shared/topics.ts';
import type { ChaosCluster } from './chaos-cluster.ts';
import type { ChaosDriver } from './chaos-driver.ts';
import { post, view } from './kiosk-screen.ts';
import { peekKioskState } from './kiosk-stores.ts';

const HEAL_MS = 60_000;
const STATUS_MS = 20_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilAll(what: string, ms: number, done: () => Promise<string[]>): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const waiting = await done();
    if (waiting.length === 0) return;
    if (Date.now() > end) throw new Error(`not healed within ${ms} ms: ${what}: ${waiting.join('; ')}`);
    await sleep(250);
  }
}

export async function heal(cluster: ChaosCluster, driver: ChaosDriver): Promise<void> {
  await driver.settle();
  if (!cluster.brokerUp) await cluster.startBroker();
  if (!cluster.serverUp) await driver.restartServer();
  await Promise.all(cluster.kiosks.filter((k) => !k.proc?.alive || k.url === undefined).map((k) => cluster.startKiosk(k)));
  for (const k of cluster.kiosks) {
    await post(k.url!, '/sim/uplink', { up: true });
    k.uplinkUp = true;
  }
  await untilAll('kiosks online with empty outboxes and nothing to void', HEAL_MS, async () => {
    const waiting: string[] = [];
    for (const k of cluster.kiosks) {
      const v = await view(k.url!, k.kioskId).catch(() => undefined);
      const s = await peekKioskState(k.dataDir);
      if (!v || v.offline || v.storedCount > 0 || !s || s.voidLater.length > 0 || s.inflight.length > 0) {
        waiting.push(
          `${k.kioskId} ${v ? `offline=${v.offline} stored=${v.storedCount}` : 'no screen'} ${s ? `voidLater=${s.voidLater.length} inflight=${s.inflight.length}` : 'no state'}`,
        );
      }
    }
    return waiting;
  });
}

/** Reads every kiosk's retained status as a technician until each reports an empty queue and the declines its disk keeps. */
export async function checkRetainedStatus(cluster: ChaosCluster): Promise<Map<string, OnlineStatus>> {
  const client = mqtt.connect(cluster.brokerUrl, {
    protocolVersion: 4,
    clientId: `kp-${cluster.technician.username}-chaos-${process.pid}`,
    clean: true,
    reconnectPeriod: 500,
    connectTimeout: 5_000,
    username: cluster.technician.username,
    password: cluster.technician.password,
  });
  const latest = new Map<string, OnlineStatus>();
  client.on('message', (topic, payload) => {
    const kioskId = /^kp\/v1\/kiosk\/([^/]+)\/status$/.exec(topic)?.[1];
    const parsed = kioskStatusMessage.safeParse(JSON.parse(payload.toString('utf8')));
    if (kioskId && parsed.success && parsed.data.state === 'online') latest.set(kioskId, parsed.data);
  });
  client.on('error', () => undefined);
  try {
    await untilAll('technician subscribed', STATUS_MS, async () => (client.connected ? [] : ['not connected']));
    await client.subscribeAsync(topics.allKioskStatus, { qos: 1 });
    await untilAll("retained statuses agree with the kiosks' disks", STATUS_MS, async () => {
      const waiting: string[] = [];
      for (const k of cluster.kiosks) {
        const st = latest.get(k.kioskId);
        const disk = await peekKioskState(k.dataDir);
        if (!st || !disk || st.queue.count !== 0 || st.queue.declined !== disk.declined.length) {
          waiting.push(
            `${k.kioskId} status ${st ? `count=${st.queue.count} declined=${st.queue.declined}` : 'none'} disk declined=${disk?.declined.length}`,
          );
        }
      }
      return waiting;
    });
    return new Map(latest);
  } finally {
    await client.endAsync(true);
  }
}

/** Stops kiosks, server and broker with SIGTERM (SIGKILL after a bound). */
export async function stopAll(cluster: ChaosCluster): Promise<void> {
  await Promise.all(cluster.kiosks.map((k) => k.proc?.stop()));
  await cluster.server?.stop();
  await cluster.broker?.stop();
}
