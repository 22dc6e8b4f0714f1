import { parseCheckpointManifest } from '../checkpoint/manifest.js';
import { defineProtocol, message } from './protocol.js';
import type { Senders } from './roles.js';
import {
  bool,
  float32Array,
  type Infer,
  idArray,
  int32Array,
  list,
  nonEmptyText,
  nonNegativeFinite,
  nullable,
  object,
  optional,
  parsedBy,
  positiveInt,
  record,
  refine,
  text,
  uint,
} from './schema.js';

/**
 * A pooled part (EmbeddingBag on the shard, TorchRec's pooled lookup): `bags[i]` is the bag
 * of position i, in [0, bagCount), and each bag has a position here (the sender numbers the
 * bags this shard holds rows of: no bag without one, so bagCount ≤ ids.length). A pull of it
 * is answered with each bag's sum of the rows this shard holds, [bagCount · dim], summed in
 * position order (or the id tree's, `idTree`); a push of it carries each bag's gradient, [bagCount · dim], which every
 * position of the bag adds into its row's (the rows' gradients then apply as a push of them
 * would). Ids repeat: one per position.
 */
const bagsOfPositions = { bags: optional(int32Array), bagCount: optional(uint) };

function pooledShape(p: {
  ids: { length: number };
  bags?: Int32Array;
  bagCount?: number;
}): { field: string; why: string } | null {
  if (p.bags === undefined && p.bagCount === undefined) return null;
  if (p.bags === undefined || p.bagCount === undefined) return { field: 'bags', why: 'bags and bagCount go together' };
  if (p.bags.length !== p.ids.length) return { field: 'bags', why: `has ${p.bags.length} entries for ${p.ids.length} ids` };
  if (p.bagCount > p.ids.length) return { field: 'bagCount', why: `is ${p.bagCount}, more bags than the ${p.ids.length} ids` };
  for (let i = 0; i < p.bags.length; i++) {
    const b = p.bags[i];
    if (b < 0 || b >= p.bagCount) return { field: 'bags', why: `position ${i} names bag ${b}, not one of [0, ${p.bagCount})` };
  }
  return null;
}

/** Gradients: a whole number of rows for `rows` ids (or bags), none for none. */
function gradShape(values: number, rows: number, of: string): { field: string; why: string } | null {
  if (rows === 0) return values === 0 ? null : { field: 'grads', why: `must be empty when ${of} is` };
  return values % rows === 0
    ? null
    : { field: 'grads', why: `has ${values} values, not a whole number of rows for ${rows} ${of}` };
}

/**
 * What a parameter server serves (docs/ARCHITECTURE.md, "Protocol"). One request per shard
 * per step covers every table: `tables` holds one part per table. Ids are typed arrays
 * (Int32Array or Uint32Array for dense tables, Float64Array accepted and checked for
 * integrality, BigUint64Array for hashed tables); rows and gradients are Float32Array
 * [ids.length · dim] (a pooled part's: [bagCount · dim]). Range, shard and dim checks need
 * the table and happen on the shard, still before anything is applied.
 */
const pullPart = refine(
  object({
    table: nonEmptyText,
    ids: idArray,
    ...bagsOfPositions,
    /**
     * A pooled pull's sums in the id tree's order (kernels' id-tree.ts) instead of position
     * order: BSP's, whose bits do not depend on the shard count.
     */
    idTree: optional(bool),
  }),
  (p) =>
    pooledShape(p) ??
    (p.idTree !== undefined && p.bags === undefined ? { field: 'idTree', why: 'is for pooled parts (bags)' } : null),
);

const pushPart = refine(
  object({
    table: nonEmptyText,
    ids: idArray,
    grads: float32Array,
    /** The scheduled learning rate for this step, decided by the coordinator. */
    lr: nonNegativeFinite,
    /** 1-based optimizer step count of this table, this step included (SparseAdam, Adagrad). */
    step: positiveInt,
    ...bagsOfPositions,
  }),
  (p) => pooledShape(p) ?? gradShape(p.grads.length, p.bagCount ?? p.ids.length, p.bagCount === undefined ? 'ids' : 'bags'),
);

const loadPart = refine(object({ table: nonEmptyText, ids: idArray, rows: float32Array, state: optional(float32Array) }), (p) =>
  p.ids.length > 0 && p.rows.length % p.ids.length !== 0
    ? { field: 'rows', why: `has ${p.rows.length} values, not a whole number of rows for ${p.ids.length} ids` }
    : null,
);

const tableStats = object({
  rowsMaterialised: uint,
  bytesUsed: uint,
  frozen: bool,
  /** Hashed tables with admission or eviction: ids admitted, steps an id was not, rows evicted. */
  dynamic: optional(object({ admitted: uint, rejected: uint, evicted: uint })),
});

