import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT, parseCheckpointManifest } from '../checkpoint/manifest.js';
import { ErrorCodes, RowshardError } from '../errors.js';
import { parsePsConfig } from '../ps-config.js';
import { coordinatorProtocol } from './coordinator-protocol.js';
import { decodeReply, decodeRequest, type ProtocolSchema } from './protocol.js';
import { psProtocol } from './ps-protocol.js';

/**
 * Property-based fuzzing of the message decoders (issue 12, "Hardening"). The protocol is
 * described here a second time, from docs/ARCHITECTURE.md's tables, as a small tree of field
 * kinds that yields both valid messages and their single-field corruptions; the decoders
 * must accept the one and refuse the other, naming the field. A message added to a protocol
 * without a description here fails the first test.
 *
 * Fixed seed; ROWSHARD_FUZZ_SEED and ROWSHARD_FUZZ_RUNS (a multiplier) explore further.
 */
const SEED = Number(process.env.ROWSHARD_FUZZ_SEED ?? 0x5eed12);
const RUNS = Number(process.env.ROWSHARD_FUZZ_RUNS ?? 1);
const params = (numRuns: number) => ({ seed: SEED, numRuns: numRuns * RUNS });

type Leaf =
  | 'uint'
  | 'positiveInt'
  | 'anyNumber'
  | 'finite'
  | 'nonNegativeFinite'
  | 'text'
  | 'nonEmptyText'
  | 'bool'
  | 'f32'
  | 'i32'
  | 'ids';
type Node =
  | { readonly k: Leaf }
  | { readonly k: 'list' | 'record'; readonly item: Node }
  | { readonly k: 'nullable'; readonly inner: Node }
  | {
      readonly k: 'object';
      readonly fields: Readonly<Record<string, Field>>;
      /** Fixes fields that depend on each other (a gradient's length on its ids'). */
      readonly derive?: (v: Record<string, unknown>) => fc.Arbitrary<Record<string, unknown>>;
      /** A corruption across fields: the value with it, and the field the decoder must name. */
      readonly breakAcross?: (v: Record<string, unknown>) => { value: Record<string, unknown>; field: string } | null;
    }
  | {
      readonly k: 'parsed';
      readonly valid: fc.Arbitrary<unknown>;
      readonly bad: readonly unknown[];
      /** What the decoder returns for a valid input (the parser's output). */
      readonly canon: (v: unknown) => unknown;
    };
interface Field {
  readonly node: Node;
  readonly optional?: boolean;
}

const leaf = (k: Leaf): Node => ({ k });
const [uint, positiveInt, anyNumber, finite, nonNegativeFinite, text, nonEmptyText, bool, f32, i32, ids] = (
  [
    'uint',
    'positiveInt',
    'anyNumber',
    'finite',
    'nonNegativeFinite',
    'text',
    'nonEmptyText',
    'bool',
    'f32',
    'i32',
    'ids',
  ] as const
).map(leaf);
const list = (item: Node): Node => ({ k: 'list', item });
const record = (item: Node): Node => ({ k: 'record', item });
const nullable = (inner: Node): Node => ({ k: 'nullable', inner });
const opt = (node: Node): Field => ({ node, optional: true });
const obj = (fields: Record<string, Node | Field>, extra: Partial<Extract<Node, { k: 'object' }>> = {}): Node => ({
  k: 'object',
  fields: Object.fromEntries(Object.entries(fields).map(([key, f]) => [key, 'node' in f ? f : { node: f }])),
  ...extra,
});

// msgpack carries -0 as the integer 0, so scalar numbers are generated without it (typed
// arrays keep their bytes, -0 included).
const noNegZero = (x: number) => (Object.is(x, -0) ? 0 : x);
const safeNat = (min: number) =>
  fc.oneof(
    fc.integer({ min, max: 100 }),
    fc.integer({ min, max: Number.MAX_SAFE_INTEGER }),
    fc.constantFrom(2 ** 32, 2 ** 53 - 1),
  );

