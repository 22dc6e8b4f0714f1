import { coordinatorProtocol, decodeRequest, type Envelope, ErrorCodes, psProtocol, RowshardError } from '@rowshard/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameCodec } from './codec.js';

/**
 * Property-based fuzzing of the frame codec (issue 12, "Hardening"): whatever bytes arrive,
 * `decode` returns an envelope or throws E_BAD_REQUEST, and a decoded envelope then goes
 * through a protocol's decoder to a request or another E_BAD_REQUEST, never a TypeError,
 * RangeError or stack overflow, and the codec decodes the next good frame as before. Inputs
 * are random bytes, msgpack built token by token (lying lengths, every extension type
 * msgpackr knows, forged array references) and valid frames with bytes overwritten.
 *
 * Fixed seed; ROWSHARD_FUZZ_SEED and ROWSHARD_FUZZ_RUNS (a multiplier) explore further.
 */
const SEED = Number(process.env.ROWSHARD_FUZZ_SEED ?? 0x5eed12);
const RUNS = Number(process.env.ROWSHARD_FUZZ_RUNS ?? 1);
const params = (numRuns: number) => ({ seed: SEED, numRuns: numRuns * RUNS });

const codec = new FrameCodec();
const known = { v: 1, type: 'pull', id: 9, tables: [{ table: 't', ids: Uint32Array.of(3, 1) }], step: 4 };
const knownFrame = Uint8Array.from(codec.encode(known).frame);

/** What a server does with a frame: decode it, then decode the request; only typed refusals. */
function receive(frame: Uint8Array): void {
  let envelope: Envelope;
  try {
    envelope = codec.decode(frame);
  } catch (e) {
    expect(e).toBeInstanceOf(RowshardError);
    expect((e as RowshardError).code).toBe(ErrorCodes.BAD_REQUEST);
    return;
  }
  for (const [name, protocol] of [
    ['parameter server', psProtocol],
    ['coordinator', coordinatorProtocol],
  ] as const) {
    try {
      decodeRequest(protocol, name, envelope);
    } catch (e) {
      if (!(e instanceof RowshardError)) throw new Error(`decodeRequest threw ${(e as Error)?.constructor?.name}: ${e}`);
      expect(e.code).toBe(ErrorCodes.BAD_REQUEST);
    }
  }
}

/** After any frame, the shared codec still decodes a good one. */
function stillDecodes(): void {
  expect(codec.decode(knownFrame)).toEqual(known);
}

// ---- msgpack, token by token ---------------------------------------------------------------

const u8 = fc.integer({ min: 0, max: 255 });
const be = (n: number, bytes: number) => Array.from({ length: bytes }, (_, i) => Math.floor(n / 256 ** (bytes - 1 - i)) % 256);
/** A length: usually the true one, sometimes off by a little or wildly. */
const lengthFor = (actual: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(actual) },
    { weight: 1, arbitrary: fc.integer({ min: Math.max(0, actual - 2), max: actual + 2 }) },
    { weight: 1, arbitrary: fc.constantFrom(0xff, 0xffff, 0xffffffff, 0x7fffffff) },
  );
const utf8 = (s: string) => Array.from(Buffer.from(s));
const packString = (s: string) => {
  const b = utf8(s);
  return b.length < 32 ? [0xa0 | b.length, ...b] : [0xd9, b.length, ...b];
};
const KEYS = [
  'v',
  'type',
  'id',
  'tables',
  'table',
  'ids',
  'grads',
  'rows',
  'step',
  'rank',
  'epoch',
  'push',
  'pull',
  '~ta',
  '__proto__',
  'constructor',
];
/** Extension types msgpackr decodes (bigint, error, structured-clone id and pointer, record, set, typed array, regexp, bundle, date) and others. */
const EXT_TYPES = [0x00, 0x42, 0x65, 0x69, 0x70, 0x72, 0x73, 0x74, 0x78, 0x62, 0xff, 0x01, 0x7f];

