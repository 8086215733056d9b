// SPDX-License-Identifier: Apache-2.0
// Controls for the matrix: in each place, the legitimate version of an attack does move money, and
// the snapshot sees it. Without these, "ledger unchanged" could hold because the snapshot looked at
// nothing.
import { startHttpEnv, type HttpEnv } from './http-env.ts';
import { startKioskEnv, type KioskEnv } from './kiosk-env.ts';
import { rowsAt, type AttackRow, type Outcome, type RunnableRow } from './matrix.ts';
import { startMqttEnv, type MqttEnv } from './mqtt-env.ts';
import { startServerEnv, type ServerEnv } from './server-env.ts';

const serverControl: AttackRow<ServerEnv> = {
  name: 'an offline QR code paid once at a kiosk that is online',
  outcome: 'APPROVED',
  async arrange(e) {
    const p = await e.phoneWithCredential();
    return async () => {
      const r = await e.w.pay('k1', e.w.offlineCode(p), 1_000);
      return r.status === 'approved' ? 'APPROVED' : (r.reason ?? 'PROCESSED');
    };
  },
};

const kioskControl: AttackRow<KioskEnv> = {
  name: 'an offline QR code accepted once by a kiosk that is offline',
  outcome: 'ACCEPTED',
  async arrange(e) {
    const p = await e.phoneWithCredential();
    return () => e.scan(e.w.offlineCode(p), 1_000);
  },
};

const mqttControl: AttackRow<MqttEnv> = {
  name: 'a kiosk paying on its own request topic',
  outcome: 'APPROVED',
  async arrange(e) {
    const code = await e.onlineCode();
    const k1 = await e.login('k1');
    return async () => {
      const r = await e.request(k1, 'k1', {
        v: 1,
        type: 'pay',
        id: 'own',
        txId: 'own-tx',
        code,
        amount: { value: 1_000, currency: 'JPY' },
      });
      return r['status'] === 'approved' ? 'APPROVED' : ((r['reason'] ?? r['code'] ?? 'PROCESSED') as Outcome);
    };
  },
};

const httpControl: AttackRow<HttpEnv> = {
  name: 'a wallet topping up with its own token',
  outcome: 'APPROVED',
  async arrange(e) {
    const p = await e.phone(5_000);
    return async () =>
      (await e.call('POST', '/v1/wallet/topup', p.token, { amount: { value: 1_000, currency: 'JPY' } })).code ?? 'APPROVED';
  },
};

export const CONTROLS: readonly RunnableRow[] = Object.freeze([
  ...rowsAt('server', () => startServerEnv(), [serverControl]),
  ...rowsAt('kiosk offline pre-check', startKioskEnv, [kioskControl]),
  ...rowsAt('broker and server over MQTT', startMqttEnv, [mqttControl]),
  ...rowsAt('wallet HTTP API', startHttpEnv, [httpControl]),
]);
