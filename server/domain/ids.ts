// SPDX-License-Identifier: Apache-2.0
// Identifiers and hashes the server mints. Random ids come from the injected Random.
import crypto, { createHash } from 'node:crypto';
import { toHex } from '../../shared/bytes.ts';
import type { Random } from '../../shared/random.ts';
import type { Currency } from '../../shared/money.ts';

export const newId = (prefix: string, random: Random) => `${prefix}_${toHex(random.bytes(12))}`;
/**
 * A payment's id: its creation time (ms, 12 hex digits) and then 80 random bits. Ids made one after
 * another sort one after another, so a group of new payments adds its keys to the last page of every
 * index on a payment id (the ledger's primary key, transfers by payment) instead of to as many random
 * pages; with random ids each payment dirtied pages of its own, all written at COMMIT, which cost the
 * SQLite ledger a fifth of its time. Still unguessable; the time it shows is the payment's own `at`.
 */
export const newPaymentId = (nowMs: number, random: Random) => `pay_${nowMs.toString(16).padStart(12, '0')}${toHex(random.bytes(10))}`;
/** node:crypto's one-shot hash (Node 20.12 and later) where there is one: a third of the cost of createHash for short texts. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
export const sha256Hex = oneShot
  ? (text: string) => oneShot('sha256', text, 'hex')
  : (text: string) => createHash('sha256').update(text).digest('hex');

export const shopperAccountId = (walletId: string) => `shopper:${walletId}`;
export const merchantAccountId = (merchant: string) => `merchant:${merchant}`;
export const issuanceAccountId = (currency: Currency) => `issuance:${currency}`;

/** What identifies a payment request's content; a txId repeated with another hash is a conflict. */
export const requestHash = (code: string, value: number, currency: Currency) => sha256Hex(`${code}\n${value}\n${currency}`);
