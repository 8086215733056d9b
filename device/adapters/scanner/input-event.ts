// SPDX-License-Identifier: Apache-2.0
// Linux evdev records (`struct input_event`, linux/input.h) as read from /dev/input/event*:
// a struct timeval (two longs: 16 bytes on 64-bit Linux, 8 on 32-bit), then type u16, code u16 and
// value s32, in the machine's byte order (little-endian on every Pi). A read returns whole records;
// the reader still keeps a partial one so that any byte stream (a FIFO in tests) decodes right.

export const EV_SYN = 0;
export const EV_KEY = 1;
export const EV_MSC = 4;
/** EV_KEY values. */
export const KEY_RELEASE = 0;
export const KEY_PRESS = 1;
export const KEY_REPEAT = 2;

export interface InputEvent {
  type: number;
  code: number;
  value: number;
}

export type InputEventSize = 16 | 24;

/** 24 on 64-bit Linux (arm64, x64), 16 on 32-bit (armhf Raspberry Pi OS). */
export function inputEventSize(arch: string = process.arch): InputEventSize {
  return arch === 'arm' || arch === 'ia32' ? 16 : 24;
}

export class InputEventReader {
  readonly #size: InputEventSize;
  #rest: Buffer = Buffer.alloc(0);

  constructor(size: InputEventSize = inputEventSize()) {
    this.#size = size;
  }

  /** Decodes the whole records in rest + chunk; keeps the tail for the next chunk. */
  push(chunk: Uint8Array): InputEvent[] {
    const buf = this.#rest.length > 0 ? Buffer.concat([this.#rest, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: InputEvent[] = [];
    const time = this.#size - 8;
    let at = 0;
    for (; at + this.#size <= buf.length; at += this.#size) {
      out.push({ type: buf.readUInt16LE(at + time), code: buf.readUInt16LE(at + time + 2), value: buf.readInt32LE(at + time + 4) });
    }
    this.#rest = Buffer.from(buf.subarray(at));
    return out;
  }

  reset(): void {
    this.#rest = Buffer.alloc(0);
  }
}

/** One record as the kernel writes it (for fake devices in tests). */
export function encodeInputEvent(ev: InputEvent, size: InputEventSize = inputEventSize(), timeUs = 0): Buffer {
  const b = Buffer.alloc(size);
  const sec = Math.floor(timeUs / 1e6);
  const usec = timeUs % 1e6;
  if (size === 24) {
    b.writeBigInt64LE(BigInt(sec), 0);
    b.writeBigInt64LE(BigInt(usec), 8);
  } else {
    b.writeInt32LE(sec, 0);
    b.writeInt32LE(usec, 4);
  }
  const time = size - 8;
  b.writeUInt16LE(ev.type, time);
  b.writeUInt16LE(ev.code, time + 2);
  b.writeInt32LE(ev.value, time + 4);
  return b;
}
