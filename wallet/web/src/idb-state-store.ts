// SPDX-License-Identifier: Apache-2.0
// The browser wallet's durable data in IndexedDB: the wallet state (WalletStateStore, the same port
// the CLI's state file implements), and caches of the last balance and history so the app opens with
// them offline. Everything read back is checked against its schema; a state that fails is reported as
// STATE_CORRUPT, never silently replaced (it holds the private key).
import { historyResponse, walletInfo, type PaymentRecord, type WalletInfo } from '../../../shared/wallet-messages.ts';
import { WalletError } from '../../core/wallet-errors.ts';
import { walletStateSchema, type WalletState, type WalletStateStore } from '../../core/wallet-state.ts';
import type { KeyValueDb } from './idb.ts';

const STATE_KEY = 'state';
const INFO_KEY = 'info';
const HISTORY_KEY = 'history';
const CREDENTIAL_BALANCE_KEY = 'credential-balance';

export class IdbWalletStateStore implements WalletStateStore {
  readonly #db: KeyValueDb;
  constructor(db: KeyValueDb) {
    this.#db = db;
  }

  async load(): Promise<WalletState | undefined> {
    const raw = await this.#db.get(STATE_KEY);
    if (raw === undefined) return undefined;
    const parsed = walletStateSchema.safeParse(raw);
    if (!parsed.success) throw new WalletError('STATE_CORRUPT', { issue: parsed.error.issues[0]?.message ?? 'schema' });
    return parsed.data;
  }

  async save(state: WalletState): Promise<void> {
    // Validate before writing: a state that would not load back must never replace a good one.
    await this.#db.put(STATE_KEY, walletStateSchema.parse(state));
  }
}

/** The last balance and history the server sent, for showing while offline. Not secret. */
export interface WalletCache {
  info(): Promise<WalletInfo | undefined>;
  saveInfo(info: WalletInfo): Promise<void>;
  payments(): Promise<PaymentRecord[]>;
  savePayments(payments: PaymentRecord[]): Promise<void>;
  credentialBalance(): Promise<{ credentialId: string; value: number } | undefined>;
  saveCredentialBalance(credentialId: string, value: number): Promise<void>;
}

export class IdbWalletCache implements WalletCache {
  readonly #db: KeyValueDb;
  constructor(db: KeyValueDb) {
    this.#db = db;
  }

  async info(): Promise<WalletInfo | undefined> {
    const p = walletInfo.safeParse(await this.#db.get(INFO_KEY));
    return p.success ? p.data : undefined;
  }

  saveInfo(info: WalletInfo): Promise<void> {
    return this.#db.put(INFO_KEY, info);
  }

  async payments(): Promise<PaymentRecord[]> {
    const p = historyResponse.safeParse(await this.#db.get(HISTORY_KEY));
    return p.success ? p.data.payments : [];
  }

  savePayments(payments: PaymentRecord[]): Promise<void> {
    return this.#db.put(HISTORY_KEY, { payments });
  }

  /**
   * The balance (minor units) when the credential was issued. The server caps offline limits at the
   * balance of that moment, so a balance that grew since is a reason to fetch a new credential.
   */
  async credentialBalance(): Promise<{ credentialId: string; value: number } | undefined> {
    const v = (await this.#db.get(CREDENTIAL_BALANCE_KEY)) as { credentialId?: unknown; value?: unknown } | undefined;
    return typeof v?.credentialId === 'string' && Number.isSafeInteger(v.value)
      ? { credentialId: v.credentialId, value: v.value as number }
      : undefined;
  }

  saveCredentialBalance(credentialId: string, value: number): Promise<void> {
    return this.#db.put(CREDENTIAL_BALANCE_KEY, { credentialId, value });
  }
}
