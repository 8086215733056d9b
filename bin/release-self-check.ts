// SPDX-License-Identifier: Apache-2.0
// The kiosk release's self-check (bundled as app/self-check.mjs): loads each native module the
// kiosk can need, with the release's own Node, and exercises it once: serialport's binding (opening
// a path that does not exist must fail with the binding's own error) and epoll (an Epoll instance,
// created and closed). deploy/pi/install.sh runs it before switching `current` to a new version, and
// the arm64 boot test runs it first under qemu. Exit 0 when all load, 1 otherwise, naming each.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface Check {
  name: string;
  run(): Promise<string>;
}

const checks: Check[] = [
  {
    name: '@serialport/bindings-cpp',
    async run() {
      const { autoDetect } = require('@serialport/bindings-cpp') as {
        autoDetect(): { open(o: { path: string; baudRate: number }): Promise<unknown> };
      };
      const binding = autoDetect();
      const err = await binding.open({ path: '/nonexistent/kioskpay-self-check', baudRate: 9600 }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      if (!err) throw new Error('opening a missing path succeeded');
      if (!/ENOENT|No such file/.test(err.message)) throw new Error(`unexpected error from the binding: ${err.message}`);
      return 'binding loaded; open of a missing path fails with ENOENT';
    },
  },
  {
    name: 'epoll',
    async run() {
      const { Epoll } = require('epoll') as { Epoll: new (cb: () => void) => { close(): unknown } };
      if (typeof Epoll !== 'function') throw new Error('epoll has no Epoll class (not built for Linux?)');
      new Epoll(() => undefined).close();
      return 'addon loaded; an Epoll instance was created and closed';
    },
  },
  {
    name: 'onoff',
    async run() {
      const { Gpio } = await import('onoff');
      return `loaded (sysfs GPIO ${Gpio.accessible ? 'accessible' : 'not accessible here'})`;
    },
  },
  // Plain JS the LCD adapter loads by name at run time (bundled apart: bin/release-artefact.ts).
  ...['firmata-io', 'johnny-five'].map(
    (name): Check => ({
      name,
      async run() {
        const m = require(name) as unknown;
        if (m === null || (typeof m !== 'object' && typeof m !== 'function')) throw new Error('loaded, but exports nothing');
        return 'loaded';
      },
    }),
  ),
];

let failed = 0;
process.stdout.write(`kioskpay-kiosk self-check: node ${process.version} ${process.platform}-${process.arch}\n`);
for (const c of checks) {
  try {
    process.stdout.write(`ok   ${c.name}: ${await c.run()}\n`);
  } catch (e) {
    failed++;
    process.stdout.write(`FAIL ${c.name}: ${(e as Error).message}\n`);
  }
}
process.stdout.write(failed ? `self-check: ${failed} of ${checks.length} failed\n` : `self-check: all ${checks.length} passed\n`);
process.exitCode = failed ? 1 : 0;
