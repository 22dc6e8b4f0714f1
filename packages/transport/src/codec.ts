import { asEnvelope, type Envelope, ErrorCodes, PROTOCOL_VERSION, RowshardError } from '@rowshard/core';
import { Packr, Unpackr } from 'msgpackr';

/**
 * The frame format: a msgpack header (the message, every typed array in it replaced by a
 * reference) followed by the typed arrays' raw bytes, each section 8-byte aligned:
 *
 *   [u32 LE: header bytes][msgpack header][padding to 8][section 0][padding][section 1]...
 *
 * A reference is `{"~ta": [kind, offset, length]}` (offset in bytes from the first section,
 * length in elements); so that no map of the message can pass for one, a map key that starts
 * with `~` travels with one more `~` in front (a dense parameter named `~ta` stays a name).
 * Bulk data (ids, rows, gradients) is copied once into the frame on the way out and, on the
 * way in, read in place: a decoded Float32Array is a view of the received frame when the
 * frame sits 8-aligned in memory (ws hands each large message its own buffer), and one copy
 * otherwise. msgpackr's own typed-array extension copies every array on
 * decode; bench/ps and bench/train measure the difference.
 *
 * Frames come from a pool and go back to it once the socket has taken them (`release`), so a
 * steady stream of messages allocates nothing.
 */
const KINDS = [Float32Array, Float64Array, Int32Array, Uint32Array, BigUint64Array, BigInt64Array, Uint8Array] as const;
type TypedArray = InstanceType<(typeof KINDS)[number]>;
const REF = '~ta';
const MAX_DEPTH = 32;
const TILDE = 0x7e;

function kindOf(value: unknown): number {
  for (let k = 0; k < KINDS.length; k++) if (value instanceof KINDS[k]) return k;
  return -1;
}

export interface EncodedFrame {
  readonly frame: Buffer;
  /** Gives the frame's memory back to the pool once the socket no longer needs it. */
  release(): void;
}

const pad8 = (n: number) => Math.ceil(n / 8) * 8;

export class FrameCodec {
  private readonly packr = new Packr({ useRecords: false, useFloat32: 0, moreTypes: false });
  // structuredClone: false refuses msgpackr's shared-reference extensions: a header whose
  // values point k times at one another n deep is k^n paths for `resolve` to walk (a frame
  // under 1 KB held the event loop for minutes). Nothing rowshard sends shares a value.
  private readonly unpackr = new Unpackr({
    useRecords: false,
    mapsAsObjects: true,
    int64AsType: 'number',
    moreTypes: false,
    structuredClone: false,
  });
  private readonly pool = new Map<number, Buffer[]>();

  encode(message: Envelope | Record<string, unknown>): EncodedFrame {
    const sections: Section[] = [];
    return this.frame(this.packr.pack(extract(message, sections, 0)), sections);
  }

  /**
   * encode() of the envelope `{ ...body, v, type, id }` (a request, or a result), without the
   * spread: a spread of bodies of many shapes is V8's slow generic copy, 5% of a shard's CPU
   * per small request, and extract() copies the body anyway. The envelope's fields come after
   * the body's and win over any of the same name, as in the spread, so the bytes are the
   * spread's (a body's own `v`, `type` or `id` left undefined would only put that field last).
   */
  encodeEnvelope(body: unknown, type: string, id: number): EncodedFrame {
    // Anything but a plain object (a handler's undefined, say) spreads as the language spreads it.
    if (body === null || typeof body !== 'object' || Array.isArray(body) || ArrayBuffer.isView(body))
      return this.encode({ ...(body as object), v: PROTOCOL_VERSION, type, id });
    const sections: Section[] = [];
    const header = extractFields(body, sections, 0);
    header.v = PROTOCOL_VERSION;
    header.type = type;
    header.id = id;
    return this.frame(this.packr.pack(header), sections);
  }