function valid(node: Node): fc.Arbitrary<unknown> {
  switch (node.k) {
    case 'uint':
      return safeNat(0);
    case 'positiveInt':
      return safeNat(1);
    case 'anyNumber':
      return fc.double().map(noNegZero);
    case 'finite':
      return fc.double({ noNaN: true, noDefaultInfinity: true }).map(noNegZero);
    case 'nonNegativeFinite':
      return fc.double({ min: 0, max: Number.MAX_VALUE, noNaN: true });
    case 'text':
      return fc.string({ unit: 'binary', maxLength: 12 });
    case 'nonEmptyText':
      return fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
    case 'bool':
      return fc.boolean();
    case 'f32':
      return fc.float32Array({ maxLength: 8 });
    case 'i32':
      return fc.int32Array({ maxLength: 6 });
    case 'ids':
      return fc.oneof(
        fc.int32Array({ maxLength: 6 }),
        fc.uint32Array({ maxLength: 6 }),
        fc.float64Array({ maxLength: 6 }),
        fc.bigUint64Array({ maxLength: 6 }),
      );
    case 'list':
      return fc.array(valid(node.item), { maxLength: 3 });
    case 'record':
      // Names like Object's methods are ordinary names in a record; only __proto__ is refused.
      return fc
        .uniqueArray(
          fc.tuple(
            fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('constructor', 'toString', 'hasOwnProperty', 'valueOf')),
            valid(node.item),
          ),
          { maxLength: 3, selector: ([key]) => key },
        )
        .filter((entries) => entries.every(([key]) => key !== '__proto__'))
        .map((entries) => Object.fromEntries(entries));
    case 'nullable':
      return fc.option(valid(node.inner), { nil: null, freq: 3 });
    case 'object': {
      const model = Object.fromEntries(
        Object.entries(node.fields).map(([key, f]) => [
          key,
          f.optional ? fc.option(valid(f.node), { nil: undefined }) : valid(f.node),
        ]),
      );
      const values = fc
        .record(model)
        .map((v) => Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) as Record<string, unknown>);
      return node.derive ? values.chain(node.derive) : values;
    }
    case 'parsed':
      return node.valid;
  }
}

/** The value the decoder returns: the input, with each parsed field as its parser returns it. */
function expected(node: Node, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  switch (node.k) {
    case 'parsed':
      return node.canon(value);
    case 'nullable':
      return expected(node.inner, value);
    case 'list':
      return (value as unknown[]).map((x) => expected(node.item, x));
    case 'record':
      return Object.fromEntries(Object.entries(value as object).map(([key, x]) => [key, expected(node.item, x)]));
    case 'object':
      return Object.fromEntries(Object.entries(value as object).map(([key, x]) => [key, expected(node.fields[key].node, x)]));
    default:
      return value;
  }
}

// ---- The protocols, from docs/ARCHITECTURE.md ("Protocol") --------------------------------

/** `grads` (push) or `rows` (load) of a whole number of rows per id. */
const wholeRows = (field: 'grads' | 'rows') => ({
  derive: (p: Record<string, unknown>) => {
    const n = (p.ids as ArrayLike<unknown>).length;
    return fc
      .integer({ min: 0, max: 3 })
      .chain((dim) => fc.float32Array({ minLength: n * dim, maxLength: n * dim }))
      .map((values) => ({ ...p, [field]: values }));
  },
  breakAcross: (p: Record<string, unknown>) => {
    const n = (p.ids as ArrayLike<unknown>).length;
    if (n === 1 || (n === 0 && field === 'rows')) return null; // every length is whole rows
    const length = n === 0 ? 1 : n * 2 + 1;
    return { value: { ...p, [field]: new Float32Array(length) }, field };
  },
});
/**
 * A pull part, pooled or not: a pooled one gives each id a bag in [0, bagCount), bagCount at
 * most the ids (ps-protocol.ts). Across fields: a bag per id missing, one out of range, more
 * bags than ids.
 */
const pullPart = obj(
  { table: nonEmptyText, ids, bags: opt(i32), bagCount: opt(uint) },
  {
    derive: (p) => {
      const n = (p.ids as ArrayLike<unknown>).length;
      const { bags: _bags, bagCount: _count, ...rows } = p;
      if (n === 0) return fc.constant(rows);
      return fc.oneof(
        fc.constant(rows),
        fc
          .integer({ min: 1, max: n })
          .chain((bagCount) =>
            fc
              .array(fc.integer({ min: 0, max: bagCount - 1 }), { minLength: n, maxLength: n })
              .map((bags) => ({ ...rows, bags: Int32Array.from(bags), bagCount })),
          ),
      );
    },
    breakAcross: (p) => {
      if (p.bags === undefined) return null;
      const n = (p.ids as ArrayLike<unknown>).length;
      const bags = p.bags as Int32Array;
      const broken = [
        { value: { ...p, bags: Int32Array.from([...bags, 0]) }, field: 'bags' },
        { value: { ...p, bags: bags.map((b, i) => (i === 0 ? (p.bagCount as number) : b)) }, field: 'bags' },
        { value: { ...p, bagCount: n + 1 }, field: 'bagCount' },
      ];
      return broken[n % broken.length];
    },
  },
);
const pushPart = obj({ table: nonEmptyText, ids, grads: f32, lr: nonNegativeFinite, step: positiveInt }, wholeRows('grads'));
const loadPart = obj({ table: nonEmptyText, ids, rows: f32, state: opt(f32) }, wholeRows('rows'));

