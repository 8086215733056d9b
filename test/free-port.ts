// SPDX-License-Identifier: Apache-2.0
// A free TCP port, for the few processes that cannot listen on port 0 and tell us where they are:
// Mosquitto (its port is in its config file), and a broker or server that a test restarts and its
// clients must find again where it was. Everything of ours that can listen on 0 does.
import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 free a moment ago: listens on 0, reads the port, closes. Another process
 * could take it before ours binds (the kernel hands ephemeral ports out at random, so this is rare);
 * the process started on it then fails to listen, loudly.
 */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
