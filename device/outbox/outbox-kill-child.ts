// SPDX-License-Identifier: Apache-2.0
// Child process for file-outbox-kill.test.ts: appends to the outbox in a loop until it is killed,
// and prints each txId only after its append resolved ("A txId"), and each acknowledged batch only
// after its acknowledge resolved ("K txId ..."). Usage: outbox-kill-child.ts PATH RUN
import { FileOutbox } from './file-outbox.ts';

const [path, runText] = process.argv.slice(2);
if (!path || !runText) throw new Error('usage: outbox-kill-child.ts PATH RUN');
const run = Number(runText);
const store = await FileOutbox.open({ path });
process.stdout.write(`R ${store.recovery.source}\n`);
for (let i = 0; ; i++) {
  const txId = `r${run}-${i}`;
  await store.append({
    txId,
    code: `KP1.kill-${txId}`,
    amount: { value: 100 + i, currency: 'JPY' },
    capturedAt: 1_767_225_600_000 + i,
    credentialId: 'abcdefabcdefabcd',
    counter: run * 100_000 + i,
  });
  process.stdout.write(`A ${txId}\n`);
  if (i % 7 === 6) {
    const oldest = store
      .list()
      .slice(0, 3)
      .map((e) => e.txId);
    await store.acknowledge(oldest);
    process.stdout.write(`K ${oldest.join(' ')}\n`);
  }
}