const manifest = {
  format: CHECKPOINT_FORMAT,
  step: 20,
  createdAt: '2024-01-01T00:00:00.000Z',
  seed: 3,
  numShards: 2,
  tables: [],
  shards: [0, 1].map((shard) => ({ shard, file: `shard-${shard}.safetensors`, bytes: 100, sha256: 'ab', rows: { t: 3 } })),
  dense: { file: 'dense.safetensors', bytes: 10, sha256: 'cd' },
  totalBytes: 210,
  durationMs: 5,
};
const manifestNode: Node = {
  k: 'parsed',
  valid: fc.integer({ min: 0, max: 1000 }).map((step) => ({ ...manifest, step })),
  bad: [{}, 'manifest', [], 7, { ...manifest, format: 'other/1' }, { ...manifest, step: -1 }, { ...manifest, shards: [] }],
  canon: (v) => parseCheckpointManifest(v, 'test'),
};
const psConfig = { shard: 0, numShards: 2, seed: 1, tables: [], sync: 'bsp', workers: 2, stepTimeoutMs: 1000 };
const psConfigNode: Node = {
  k: 'parsed',
  valid: fc.integer({ min: 0, max: 1 }).map((shard) => ({ ...psConfig, shard })),
  bad: [{}, [], 'config', { ...psConfig, shard: 2 }, { ...psConfig, extra: 1 }, { ...psConfig, tables: {} }],
  canon: (v) => parsePsConfig(v),
};
const jobNode: Node = {
  k: 'parsed',
  valid: fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  bad: [[], 'job', 3, true],
  canon: (v) => v,
};
const epoch = opt(uint);
const rowCache = obj({ hits: uint, lookups: uint, maxAge: uint });
const denseParams = { version: uint, params: record(f32) };

