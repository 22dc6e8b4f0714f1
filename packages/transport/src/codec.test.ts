import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { FrameCodec } from './codec.js';

describe('FrameCodec', () => {
  const message = {
    v: 1,
    type: 'push',
    id: 3,
    tables: [
      { table: 't', ids: Uint32Array.of(7, 1), grads: Float32Array.of(0.5, -1, 2, 3), lr: 0.1 },
      { table: 'h', ids: BigUint64Array.of(2n ** 63n + 5n) },
    ],
    params: { w: Float64Array.of(1.5), n: Int32Array.of(-4) },
  };

  it('round-trips typed arrays of every kind inside maps and lists', () => {
    const codec = new FrameCodec();
    const { frame } = codec.encode(message);
    const back = codec.decode(frame) as unknown as typeof message;
    expect(back).toEqual(message);
    expect(back.tables[0].grads).toBeInstanceOf(Float32Array);
    expect(back.tables[1].ids).toBeInstanceOf(BigUint64Array);
  });

  it('encodes an envelope around a body as the same bytes as the spread { ...body, v, type, id }', () => {
    const bodies: unknown[] = [
      { rows: Float32Array.of(1, 2), n: 3 },
      { type: 'mine', id: -1, v: 9, x: 'kept' }, // the envelope's fields win, in the body's places
      { '~ta': 'a name', '~': Int32Array.of(4), later: undefined, 0: 'digit key' },
      { nested: [{ ids: Uint32Array.of(1) }, null], empty: {} },
      {},
      undefined,
      null,
    ];
    for (const body of bodies) {
      const a = new FrameCodec().encodeEnvelope(body, 'result', 42).frame;
      const b = new FrameCodec().encode({ ...(body as object), v: 1, type: 'result', id: 42 }).frame;
      expect(Buffer.compare(a, b), JSON.stringify(body) ?? String(body)).toBe(0);
    }
  });

  it('reads arrays in place from an aligned frame, and copies them from an unaligned one', () => {
    const codec = new FrameCodec();
    const { frame } = codec.encode(message);
    const aligned = new Uint8Array(new ArrayBuffer(frame.length));
    aligned.set(frame);
    const inPlace = codec.decode(aligned) as unknown as typeof message;
    expect(inPlace.tables[0].grads.buffer).toBe(aligned.buffer);
    const shifted = new Uint8Array(frame.length + 1).subarray(1);
    shifted.set(frame);
    const copied = codec.decode(shifted) as unknown as typeof message;
    expect(copied.tables[0].grads.buffer).not.toBe(shifted.buffer);
    expect(copied).toEqual(message);
  });

  it('reuses a released frame for the next message, and never one still in use', () => {
    const codec = new FrameCodec();
    const first = codec.encode(message);
    const second = codec.encode(message);
    expect(second.frame.buffer).not.toBe(first.frame.buffer);
    first.release();
    expect(codec.encode(message).frame.buffer).toBe(first.frame.buffer);
  });

  it('sends nothing of an earlier frame in the gaps of a reused one', () => {
    const codec = new FrameCodec();
    const first = codec.encode({ v: 1, type: 'x', id: 1, a: new Uint8Array(100).fill(0xee) });
    first.release();
    // A 1-byte section: the 7 bytes after it, up to the next 8-aligned section, are padding.
    const { frame } = codec.encode({ v: 1, type: 'x', id: 2, a: Uint8Array.of(1), b: Uint8Array.of(2) });
    expect(frame.buffer).toBe(first.frame.buffer);
    expect(frame.includes(0xee)).toBe(false);
  });

  it('refuses a reference outside the frame or of an unknown kind, and too deep a message', () => {
    const codec = new FrameCodec();
    // The encoder escapes a `~ta` key of the message, so a forged reference is packed by hand.
    const forged = (ref: unknown) => {
      const header = new Packr({ useRecords: false }).pack({ v: 1, type: 'pull', id: 1, x: { '~ta': ref } });
      const frame = Buffer.alloc(Math.ceil((4 + header.length) / 8) * 8 + 8);
      frame.writeUInt32LE(header.length, 0);
      frame.set(header, 4);
      return frame;
    };
    expect(() => codec.decode(forged([0, 4096, 4]))).toThrow(/outside the frame/);
    expect(() => codec.decode(forged([99, 0, 1]))).toThrow(/malformed array reference/);
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(() => codec.encode({ v: 1, type: 'x', id: 1, deep })).toThrow(/deeper than/);
    expect(() => codec.decode(Uint8Array.of(1, 2))).toThrow(/shorter than its header length/);
    // A map of the message with a key like the marker is still a map.
    const named = { v: 1, type: 'x', id: 1, params: { '~ta': Float32Array.of(1), '~~ta': [0, 0, 1], '~': 2 } };
    expect(codec.decode(codec.encode(named).frame)).toEqual(named);
  });
});
