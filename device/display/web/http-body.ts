// SPDX-License-Identifier: Apache-2.0
// Request bodies for the web screen's POST routes: the media type is checked before a byte is read
// (a cross-site HTML form can send only text/plain, urlencoded or multipart, so demanding JSON or PNG
// keeps other pages from driving the kiosk), the size is capped by the declared length and again
// while reading, and JSON is parsed and validated with a zod schema. Every failure is a
// WebScreenError, never a throw of anything else.
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { WebScreenError } from './web-errors.ts';

/** The media type of a request, lower-cased and without parameters (`application/json; charset=utf-8` -> `application/json`). */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

export function requireMediaType(req: IncomingMessage, type: string): void {
  if (mediaType(req) !== type) throw new WebScreenError('UNSUPPORTED_MEDIA_TYPE', `send the body as ${type}`);
}

/** Reads the whole body, at most `bytesMax` bytes. */
export async function readBody(req: IncomingMessage, bytesMax: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > bytesMax)
    throw new WebScreenError('BODY_TOO_LARGE', `the body may be at most ${bytesMax} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > bytesMax) throw new WebScreenError('BODY_TOO_LARGE', `the body may be at most ${bytesMax} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks, size);
}

/** Reads, parses and validates a JSON body. */
export async function readJson<T>(req: IncomingMessage, schema: z.ZodType<T>, bytesMax: number): Promise<T> {
  requireMediaType(req, 'application/json');
  const raw = await readBody(req, bytesMax);
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new WebScreenError('MALFORMED_JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WebScreenError('INVALID_BODY', issue ? `${issue.path.join('.') || '(body)'}: ${issue.message}` : 'invalid body');
  }
  return parsed.data;
}
