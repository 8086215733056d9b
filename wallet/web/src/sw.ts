// SPDX-License-Identifier: Apache-2.0
// The service worker (scope /wallet/): precaches every file of this build on install, answers the
// app's own files from that cache (so the app opens in airplane mode), and leaves everything else,
// the API above all, to the network: codes, balances and credentials are never served from a cache.
// A new build has a new version, hence a new cache; the old one is deleted on activation.

declare const __WALLET_VERSION__: string;
declare const __WALLET_PRECACHE__: string[];

/** The parts of the service worker global scope used here (the DOM lib does not describe it). */
interface SwScope {
  location: Location;
  caches: CacheStorage;
  registration: { scope: string };
  clients: { claim(): Promise<void> };
  skipWaiting(): Promise<void>;
  addEventListener(type: 'install' | 'activate', fn: (e: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', fn: (e: FetchEvent) => void): void;
}
interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  request: Request;
  respondWith(r: Promise<Response>): void;
}

const sw = self as unknown as SwScope;
const CACHE = `kioskpay-wallet-${__WALLET_VERSION__}`;
const scope = new URL(sw.registration.scope);
/** URLs of the shell, with the scope itself standing for index.html. */
const SHELL = new Set([scope.href, ...__WALLET_PRECACHE__.map((f) => new URL(f, scope).href)]);

sw.addEventListener('install', (e) => {
  e.waitUntil(
    (async () => {
      const cache = await sw.caches.open(CACHE);
      // cache: 'reload' skips the HTTP cache, so the files are this build's, not an older copy.
      await cache.addAll([...SHELL].map((url) => new Request(url, { cache: 'reload' })));
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener('activate', (e) => {
  e.waitUntil(
    (async () => {
      for (const name of await sw.caches.keys()) if (name.startsWith('kioskpay-wallet-') && name !== CACHE) await sw.caches.delete(name);
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  url.search = '';
  // Navigations inside the scope get the app shell (index.html), whatever query they carry.
  const key = req.mode === 'navigate' && url.href.startsWith(scope.href) ? scope.href : url.href;
  if (!SHELL.has(key)) return;
  e.respondWith(
    (async () => {
      const cache = await sw.caches.open(CACHE);
      const hit = await cache.match(key);
      return hit ?? fetch(req);
    })(),
  );
});
