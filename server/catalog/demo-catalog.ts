// SPDX-License-Identifier: Apache-2.0
// The built-in demo catalog, published when the server has no `catalogFile`: a dozen JAN (EAN-13,
// prefix 49) products in JPY, the first six on vending slots 1..6. The GTINs are made up (company
// prefix 4901000) but carry correct GS1 check digits; demo-catalog.test.ts validates the whole
// message with shared parseCatalog.
import type { CatalogMessage } from '../../shared/catalog/catalog.ts';

const yen = (value: number) => ({ value, currency: 'JPY' as const });

export const DEMO_CATALOG: CatalogMessage = Object.freeze({
  v: 1,
  type: 'catalog',
  version: 1,
  currency: 'JPY',
  items: [
    { gtin: '4901000000013', name: 'Green tea 500ml', price: yen(150), slot: 1 },
    { gtin: '4901000000020', name: 'Mineral water 500ml', price: yen(110), slot: 2 },
    { gtin: '4901000000037', name: 'Canned coffee 185g', price: yen(130), slot: 3 },
    { gtin: '4901000000044', name: 'Barley tea 600ml', price: yen(140), slot: 4 },
    { gtin: '4901000000051', name: 'Sports drink 500ml', price: yen(160), slot: 5 },
    { gtin: '4901000000068', name: 'Orange juice 350ml', price: yen(170), slot: 6 },
    { gtin: '4901000000075', name: 'Rice ball salmon', price: yen(180) },
    { gtin: '4901000000082', name: 'Rice ball tuna mayo', price: yen(160) },
    { gtin: '4901000000099', name: 'Melon bread', price: yen(190) },
    { gtin: '4901000000105', name: 'Chocolate bar', price: yen(120) },
    { gtin: '4901000000112', name: 'Potato chips', price: yen(210) },
    { gtin: '4901000000129', name: 'Instant noodles cup', price: yen(230) },
  ],
});