export const psStatsSchema = object({
  shard: uint,
  numShards: positiveInt,
  tables: record(tableStats),
  rowsMaterialised: uint,
  bytesUsed: uint,
  /** Requests served, by message type, and refused, by error code (kept by the server). */
  requests: record(uint),
  errors: record(uint),
  rowsPulled: uint,
  rowsPushed: uint,
  /** Bags answered with their sums (pooled pulls, sync.poolBags); their positions count in rowsPulled. */
  bagsPulled: uint,
});

const memoryUsage = object({ rss: uint, heapTotal: uint, heapUsed: uint, external: uint, arrayBuffers: uint });

const shardFileInfo = object({ shard: uint, file: nonEmptyText, bytes: uint, sha256: nonEmptyText, rows: record(uint) });

/**
 * Piece `index` of `count` of one rank's push of one step, when the push is bigger than one
 * request may be (RequestLimits). The pieces hold disjoint rows; the step is the sum of all.
 */
const chunk = refine(object({ index: uint, count: positiveInt }), (c) =>
  c.index < c.count ? null : { field: 'index', why: `must be below count (${c.count}), got ${c.index}` },
);

/** A request from a process that missed a restore carries an older epoch and is refused. */
const epoch = optional(uint);

export const psProtocol = defineProtocol({
  /**
   * Rows in request order. `step` (BSP): answer once step `step - 1` is applied. `rank` (BSP,
   * a training step's pull): the worker pulling, which has pushed step `step - 1`; a shard
   * without that push refuses the pull (E_STALE_STEP), as the step can no longer complete.
   */
  pull: message({ tables: list(pullPart), step: optional(uint), rank: optional(uint), epoch }, { rows: list(float32Array) }),
  /**
   * Sparse gradients. `step` and `rank` (always in BSP) make a push idempotent: a retried
   * (step, rank) is applied at most once, and BSP applies a step once every rank pushed it.
   * `chunk` (with step and rank) marks one piece of a push split to fit the request limits:
   * ASP applies each piece on arrival, BSP counts the rank once all its pieces are in.
   */
  push: message(
    { tables: list(pushPart), step: optional(uint), rank: optional(uint), chunk: optional(chunk), epoch },
    { rowsUpdated: uint, duplicate: optional(bool) },
  ),
  /**
   * A push and the next step's pull in one round trip (BSP and ASP): the push is applied as a
   * `push` with the same step and rank is, then the rows are read, in BSP once step `step`
   * is applied everywhere on this shard (so they are the rows step `step + 1` must see).
   * Both lists are checked before anything is applied.
   */
  push_pull: message(
    { push: list(pushPart), pull: list(pullPart), step: uint, rank: uint, epoch },
    { rowsUpdated: uint, duplicate: optional(bool), rows: list(float32Array) },
  ),
  /** Rows (and optionally optimizer state) set outright: from_pretrained, initial states. */
  load: message({ tables: list(loadPart), epoch }, { rowsLoaded: uint }),
  /** Load and memory of this shard; `gc` collects first where the process allows it (benchmarks). */
  stats: message({ gc: optional(bool) }, { stats: psStatsSchema, memory: memoryUsage }),
  /**
   * Write this shard's part of checkpoint `dir` at step `step`: in BSP once `step` steps are
   * applied; otherwise once each rank r has pushed `pushedSteps[r]` steps.
   */
  checkpoint: message({ dir: nonEmptyText, step: uint, pushedSteps: nullable(list(uint)), epoch: uint }, { info: shardFileInfo }),
  /** Reset to a checkpoint (or, with no manifest, to the initial state) and enter `epoch`. */
  restore: message(
    {
      dir: nullable(text),
      manifest: nullable(parsedBy('a checkpoint manifest', (v) => parseCheckpointManifest(v, 'restore.manifest'))),
      epoch: uint,
    },
    { rowsLoaded: uint, step: uint },
  ),
  ping: message({}, {}),
});

export type PsProtocol = typeof psProtocol;

/**
 * Who may send each message to a parameter server. Rows move only between trainers and
 * shards; `load`, `checkpoint` and `restore` replace or write a shard's whole state, or files
 * on its host, so only the coordinator may send them.
 */
export const psSenders: Senders<PsProtocol> = Object.freeze({
  pull: ['trainer'],
  push: ['trainer'],
  push_pull: ['trainer'],
  load: ['coordinator'],
  checkpoint: ['coordinator'],
  restore: ['coordinator'],
  stats: ['coordinator', 'trainer', 'viewer'],
  ping: ['coordinator', 'ps', 'trainer', 'viewer'],
});
export type PullPart = Infer<typeof pullPart>;
export type PushPart = Infer<typeof pushPart>;
export type LoadPart = Infer<typeof loadPart>;
export type PsStats = Infer<typeof psStatsSchema>;