const scalar: fc.Arbitrary<number[]> = fc.oneof(
  fc.constantFrom<number[]>([0xc0], [0xc2], [0xc3], [0xc1]),
  u8.map((b) => (b < 0x80 || b >= 0xe0 ? [b] : [b & 0x7f])),
  fc
    .tuple(
      fc.constantFrom(0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xca, 0xcb),
      fc.array(u8, { minLength: 8, maxLength: 8 }),
    )
    .map(([tag, bytes]) => [
      tag,
      ...bytes.slice(0, { 204: 1, 205: 2, 206: 4, 207: 8, 208: 1, 209: 2, 210: 4, 211: 8, 202: 4, 203: 8 }[tag]),
    ]),
  fc.constantFrom(...KEYS).map(packString),
  fc.string({ unit: 'binary', maxLength: 40 }).map(packString),
  // str / bin with a length that may lie
  fc
    .tuple(fc.constantFrom(0xd9, 0xda, 0xdb, 0xc4, 0xc5, 0xc6), fc.array(u8, { maxLength: 20 }))
    .chain(([tag, bytes]) =>
      lengthFor(bytes.length).map((n) => [
        tag,
        ...be(n, tag === 0xd9 || tag === 0xc4 ? 1 : tag === 0xda || tag === 0xc5 ? 2 : 4),
        ...bytes,
      ]),
    ),
  // fixext 1/2/4/8/16 and ext 8
  fc
    .tuple(
      fc.constantFrom(0xd4, 0xd5, 0xd6, 0xd7, 0xd8),
      fc.constantFrom(...EXT_TYPES),
      fc.array(u8, { minLength: 16, maxLength: 16 }),
    )
    .map(([tag, type, data]) => [tag, type, ...data.slice(0, 2 ** (tag - 0xd4))]),
  fc
    .tuple(fc.constantFrom(...EXT_TYPES), fc.array(u8, { maxLength: 24 }))
    .chain(([type, data]) => lengthFor(data.length).map((n) => [0xc7, n % 256, type, ...data])),
);

/** A forged typed-array reference `{"~ta": [kind, offset, length]}`. */
const reference = fc
  .tuple(
    fc.oneof(fc.integer({ min: -1, max: 8 }), fc.constantFrom(0.5, 2 ** 53, NaN)),
    fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(-8, 1, 3, 2 ** 40)),
    fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constantFrom(-1, 2 ** 31, 2 ** 53)),
  )
  .map((triple) => {
    const num = (x: number) =>
      Number.isInteger(x) && x >= 0 && x < 2 ** 32
        ? [0xce, ...be(x, 4)]
        : Number.isInteger(x) && x < 0 && x >= -128
          ? [0xd0, x & 0xff]
          : [0xcb, ...Array.from(new Uint8Array(Float64Array.of(x).buffer).reverse())];
    return [0x81, ...packString('~ta'), 0x93, ...triple.flatMap(num)];
  });

const { value: msgpackValue } = fc.letrec<{ value: number[] }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: scalar },
    { weight: 1, arbitrary: reference },
    {
      weight: 2,
      arbitrary: fc
        .array(tie('value'), { maxLength: 4 })
        .chain((items) => lengthFor(items.length).map((n) => [...(n < 16 ? [0x90 | n] : [0xdd, ...be(n, 4)]), ...items.flat()])),
    },
    {
      weight: 2,
      arbitrary: fc
        .array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS).map(packString), tie('value')), tie('value')), { maxLength: 4 })
        .chain((entries) =>
          lengthFor(entries.length).map((n) => [...(n < 16 ? [0x80 | n] : [0xdf, ...be(n, 4)]), ...entries.flat(2)]),
        ),
    },
  ),
}));

/** An envelope-shaped header (so a good share of frames reach the request decoders) or any value. */
const header = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...Object.keys(psProtocol), ...Object.keys(coordinatorProtocol), 'nope'),
      fc.nat(),
      fc.array(fc.tuple(fc.constantFrom(...KEYS), msgpackValue), { maxLength: 4 }),
    )
    .map(([type, id, fields]) => [
      0xde,
      ...be(3 + fields.length, 2),
      ...packString('v'),
      1,
      ...packString('type'),
      ...packString(type),
      ...packString('id'),
      0xce,
      ...be(id % 2 ** 32, 4),
      ...fields.flatMap(([key, value]) => [...packString(key), ...value]),
    ]),
  msgpackValue,
);

