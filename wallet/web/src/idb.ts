// SPDX-License-Identifier: Apache-2.0
// A small key-value store over IndexedDB: one database, one object store. Writes resolve only when
// their transaction completes with durability "strict" (flushed to disk where the browser supports
// the hint), so a state that was saved survives the app being killed right after.

const DB_NAME = 'kioskpay-wallet';
const STORE = 'kv';
const DB_VERSION = 1;

export class KeyValueDb {
  readonly #db: IDBDatabase;
  private constructor(db: IDBDatabase) {
    this.#db = db;
  }

  static open(factory: IDBFactory = indexedDB): Promise<KeyValueDb> {
    return new Promise((resolve, reject) => {
      const req = factory.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        req.result.createObjectStore(STORE);
      };
      req.onsuccess = () => resolve(new KeyValueDb(req.result));
      req.onerror = () => reject(req.error ?? new Error('IndexedDB open failed'));
      req.onblocked = () => reject(new Error('IndexedDB open blocked by another tab'));
    });
  }

  get(key: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const tx = this.#db.transaction(STORE, 'readonly');
      const req = tx.objectStore(STORE).get(key);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error(`IndexedDB read of ${key} failed`));
    });
  }

  put(key: string, value: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      const tx = this.#db.transaction(STORE, 'readwrite', { durability: 'strict' });
      tx.objectStore(STORE).put(value, key);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error(`IndexedDB write of ${key} failed`));
      tx.onabort = () => reject(tx.error ?? new Error(`IndexedDB write of ${key} aborted`));
    });
  }
}
