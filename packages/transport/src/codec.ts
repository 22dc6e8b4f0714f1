import { asEnvelope, type Envelope, ErrorCodes, RowshardError } from '@rowshard/core';
import { Packr, Unpackr } from 'msgpackr';

/**
 * msgpack with msgpackr's typed-array extension (`moreTypes`): a Float32Array goes out as its
 * raw bytes and comes back as a new, aligned Float32Array. That decode is one memcpy per
 * payload; the alternative (a `bin` viewed in place) sits at whatever byte offset the frame
 * had and often cannot be viewed as floats without the same copy. bench/ps measures it.
 *
 * Packr output shares an ArrayBuffer with other frames: it may be sent on a socket but never
 * put in a worker transferList.
 */
export class FrameCodec {
  private readonly packr = new Packr({ moreTypes: true, useRecords: false, useFloat32: 0 });
  private readonly unpackr = new Unpackr({ moreTypes: true, useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

  encode(message: Envelope | Record<string, unknown>): Buffer {
    return this.packr.pack(message);
  }

  /** Decodes a frame and checks its envelope; any failure is E_BAD_REQUEST. */
  decode(frame: Uint8Array): Envelope {
    let value: unknown;
    try {
      value = this.unpackr.unpack(frame);
    } catch (e) {
      throw new RowshardError(ErrorCodes.BAD_REQUEST, `frame is not valid msgpack: ${(e as Error).message}`);
    }
    return asEnvelope(value);
  }
}
