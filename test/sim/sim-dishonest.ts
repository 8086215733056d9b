// SPDX-License-Identifier: Apache-2.0
// Dishonest actors in the simulator. A dishonest kiosk (registered like any other, its own merchant)
// sends settle batches straight to the server with copies of offline codes honest kiosks were paid
// for: captured later than the original, twice in one batch, and for more than the per-payment
// limit. A flood actor sends bursts of junk: bytes that are no message, settle batches of malformed
// codes, the same batch again. The invariants then require that none of it was charged to anyone
// and that the server answered every message without throwing.
import type { PaymentRow } from '../../server/ports/store.ts';
import type { SimKiosk } from './sim-kiosk.ts';
import type { SimRandom } from './sim-random.ts';
import type { SimServer } from './sim-server.ts';

export const DISHONEST_KIOSK = { id: 'kx', merchant: 'crook' } as const;

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const charged = (p: PaymentRow | undefined) => p !== undefined && (p.status === 'approved' || p.status === 'settled');

export class DishonestActors {
  #seq = 0;
  claims = 0;
  floodMessages = 0;
  /** Messages the server threw on instead of answering (must stay 0). */
  readonly faults: string[] = [];

  constructor(
    readonly server: SimServer,
    readonly rng: SimRandom,
    readonly perPaymentMax: number,
  ) {}

  /** Copies of an offline code an honest kiosk was paid for; returns a trace line. */
  async claimCopies(kiosks: readonly SimKiosk[]): Promise<string> {
    const r = this.rng;
    const candidates = kiosks.flatMap((k) => [...k.record.attempts.values()].filter((a) => a.codeKind === 'offline-qr'));
    if (candidates.length === 0 || !this.server.up) return 'dishonest kiosk finds no paid offline code to copy';
    const a = r.pick(candidates);
    const original = await this.server.store.unit((tx) => tx.getPaymentByTx(a.kioskId, a.txId));
    if (!charged(original)) return `dishonest kiosk skips ${a.kioskId}/${a.txId} (not paid)`;
    const capturedAt = original!.at + r.between(1, 60_000);
    const item = (value: number) => ({
      txId: `kx-${++this.#seq}`,
      code: a.code,
      amount: { value, currency: original!.currency },
      capturedAt,
    });
    const items = [item(original!.amount), item(original!.amount), item(this.perPaymentMax + 1)];
    this.claims += items.length;
    await this.#send({ v: 1, type: 'settle', id: `kx-c-${++this.#seq}`, items });
    return `dishonest kiosk claims ${a.kioskId}/${a.txId}'s code ${items.length} times (twice in one batch, once inflated), captured later`;
  }

  /** A burst of junk from the dishonest kiosk. */
  async flood(): Promise<string> {
    const r = this.rng;
    if (!this.server.up) return 'flood: server down';
    const n = r.between(10, 40);
    const junkItems = Array.from({ length: 100 }, (_, i) => ({
      txId: `kx-f-${this.#seq}-${i}`,
      code: r.pick(['KP1.x', '3200', 'hello']),
      amount: { value: 1, currency: 'JPY' },
      capturedAt: 0,
    }));
    for (let i = 0; i < n; i++) {
      const kind = r.int(4);
      if (kind === 0) await this.#send(String.fromCharCode(...Array.from({ length: r.between(1, 64) }, () => r.int(256))));
      else if (kind === 1) await this.#send({ v: 1, type: 'settle', id: `kx-f-${++this.#seq}`, items: junkItems });
      else if (kind === 2)
        await this.#send({
          v: 1,
          type: 'pay',
          id: `kx-f-${++this.#seq}`,
          txId: `kx-p-${this.#seq}`,
          code: 'KP1.' + 'A'.repeat(282),
          amount: { value: 100, currency: 'JPY' },
        });
      else await this.#send({ v: 9, type: 'settle' });
    }
    this.floodMessages += n;
    return `flood: ${n} junk messages from ${DISHONEST_KIOSK.id}`;
  }

  async #send(msg: unknown): Promise<void> {
    try {
      await this.server.handle(DISHONEST_KIOSK.id, enc(msg));
    } catch (e) {
      this.faults.push(`server threw on a message from ${DISHONEST_KIOSK.id}: ${(e as Error).message}`);
    }
  }
}