  /** The frame of a packed header and the sections its references point at. */
  private frame(header: Uint8Array, sections: readonly Section[]): EncodedFrame {
    const dataStart = pad8(4 + header.length);
    const last = sections[sections.length - 1];
    const size = dataStart + (last ? last.offset + last.array.byteLength : 0);
    const capacity = poolSize(size);
    const pooled = this.pool.get(capacity)?.pop();
    const block = pooled ?? Buffer.allocUnsafeSlow(capacity);
    const frame = block.subarray(0, size);
    frame.writeUInt32LE(header.length, 0);
    frame.set(header, 4);
    // The alignment gaps are zeroed: a pooled or unsafe block holds bytes of earlier frames.
    let written = 4 + header.length;
    for (const { array, offset } of sections) {
      frame.fill(0, written, dataStart + offset);
      frame.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), dataStart + offset);
      written = dataStart + offset + array.byteLength;
    }
    frame.fill(0, written, size);
    let released = false;
    return {
      frame,
      release: () => {
        if (released) return;
        released = true;
        const list = this.pool.get(capacity) ?? [];
        if (list.length < pooledFrames(capacity)) list.push(block);
        this.pool.set(capacity, list);
      },
    };
  }

  /** Decodes a frame and checks its envelope; any failure is E_BAD_REQUEST. */
  decode(frame: Uint8Array): Envelope {
    let value: unknown;
    try {
      if (frame.length < 4) throw new Error('frame is shorter than its header length');
      const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      const headerBytes = view.getUint32(0, true);
      if (headerBytes > frame.length - 4) throw new Error(`header of ${headerBytes} bytes in a frame of ${frame.length}`);
      value = this.unpackr.unpack(frame.subarray(4, 4 + headerBytes));
      value = resolve(value, frame.subarray(pad8(4 + headerBytes)), 0);
    } catch (e) {
      throw new RowshardError(ErrorCodes.BAD_REQUEST, `frame is not valid: ${(e as Error).message}`);
    }
    return asEnvelope(value);
  }
}

/**
 * Frames kept per size: 8, but no more than 32 MiB of one size, so a burst of huge replies
 * (a peer that stopped reading) does not stay held after it is over.
 */
function pooledFrames(capacity: number): number {
  return Math.max(1, Math.min(8, Math.floor((32 << 20) / capacity)));
}

function poolSize(n: number): number {
  let size = 4096;
  while (size < n) size *= 2;
  return size;
}

interface Section {
  readonly array: TypedArray;
  /** Bytes from the first section, 8-aligned. */
  readonly offset: number;
}

/** The message with each typed array replaced by a reference to its section. */
function extract(value: unknown, sections: Section[], depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) throw new Error(`message nests deeper than ${MAX_DEPTH}`);
  if (ArrayBuffer.isView(value)) {
    const kind = kindOf(value);
    if (kind < 0) throw new Error(`cannot send a ${value.constructor.name}`);
    const array = value as TypedArray;
    const last = sections[sections.length - 1];
    const offset = last ? pad8(last.offset + last.array.byteLength) : 0;
    sections.push({ array, offset });
    return { [REF]: [kind, offset, array.length] };
  }
  if (Array.isArray(value)) return value.map((v) => extract(v, sections, depth + 1));
  return extractFields(value, sections, depth);
}

/** extract() of a map: a new object of its defined fields, `~` keys escaped. */
function extractFields(value: object, sections: Section[], depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key.charCodeAt(0) === TILDE ? `~${key}` : key] = extract(v, sections, depth + 1);
  }
  return out;
}

/** The decoded header with references replaced by typed arrays over the frame's sections (`frame`: from the first section). */
function resolve(value: unknown, frame: Uint8Array, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) throw new Error(`message nests deeper than ${MAX_DEPTH}`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = resolve(value[i], frame, depth + 1);
    return value;
  }
  const obj = value as Record<string, unknown>;
  const ref = obj[REF];
  if (ref !== undefined) return section(ref, frame);
  let escaped: [string, unknown][] | null = null;
  for (const key of Object.keys(obj)) {
    const v = resolve(obj[key], frame, depth + 1);
    if (key.charCodeAt(0) !== TILDE) obj[key] = v;
    else {
      (escaped ??= []).push([key.slice(1), v]);
      delete obj[key];
    }
  }
  // Escaped keys (see above) are renamed once all are read: `~~~a` (sent for `~~a`) becomes
  // `~~a`, which may be another key still to read (sent for `~a`). defineProperty keeps even
  // a forged `__proto__` a plain own key, which the message decoders then refuse.
  if (escaped)
    for (const [name, v] of escaped)
      Object.defineProperty(obj, name, { value: v, enumerable: true, writable: true, configurable: true });
  return obj;
}

function section(ref: unknown, frame: Uint8Array): TypedArray {
  if (!Array.isArray(ref) || ref.length !== 3) throw new Error('malformed array reference');
  const [kind, offset, length] = ref as number[];
  const Kind = KINDS[kind];
  if (!Kind || !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new Error('malformed array reference');
  }
  const bytes = length * Kind.BYTES_PER_ELEMENT;
  if (offset % 8 !== 0 || offset + bytes > frame.length) throw new Error('array reference outside the frame');
  const at = frame.byteOffset + offset;
  if (at % Kind.BYTES_PER_ELEMENT === 0) return new Kind(frame.buffer as ArrayBuffer, at, length) as TypedArray;
  // The frame sits unaligned in memory: one copy into an aligned array (Uint8Array's slice
  // copies; a Buffer's would not).
  const copy = Uint8Array.prototype.slice.call(frame, offset, offset + bytes);
  return new Kind(copy.buffer, 0, length) as TypedArray;
}
