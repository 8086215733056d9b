// SPDX-License-Identifier: Apache-2.0
// What one seed simulates: how many kiosks and phones, how faulty its network and disk are, how
// often each scheduler action is taken, and the offline limits its credentials carry. Each seed is
// calm, lossy or stormy, so the runs cover both ordinary days and bad ones.
import type { DiskFaults } from './sim-disk.ts';
import type { SimRandom } from './sim-random.ts';
import type { NetFaults } from './sim-uplink.ts';

export const ITEMS = [
  { gtin: '4901234567894', name: 'Green tea', price: { value: 150, currency: 'JPY' } },
  { gtin: '4006381333931', name: 'Gum', price: { value: 120, currency: 'JPY' } },
  { gtin: '4012345678901', name: 'Rice ball', price: { value: 180, currency: 'JPY' } },
] as const;
export const CATALOG = { v: 1, type: 'catalog', version: 1, currency: 'JPY', items: ITEMS };

/** The fault profile of one seed: some seeds are calm, some stormy. */
export interface Scenario {
  kiosks: number;
  phones: number;
  net: NetFaults;
  disk: DiskFaults;
  weights: Record<ActionName, number>;
  limits: { perPayment: number; daily: { amount: number; count: number }; monthly: { amount: number; count: number } };
}

export type ActionName =
  | 'buy'
  | 'cancel'
  | 'cut'
  | 'restore'
  | 'powerLoss'
  | 'serverRestart'
  | 'brokerRestart'
  | 'clockJump'
  | 'drift'
  | 'wait'
  | 'topUp'
  | 'dishonest'
  | 'flood'
  | 'night';

export function scenario(rng: SimRandom): Scenario {
  const storm = rng.int(3); // 0 calm, 1 lossy, 2 stormy
  const rate = (calm: number, lossy: number, stormy: number) => [calm, lossy, stormy][storm]!;
  return {
    kiosks: rng.between(2, 4),
    phones: rng.between(3, 6),
    net: {
      dropRate: rate(0.01, 0.08, 0.2),
      dupRate: rate(0.01, 0.05, 0.15),
      latencyMs: [2, rate(30, 200, 800)],
      slowRate: rate(0.01, 0.05, 0.12),
      slowMs: [1_000, rate(6_000, 15_000, 40_000)],
    },
    disk: { latencyMs: [1, 15], stallRate: rate(0, 0.01, 0.03), stallMs: [1_000, 8_000], outboxErrorRate: rate(0, 0.002, 0.01) },
    weights: {
      buy: 40,
      cancel: 3,
      cut: rate(2, 6, 10),
      restore: 8,
      powerLoss: rate(1, 3, 5),
      serverRestart: rate(0, 1, 2),
      brokerRestart: rate(0, 1, 1),
      clockJump: 1,
      drift: 1,
      wait: 6,
      topUp: 1,
      dishonest: 3,
      flood: 1,
      night: 1,
    },
    limits: {
      perPayment: 5_000,
      daily: { amount: 10_000, count: rng.between(2, 12) },
      monthly: { amount: 50_000, count: rng.between(10, 60) },
    },
  };
}