type Spec = Record<string, { request: Node; reply: Node }>;
const ps: Spec = {
  pull: { request: obj({ tables: list(pullPart), step: opt(uint), epoch }), reply: obj({ rows: list(f32) }) },
  push: {
    request: obj({ tables: list(pushPart), step: opt(uint), rank: opt(uint), epoch }),
    reply: obj({ rowsUpdated: uint, duplicate: opt(bool) }),
  },
  push_pull: {
    request: obj({ push: list(pushPart), pull: list(pullPart), step: uint, rank: uint, epoch }),
    reply: obj({ rowsUpdated: uint, duplicate: opt(bool), rows: list(f32) }),
  },
  load: { request: obj({ tables: list(loadPart), epoch }), reply: obj({ rowsLoaded: uint }) },
  stats: {
    request: obj({ gc: opt(bool) }),
    reply: obj({
      stats: obj({
        shard: uint,
        numShards: positiveInt,
        tables: record(obj({ rowsMaterialised: uint, bytesUsed: uint, frozen: bool })),
        rowsMaterialised: uint,
        bytesUsed: uint,
        requests: record(uint),
        errors: record(uint),
        rowsPulled: uint,
        rowsPushed: uint,
        bagsPulled: uint,
      }),
      memory: obj({ rss: uint, heapTotal: uint, heapUsed: uint, external: uint, arrayBuffers: uint }),
    }),
  },
  checkpoint: {
    request: obj({ dir: nonEmptyText, step: uint, pushedSteps: nullable(list(uint)), epoch: uint }),
    reply: obj({ info: obj({ shard: uint, file: nonEmptyText, bytes: uint, sha256: nonEmptyText, rows: record(uint) }) }),
  },
  restore: {
    request: obj({ dir: nullable(text), manifest: nullable(manifestNode), epoch: uint }),
    reply: obj({ rowsLoaded: uint, step: uint }),
  },
  ping: { request: obj({}), reply: obj({}) },
};
const coordinator: Spec = {
  register_ps: {
    request: obj({ url: nonEmptyText, shard: nullable(uint), name: nullable(text) }),
    reply: obj({ shard: uint, config: psConfigNode, storage: opt(obj({ dir: nonEmptyText })) }),
  },
  ps_ready: {
    request: obj({ shard: uint, url: nonEmptyText, storage: opt(obj({ nonce: opt(nonEmptyText), problem: opt(nonEmptyText) })) }),
    reply: obj({}),
  },
  register_trainer: {
    request: obj({ workers: opt(positiveInt) }),
    reply: obj({
      ranks: list(uint),
      workers: positiveInt,
      job: jobNode,
      shardUrls: list(nonEmptyText),
      startStep: uint,
      epoch: uint,
    }),
  },
  dense_get: { request: obj({}), reply: obj(denseParams) },
  dense_step: {
    request: obj({ step: uint, rank: uint, epoch, grads: record(f32), loss: anyNumber, examples: uint, rowCache: opt(rowCache) }),
    reply: obj(denseParams),
  },
  clock_wait: { request: obj({ rank: uint, clock: uint, epoch }), reply: obj({}) },
  recovery_wait: {
    request: obj({ rank: uint, epoch: uint, reason: text }),
    reply: obj({ resumeStep: uint, epoch: uint, shardUrls: list(nonEmptyText) }),
  },
  worker_done: { request: obj({ rank: uint, steps: uint }), reply: obj({}) },
  eval_report: {
    request: obj({
      step: uint,
      epoch,
      examples: uint,
      loss: anyNumber,
      accuracy: nullable(finite),
      setSize: opt(nullable(uint)),
    }),
    reply: obj({}),
  },
  result: {
    request: obj({}),
    reply: obj({
      result: obj({
        steps: uint,
        examples: uint,
        seconds: finite,
        losses: list(nullable(anyNumber)),
        denseParams: record(f32),
        maxObservedLag: nullable(uint),
        recoveries: uint,
        evals: list(
          obj({ step: uint, loss: anyNumber, accuracy: nullable(finite), examples: uint, setSize: opt(nullable(uint)) }),
        ),
        lastCheckpointStep: nullable(uint),
        checkpointsWritten: uint,
        checkpointsFailed: uint,
        rowCache: nullable(rowCache),
      }),
    }),
  },
  ping: { request: obj({}), reply: obj({}) },
};
const protocols: { name: string; protocol: ProtocolSchema; spec: Spec }[] = [
  { name: 'parameter server', protocol: psProtocol, spec: ps },
  { name: 'coordinator', protocol: coordinatorProtocol, spec: coordinator },
];

// ---- Corruptions ---------------------------------------------------------------------------

const notNumbers = ['1', null, true, [], {}, 1n, Float32Array.of(1)];
const notStrings = [1, null, true, [], {}, Uint8Array.of(97)];
const notMaps = [[], null, 'x', 1, Float32Array.of(1), new Uint8Array(2)];
const wrongValues: Record<Leaf | 'list' | 'record' | 'object', readonly unknown[]> = {
  uint: [-1, 0.5, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53), 1e300, ...notNumbers],
  positiveInt: [0, -1, 1.5, NaN, Infinity, 2 ** 53, ...notNumbers],
  anyNumber: notNumbers,
  finite: [NaN, Infinity, -Infinity, ...notNumbers],
  nonNegativeFinite: [-1, -Number.MIN_VALUE, NaN, Infinity, -Infinity, ...notNumbers],
  text: notStrings,
  nonEmptyText: ['', ...notStrings],
  bool: [0, 1, 'true', null, [], {}],
  f32: [
    new Float64Array(2),
    new Int32Array(2),
    new Uint8Array(8),
    new Uint8ClampedArray(2),
    [1, 2],
    new ArrayBuffer(8),
    null,
    'x',
  ],
  i32: [new Uint32Array(2), new Float32Array(2), new Int16Array(2), [1, 2], null, 'x'],
  ids: [
    new Float32Array(2),
    new Int8Array(2),
    new Uint8Array(2),
    new Int16Array(2),
    new Uint16Array(2),
    new BigInt64Array(2),
    [1, 2],
    new DataView(new ArrayBuffer(8)),
    null,
    'x',
  ],
  list: [{}, 'x', 1, null, Float32Array.of(1), { length: 1, 0: 1 }],
  record: notMaps,
  object: notMaps,
};
/** Unknown names, among them Object's own methods and the envelope's keys one level down. */
const unknownKeys = ['extra', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__', 'Tables'];
const nestedUnknownKeys = [...unknownKeys, 'v', 'type', 'id'];

interface Corruption {
  /** The whole message with this corruption. */
  readonly value: unknown;
  /** The field path the error must name. */
  readonly field: string;
  /** The whole message with `x` in place of the corrupted value (a replaced value only). */
  readonly put?: (x: unknown) => unknown;
}

const at = (path: string, key: string | number) => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);
/** A copy of a map with `key` set as an own property (`__proto__` included). */
function withKey(value: object, key: string, x: unknown): Record<string, unknown> {
  const out = { ...value } as Record<string, unknown>;
  Object.defineProperty(out, key, { value: x, enumerable: true, configurable: true, writable: true });
  return out;
}
function without(value: object, key: string): Record<string, unknown> {
  const out = { ...value } as Record<string, unknown>;
  delete out[key];
  return out;
}