/** [u32 LE header length][header][padding][sections]: lengths and sections may lie. */
const frame = fc.tuple(header, fc.array(u8, { maxLength: 64 }), fc.nat(7)).chain(([head, sections, pad]) =>
  lengthFor(head.length).map((n) => {
    const out = new Uint8Array(4 + head.length + pad + sections.length);
    new DataView(out.buffer).setUint32(0, n, true);
    out.set(head, 4);
    out.set(sections, 4 + head.length + pad);
    return out;
  }),
);

/** Where a frame sits in memory: 8-aligned (arrays read in place) or not (one copy). */
function placed(bytes: Uint8Array, offset: number): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(bytes.length + offset), offset, bytes.length);
  out.set(bytes);
  return out;
}

// ---- Valid messages ------------------------------------------------------------------------

const typedArray = fc.oneof(
  fc.float32Array({ maxLength: 5 }),
  fc.float64Array({ maxLength: 5 }),
  fc.int32Array({ maxLength: 5 }),
  fc.uint32Array({ maxLength: 5 }),
  fc.bigUint64Array({ maxLength: 3 }),
  fc.bigInt64Array({ maxLength: 3 }),
  fc.uint8Array({ maxLength: 9 }),
);
/**
 * Map keys: any string, and the codec's own marker and names like it. `__proto__` is left
 * out: an own `__proto__` key does not survive a JavaScript object spread, let alone msgpack
 * (msgpackr renames it), and the message decoders refuse it anyway.
 */
const key = fc
  .oneof(fc.string({ maxLength: 6 }), fc.constantFrom('~ta', '~', '~~ta', '~x', 'constructor'))
  .filter((k) => k !== '__proto__');
const { value: messageValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    // msgpack carries -0 as the integer 0; typed arrays keep their bytes, -0 included.
    fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.maxSafeInteger(),
      fc.double().map((x) => (Object.is(x, -0) ? 0 : x)),
    ),
    fc.string({ unit: 'binary', maxLength: 10 }),
    typedArray,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  ),
}));
const message = fc
  .tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.nat(), fc.dictionary(key, messageValue, { maxKeys: 5 }))
  .map(([type, id, body]) => ({ ...body, v: 1, type, id }));

/**
 * The requests that carry bulk data, valid. (Every message kind is generated and decoded in
 * packages/core/src/wire/schema.fuzz.test.ts; this is the same path with the codec in it.)
 */
const ids = fc.oneof(
  fc.int32Array({ maxLength: 6 }),
  fc.uint32Array({ maxLength: 6 }),
  fc.float64Array({ maxLength: 6 }),
  fc.bigUint64Array({ maxLength: 6 }),
);
const table = fc.string({ minLength: 1, maxLength: 8 });
const uint = fc.oneof(fc.nat(100), fc.maxSafeNat());
const pullPart = fc.record({ table, ids });
const pushPart = fc
  .tuple(table, ids, fc.nat(3), fc.double({ min: 0, max: 10, noNaN: true }), fc.integer({ min: 1, max: 2 ** 40 }))
  .chain(([table, ids, dim, lr, step]) =>
    fc
      .float32Array({ minLength: ids.length * dim, maxLength: ids.length * dim })
      .map((grads) => ({ table, ids, grads, lr, step })),
  );
const epoch = fc.option(uint, { nil: undefined });
const request = fc.oneof(
  fc.record({
    type: fc.constant('pull'),
    tables: fc.array(pullPart, { maxLength: 3 }),
    step: fc.option(uint, { nil: undefined }),
    epoch,
  }),
  fc.record({ type: fc.constant('push'), tables: fc.array(pushPart, { maxLength: 3 }), step: uint, rank: uint, epoch }),
  fc.record({
    type: fc.constant('push_pull'),
    push: fc.array(pushPart, { maxLength: 3 }),
    pull: fc.array(pullPart, { maxLength: 3 }),
    step: uint,
    rank: uint,
    epoch,
  }),
  fc.record({
    type: fc.constant('dense_step'),
    step: uint,
    rank: uint,
    epoch,
    grads: fc.dictionary(
      fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__'),
      fc.float32Array({ maxLength: 6 }),
      { maxKeys: 3 },
    ),
    loss: fc.double().map((x) => (Object.is(x, -0) ? 0 : x)),
    examples: uint,
  }),
);

