// SPDX-License-Identifier: Apache-2.0
// SseHub against fake responses: a backed-up stream skips frames and gets the latest one when it
// drains, one backed up past its limit is dropped, the cap holds, and close() ends every stream.
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { SseHub } from './sse-hub.ts';
import { ManualTimers } from './web-test-kit.ts';

class FakeResponse extends EventEmitter {
  readonly written: string[] = [];
  status = 0;
  writableNeedDrain = false;
  writableLength = 0;
  ended = false;
  destroyed = false;
  writeHead(status: number): this {
    this.status = status;
    return this;
  }
  write(chunk: string): boolean {
    this.written.push(chunk);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  get frames(): string[] {
    return this.written.filter((w) => w.startsWith('data: '));
  }
}

function hub(timers = new ManualTimers(), clientsMax = 4): SseHub {
  return new SseHub({ clientsMax, pushIntervalMs: 33, heartbeatMs: 15_000, retryMs: 1_000, clientBufferBytesMax: 1_000, timers });
}
const asRes = (f: FakeResponse) => f as unknown as ServerResponse;

describe('SseHub', () => {
  it('tells the browser its retry delay, then sends the latest frame to a new stream', () => {
    const h = hub();
    h.publish('{"n":1}');
    const res = new FakeResponse();
    expect(h.add(asRes(res))).toBe(true);
    expect(res.status).toBe(200);
    expect(res.written).toEqual(['retry: 1000\n\n', 'data: {"n":1}\n\n']);
  });

  it('skips frames for a backed-up stream and sends it the latest one when it drains', () => {
    const timers = new ManualTimers();
    const h = hub(timers);
    const res = new FakeResponse();
    h.add(asRes(res));
    res.writableNeedDrain = true;
    h.publish('{"n":1}');
    timers.fire(33);
    h.publish('{"n":2}');
    timers.fire(33);
    expect(res.frames).toEqual([]);
    res.writableNeedDrain = false;
    res.emit('drain');
    expect(res.frames).toEqual(['data: {"n":2}\n\n']);
  });

  it('drops a stream backed up past its buffer limit', () => {
    const h = hub();
    const res = new FakeResponse();
    h.add(asRes(res));
    res.writableNeedDrain = true;
    res.writableLength = 1_001;
    h.publish('{"n":1}');
    expect(res.destroyed).toBe(true);
  });

  it('refuses streams beyond its cap and frees a slot when one closes', () => {
    const h = hub(new ManualTimers(), 2);
    const a = new FakeResponse();
    expect(h.add(asRes(a))).toBe(true);
    expect(h.add(asRes(new FakeResponse()))).toBe(true);
    const refused = new FakeResponse();
    expect(h.add(asRes(refused))).toBe(false);
    expect(refused.status).toBe(0);
    a.emit('close');
    expect(h.size).toBe(1);
    expect(h.add(asRes(new FakeResponse()))).toBe(true);
  });

  it('ends every stream, stops its timers and takes nothing more after close', () => {
    const timers = new ManualTimers();
    const h = hub(timers);
    const res = new FakeResponse();
    h.add(asRes(res));
    h.publish('{"n":1}');
    h.close();
    expect(res.ended).toBe(true);
    expect(timers.pending(33) + timers.pending(15_000)).toBe(0);
    expect(h.add(asRes(new FakeResponse()))).toBe(false);
  });
});
