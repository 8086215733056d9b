// SPDX-License-Identifier: Apache-2.0
// UnplugBinding under the real @serialport/stream: an unplug must look exactly like hardware.
import { describe, expect, it } from 'vitest';
import { SerialPortStream } from '@serialport/stream';
import { UnplugBinding } from './unplug-binding.ts';

const PATH = '/dev/serial/by-id/usb-Test-if00';

function openStream(binding: UnplugBinding): Promise<SerialPortStream> {
  const port = new SerialPortStream({ binding, path: PATH, baudRate: 9600, autoOpen: false });
  return new Promise((resolve, reject) => port.open((err) => (err ? reject(err) : resolve(port))));
}

describe('UnplugBinding', () => {
  it('delivers data to a flowing stream', async () => {
    const binding = new UnplugBinding();
    binding.createPort(PATH);
    const port = await openStream(binding);
    const got = new Promise<string>((r) => port.once('data', (d: Buffer) => r(d.toString())));
    expect(binding.emitData(PATH, 'hello')).toBe(true);
    expect(await got).toBe('hello');
    await new Promise<void>((r) => port.close(() => r()));
    expect(binding.stats(PATH)).toEqual({ opens: 1, failedOpens: 0, isOpen: false });
  });

  it("unplug makes the stream emit 'close' with err.disconnected === true; open fails until replug", async () => {
    const binding = new UnplugBinding();
    binding.createPort(PATH);
    const port = await openStream(binding);
    port.on('data', () => {});
    const closed = new Promise<unknown>((r) => port.once('close', r));
    binding.unplug(PATH);
    const err = (await closed) as { disconnected?: boolean } | null;
    expect(err?.disconnected).toBe(true);
    expect(binding.emitData(PATH, 'x')).toBe(false);
    await expect(openStream(binding)).rejects.toThrow(/No such file/);
    binding.replug(PATH);
    const again = await openStream(binding);
    expect(again.isOpen).toBe(true);
    expect(binding.stats(PATH)).toEqual({ opens: 2, failedOpens: 1, isOpen: true });
    await new Promise<void>((r) => again.close(() => r()));
  });

  it("hangUp 'zero': reads return zero bytes, so the bare stream just ends and never emits 'close'", async () => {
    const binding = new UnplugBinding();
    binding.createPort(PATH);
    const port = await openStream(binding);
    let closed = false;
    port.on('close', () => (closed = true));
    const ended = new Promise<void>((r) => port.once('end', () => r()));
    port.on('data', () => {});
    binding.hangUp(PATH, 'zero');
    await ended;
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    expect(port.isOpen).toBe(true); // what a scanner relying on 'close' alone never leaves
    expect(await binding.nodeState(PATH)).toEqual({ present: false });
    await new Promise<void>((r) => port.close(() => r()));
  });

  it("hangUp 'never': the read stays pending until our close cancels it", async () => {
    const binding = new UnplugBinding();
    binding.createPort(PATH);
    const port = await openStream(binding);
    port.on('data', () => {});
    binding.hangUp(PATH, 'never');
    binding.emitData(PATH, 'lost');
    await new Promise((r) => setImmediate(r));
    expect(port.isOpen).toBe(true);
    const closed = new Promise<unknown>((r) => port.once('close', r));
    port.close();
    expect(await closed).toBeNull();
    binding.replug(PATH);
    expect(await binding.nodeState(PATH)).toEqual({ present: true, id: `${PATH}#2` });
  });

  it("an ordinary close cancels the pending read (canceled: true) and 'close' carries no error", async () => {
    const binding = new UnplugBinding();
    binding.createPort(PATH);
    const port = await openStream(binding);
    port.on('data', () => {});
    await new Promise((r) => setImmediate(r)); // let a read be pending
    const closed = new Promise<unknown>((r) => port.once('close', r));
    port.close();
    expect(await closed).toBeNull();
  });

  it('refuses a second open of the same path (lock), and an unknown path', async () => {
    const binding = new UnplugBinding();
    binding.createPort(PATH);
    const port = await openStream(binding);
    await expect(openStream(binding)).rejects.toThrow(/lock/);
    await expect(binding.open({ path: '/dev/nope', baudRate: 9600 })).rejects.toThrow(/No such file/);
    await new Promise<void>((r) => port.close(() => r()));
  });

  it('keeps state per instance', async () => {
    const a = new UnplugBinding();
    const b = new UnplugBinding();
    a.createPort(PATH);
    expect(await a.list()).toHaveLength(1);
    expect(await b.list()).toHaveLength(0);
  });
});