describe('FrameCodec (property-based)', () => {
  it('a valid pull, push, push_pull or dense_step goes through the codec and its decoder unchanged', () => {
    fc.assert(
      fc.property(request, fc.nat(), fc.nat(7), ({ type, ...body }, id, offset) => {
        const protocol = type === 'dense_step' ? coordinatorProtocol : psProtocol;
        const encoded = codec.encode({ ...body, v: 1, type, id });
        const bytes = placed(encoded.frame, offset);
        encoded.release();
        const got = decodeRequest(protocol, 'test', codec.decode(bytes));
        expect(got.type).toBe(type);
        expect(got.request).toEqual(Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)));
      }),
      params(500),
    );
  });

  it('any message of maps, lists, scalars and typed arrays round-trips, wherever the frame sits in memory', () => {
    fc.assert(
      fc.property(message, fc.nat(7), (m, offset) => {
        const encoded = codec.encode(m);
        const bytes = placed(encoded.frame, offset);
        encoded.release(); // the next encode may reuse the block: the copy must not care
        expect(codec.decode(bytes)).toEqual(m);
      }),
      params(500),
    );
  });

  it('random bytes are decoded or refused with E_BAD_REQUEST', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 128 }), (bytes) => {
        receive(bytes);
        stillDecodes();
      }),
      params(300),
    );
  });

  it('msgpack headers built token by token (lying lengths, extensions, forged references) are decoded or refused', () => {
    fc.assert(
      fc.property(frame, fc.nat(7), (bytes, offset) => {
        receive(placed(bytes, offset));
        stillDecodes();
      }),
      params(1000),
    );
  });

  it('valid frames with bytes overwritten, cut short or extended are decoded or refused', () => {
    const damage = fc.record({
      writes: fc.array(fc.tuple(fc.nat(), u8), { minLength: 1, maxLength: 4 }),
      cut: fc.option(fc.nat()),
      extra: fc.uint8Array({ maxLength: 8 }),
    });
    fc.assert(
      fc.property(message, damage, fc.nat(7), (m, { writes, cut, extra }, offset) => {
        const encoded = codec.encode(m);
        let bytes = Uint8Array.from(encoded.frame);
        encoded.release();
        for (const [at, b] of writes) bytes[at % bytes.length] = b;
        if (cut !== null) bytes = bytes.subarray(0, cut % (bytes.length + 1));
        bytes = Uint8Array.from([...bytes, ...extra]);
        receive(placed(bytes, offset));
        stillDecodes();
      }),
      params(500),
    );
  });

  it('a header that shares one value between places (msgpack structured-clone pointers) is refused', () => {
    // [[1], [p0, p0], [p1, p1], ...]: each entry points twice at the one before it. Followed
    // pointer by pointer, as resolving the typed arrays did, that is 2^n visits for n entries:
    // a frame under 1 KB held the event loop for minutes.
    const n = 20;
    const id = (k: number) => [0xd6, 0x69, ...be(k, 4)];
    const pointer = (k: number) => [0xd6, 0x70, ...be(k, 4)];
    const entries = [...id(0), 0x91, 1];
    for (let k = 1; k < n; k++) entries.push(...id(k), 0x92, ...pointer(k - 1), ...pointer(k - 1));
    const head = [0x84, ...packString('v'), 1, ...packString('type'), ...packString('ping'), ...packString('id'), 1];
    head.push(...packString('x'), 0xdc, ...be(n, 2), ...entries);
    const bytes = new Uint8Array(4 + head.length);
    new DataView(bytes.buffer).setUint32(0, head.length, true);
    bytes.set(head, 4);
    expect(() => codec.decode(bytes)).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_REQUEST }));
    stillDecodes();
  });

  it('a `__proto__` key in a frame sets no prototype', () => {
    const head = [0x84, ...packString('v'), 1, ...packString('type'), ...packString('ping'), ...packString('id'), 1];
    head.push(...packString('__proto__'), 0x81, ...packString('polluted'), 0xc3);
    const bytes = new Uint8Array(4 + head.length);
    new DataView(bytes.buffer).setUint32(0, head.length, true);
    bytes.set(head, 4);
    const got = codec.decode(bytes) as unknown as Record<string, unknown>;
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(got.polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(() => decodeRequest(psProtocol, 'parameter server', got as Envelope)).toThrow(/__proto_/);
  });
});
