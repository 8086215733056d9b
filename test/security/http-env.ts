// SPDX-License-Identifier: Apache-2.0
// The wallet HTTP API (server/http/wallet-http.ts) over the server world, on port 0: the place where
// wallet tokens are presented, and so where they can be guessed.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWalletHttpServer } from '../../server/http/wallet-http.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import { startServerEnv, type ServerEnv } from './server-env.ts';

export interface HttpAnswer {
  status: number;
  code: ErrorCode | null;
}

export interface HttpEnv extends ServerEnv {
  /** One request; `code` is the typed error code of a refusal, null on success. */
  call(method: string, path: string, token?: string, body?: unknown): Promise<HttpAnswer>;
}

export async function startHttpEnv(): Promise<HttpEnv> {
  const server = await startServerEnv();
  const http: Server = createWalletHttpServer(server.w.ctx);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    ...server,
    async call(method, path, token, body) {
      const res = await fetch(base + path, {
        method,
        headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const json = (await res.json()) as { error?: { code?: ErrorCode } };
      return { status: res.status, code: json.error?.code ?? null };
    },
    async close() {
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await server.close();
    },
  };
}