/** Values that are not valid for `node` (null included: a nullable field leaves it out). */
function wrongFor(node: Node): readonly unknown[] {
  switch (node.k) {
    case 'nullable':
      return wrongFor(node.inner);
    case 'parsed':
      return node.bad;
    default:
      return wrongValues[node.k];
  }
}

/** Every single-field corruption of `value` (valid for `node`), each with the field it breaks. */
function corruptions(node: Node, value: unknown, path: string): Corruption[] {
  const out: Corruption[] = [];
  const field = path || '(message)';
  if (path) {
    for (const bad of wrongFor(node))
      if (!(node.k === 'nullable' && bad === null)) out.push({ value: bad, field, put: (x) => x });
  }
  /** The corruptions of a part, lifted into the whole through `rebuild`. */
  const lift = (inner: Corruption[], rebuild: (x: unknown) => unknown) => {
    for (const c of inner) {
      const put = c.put;
      out.push({ value: rebuild(c.value), field: c.field, put: put && ((x) => rebuild(put(x))) });
    }
  };
  switch (node.k) {
    case 'nullable':
      if (value !== null)
        lift(
          corruptions(node.inner, value, path).filter((c) => c.put === undefined || c.field !== field),
          (x) => x,
        );
      return out;
    case 'list': {
      const items = value as unknown[];
      items.forEach((item, i) => {
        lift(corruptions(node.item, item, at(path, i)), (x) => items.map((y, j) => (j === i ? x : y)));
      });
      return out;
    }
    case 'record': {
      const map = value as Record<string, unknown>;
      for (const key of Object.keys(map)) lift(corruptions(node.item, map[key], at(path, key)), (x) => ({ ...map, [key]: x }));
      out.push({ value: withKey(map, '__proto__', Object.values(map)[0] ?? null), field: at(path, '__proto__') });
      return out;
    }
    case 'object': {
      const map = value as Record<string, unknown>;
      for (const key of path ? nestedUnknownKeys : unknownKeys) out.push({ value: withKey(map, key, 1), field: at(path, key) });
      for (const [key, f] of Object.entries(node.fields)) {
        if (map[key] === undefined) {
          // An optional field left out: it may still not be given a wrong value.
          for (const bad of wrongFor(f.node))
            out.push({ value: { ...map, [key]: bad }, field: at(path, key), put: (x) => ({ ...map, [key]: x }) });
          continue;
        }
        if (!f.optional) out.push({ value: without(map, key), field: at(path, key) });
        lift(corruptions(f.node, map[key], at(path, key)), (x) => ({ ...map, [key]: x }));
      }
      const across = node.breakAcross?.(map);
      if (across) out.push({ value: across.value, field: at(path, across.field) });
      return out;
    }
    default:
      return out;
  }
}

const envelope = (type: string, id: number, body: object) => ({ ...body, v: 1, type, id });

/** Calls `f`; returns the RowshardError it threw, null if it returned, and fails on any other throw. */
function outcome(f: () => unknown): RowshardError | null {
  try {
    f();
    return null;
  } catch (e) {
    if (!(e instanceof RowshardError)) throw new Error(`threw a ${(e as Error)?.constructor?.name}, not a RowshardError: ${e}`);
    return e;
  }
}

