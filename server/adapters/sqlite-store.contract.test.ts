// SPDX-License-Identifier: Apache-2.0
// The Store contract against the SQLite adapter, one database file in a fresh temp dir per test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeContract } from '../ports/store-contract.ts';
import { SqliteStore } from './sqlite-store.ts';

storeContract(
  'SqliteStore',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kp-store-contract-'));
    const path = join(dir, 'ledger.sqlite');
    return {
      open: () => new SqliteStore({ path }),
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  { replicasOverlap: false },
);