describe('wire decoders (property-based)', () => {
  it('the description here covers every message of both protocols', () => {
    for (const { protocol, spec } of protocols) expect(Object.keys(spec).sort()).toEqual(Object.keys(protocol).sort());
  });

  for (const { name, protocol, spec } of protocols) {
    const types = Object.keys(spec);
    const message = fc.constantFrom(...types).chain((type) => fc.tuple(fc.constant(type), valid(spec[type].request)));
    const reply = fc.constantFrom(...types).chain((type) => fc.tuple(fc.constant(type), valid(spec[type].reply)));

    describe(`${name} protocol`, () => {
      it('a valid request or reply of every kind decodes to itself', () => {
        fc.assert(
          fc.property(message, fc.nat(), ([type, body], id) => {
            const got = decodeRequest(protocol, name, envelope(type, id, body as object));
            expect(got.type).toBe(type);
            expect(got.request).toEqual(expected(spec[type].request, body));
          }),
          params(400),
        );
        fc.assert(
          fc.property(reply, ([type, body]) => {
            expect(decodeReply(protocol, type, envelope('result', 1, body as object))).toEqual(expected(spec[type].reply, body));
          }),
          params(400),
        );
      });

      it('one corrupted field is refused with E_BAD_REQUEST (E_BAD_REPLY for a reply) naming that field', () => {
        const corrupted = (side: 'request' | 'reply') =>
          fc
            .constantFrom(...types)
            .chain((type) => valid(spec[type][side]).map((body) => ({ type, body })))
            .chain(({ type, body }) => {
              const all = corruptions(spec[type][side], body, '');
              return all.length === 0 ? fc.constant(null) : fc.constantFrom(...all).map((c) => ({ type, ...c }));
            });
        let checked = 0;
        for (const side of ['request', 'reply'] as const) {
          fc.assert(
            fc.property(corrupted(side), (c) => {
              if (!c) return;
              checked++;
              const e =
                side === 'request'
                  ? outcome(() => decodeRequest(protocol, name, envelope(c.type, 1, c.value as object)))
                  : outcome(() => decodeReply(protocol, c.type, envelope('result', 1, c.value as object)));
              const where = side === 'request' ? c.type : `reply to ${c.type}`;
              expect(e, `${where}: ${c.field} was not refused`).not.toBeNull();
              expect(e!.code).toBe(side === 'request' ? ErrorCodes.BAD_REQUEST : ErrorCodes.BAD_REPLY);
              expect(e!.details).toMatchObject({ message: where, field: c.field });
              expect(e!.message.startsWith(`${where}: ${c.field} `), e!.message).toBe(true);
            }),
            params(600),
          );
        }
        expect(checked).toBeGreaterThan(params(600).numRuns);
      });

      it('anything at all in a request is decoded or refused with E_BAD_REQUEST, never another error', () => {
        const anything = fc.anything({
          maxDepth: 3,
          withBigInt: true,
          withBoxedValues: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withNullPrototype: true,
          withObjectString: true,
          withSparseArray: true,
          withTypedArray: true,
        });
        // Junk in place of any one value of a valid message ...
        const junked = message.chain(([type, body]) => {
          const sites = corruptions(spec[type].request, body, '').filter((c) => c.put !== undefined);
          // A message without fields: junk as an unknown one.
          if (sites.length === 0) sites.push({ value: null, field: 'junk', put: (junk) => ({ junk }) });
          return fc.tuple(fc.constant(type), fc.constantFrom(...sites), anything);
        });
        fc.assert(
          fc.property(junked, ([type, site, junk]) => {
            const e = outcome(() => decodeRequest(protocol, name, envelope(type, 1, site.put!(junk) as object)));
            if (e) {
              expect(e.code).toBe(ErrorCodes.BAD_REQUEST);
              expect(typeof e.details.field).toBe('string');
            }
          }),
          params(500),
        );
        // ... and frames of any fields and any type name.
        const frame = fc.tuple(
          fc.oneof(
            fc.constantFrom(...types),
            fc.string({ minLength: 1 }),
            fc.constantFrom('constructor', '__proto__', 'toString'),
          ),
          fc.dictionary(
            fc.oneof(
              fc.string({ maxLength: 8 }),
              fc.constantFrom('tables', 'step', 'rank', 'epoch', 'grads', 'ids', 'push', 'pull'),
            ),
            anything,
            { maxKeys: 4 },
          ),
        );
        fc.assert(
          fc.property(frame, fc.constantFrom(...types), ([type, fields], replyTo) => {
            const e = outcome(() => decodeRequest(protocol, name, envelope(type, 1, fields)));
            if (e) expect(e.code).toBe(ErrorCodes.BAD_REQUEST);
            const r = outcome(() => decodeReply(protocol, replyTo, envelope('result', 1, fields)));
            if (r) expect(r.code).toBe(ErrorCodes.BAD_REPLY);
          }),
          params(500),
        );
      });
    });
  }
});
