import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import {
  type CheckpointManifest,
  copyRow,
  ErrorCodes,
  IdIndex,
  idHalves,
  parseCheckpointManifest,
  parseSparseOptimizerConfig,
  parseTableSpec,
  parseVocabulary,
  RowshardError,
  type SparseOptimizerConfig,
  sparseRowOptimizer,
  type TableSpec,
} from '@rowshard/core';
import { kernelRowInitializer } from '@rowshard/kernels';
import { readShardSnapshot, readShardWeights } from '@rowshard/ps/snapshot-read';

/** A checkpoint directory (one with a manifest), or a checkpoints root whose newest one is taken. */
export function resolveCheckpointDir(path: string): string {
  if (existsSync(join(path, 'manifest.json'))) return path;
  if (!existsSync(path)) throw new RowshardError(ErrorCodes.BAD_CONFIG, `checkpoint ${path} does not exist`, { file: path });
  const steps = readdirSync(path)
    .filter((d: string) => /^step-\d{8}$/.test(d) && existsSync(join(path, d, 'manifest.json')))
    .sort();
  if (steps.length === 0)
    throw new RowshardError(ErrorCodes.BAD_CHECKPOINT, `${path} holds no checkpoint (no step-*/manifest.json)`, { file: path });
  return join(path, steps[steps.length - 1]);
}

export function readManifest(dir: string): CheckpointManifest {
  const path = join(dir, 'manifest.json');
  return parseCheckpointManifest(JSON.parse(readFileSync(path, 'utf8')), path);
}

export interface FullTable {
  readonly spec: TableSpec;
  /** Rows in `weight`: numEmbeddings for a dense table, the saved rows for a hashed one. */
  readonly rows: number;
  /** A hashed table's row ids, ascending (row i of `weight` is id ids[i]); null for a dense table (row i is id i). */
  readonly ids: BigUint64Array | null;
  /** [rows, dim]: saved rows, and (dense tables) the deterministic init for rows never touched. */
  readonly weight: Float32Array;
  /** [rows, stateFloats] optimizer slots (zeros / initial value for untouched rows), when saved. */
  readonly state: Float32Array | null;
  readonly stateFloats: number;
  readonly slotNames: readonly string[];
  /** The table's optimizer, as the checkpoint saved it; null for a table never trained. */
  readonly optimizer: SparseOptimizerConfig | null;
  /** Its optimizer step count (PyTorch's `step`); the checkpoint's step for manifests that did not record it. */
  readonly optimizerStep: number;
}

/** A table's manifest entry and its spec; E_UNKNOWN_TABLE naming the tables there are. */
function tableEntry(dir: string, manifest: CheckpointManifest, table: string) {
  const entry = manifest.tables.find((t) => t.spec.name === table);
  if (!entry) {
    const names = manifest.tables.map((t) => String(t.spec.name)).join(', ');
    throw new RowshardError(ErrorCodes.UNKNOWN_TABLE, `checkpoint ${dir} has no table '${table}' (tables: ${names})`, { table });
  }
  return { entry, spec: parseTableSpec(entry.spec, `manifest.tables.${table}`) };
}

/** A table's saved rows only (the ones training touched), in id order: no init of the rest. */
export interface SavedRows {
  readonly spec: TableSpec;
  /** The saved ids, ascending. */
  readonly ids: Float64Array;
  readonly rows: Float32Array;
  /** Row `id`: its saved values, or its deterministic init when it was never touched. */
  row(id: number, out: Float32Array, offset: number): void;
  /** Rows first .. first+count-1 into out[0 .. count·dim), saved or init: a walk along the ids. */
  fillRows(first: number, count: number, out: Float32Array): void;
}

/**
 * The rows a checkpoint saved for a dense table, from every shard file: their ids and weights
 * only (readShardWeights), each id checked to be a row of the table and saved once.
 */
export function readSavedRows(dir: string, manifest: CheckpointManifest, table: string): SavedRows {
  const { spec } = tableEntry(dir, manifest, table);
  const dim = spec.embeddingDim;
  const parts: { file: string; ids: Float64Array; weight: Float32Array }[] = [];
  for (const info of manifest.shards) {
    const file = join(dir, info.file);
    const part = readShardWeights(file, table);
    if (!part) continue;
    if (!(part.ids instanceof Float64Array) || part.dim !== dim)
      throw new RowshardError(
        ErrorCodes.BAD_CHECKPOINT,
        `${file}: table '${table}' is not saved as a dense table of dim ${dim}`,
        {
          file,
          table,
        },
      );
    parts.push({ file, ids: part.ids, weight: part.weight });
  }
  const { ids, rows } = idOrder(parts, dim);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(Number.isInteger(id) && id >= 0 && id < spec.numEmbeddings && (i === 0 || id > ids[i - 1])))
      throw new RowshardError(
        ErrorCodes.BAD_CHECKPOINT,
        `checkpoint ${dir}: table '${table}' saves row ${id} ${id === ids[i - 1] ? 'twice' : `outside its ${spec.numEmbeddings} rows`}`,
        { table },
      );
  }
  const n = ids.length;
  // Built at the first lookup: writing a model walks the rows in order and never looks one up.
  let position: IdIndex | null = null;
  const init = kernelRowInitializer(spec, manifest.seed);
  return {
    spec,
    ids,
    rows,
    row(id, out, offset) {
      position ??= new IdIndex(ids);
      const at = position.indexOf(id);
      if (at < 0) init.fill(id, 0, out, offset);
      else copyRow(rows, at * dim, out, offset, dim);
    },
    fillRows(first, count, out) {
      let at = lowerBound(ids, first);
      for (let r = 0; r < count; ) {
        if (at < n && ids[at] === first + r) {
          copyRow(rows, at++ * dim, out, r * dim, dim);
          r++;
          continue;
        }
        // The untouched run up to the next saved row, drawn in one call.
        const end = at < n ? Math.min(count, ids[at] - first) : count;
        init.fillRange(first + r, end - r, out, r * dim);
        r = end;
      }
    },
  };
}

/**
 * Every part's rows in one pair of arrays, ascending by id. A shard writes a dense table's rows
 * in id order (RowStore.forEachRow), so one shard's file is taken as it is, without a copy;
 * several are merged by a sort.
 */
function idOrder(parts: readonly { ids: Float64Array; weight: Float32Array }[], dim: number) {
  if (parts.length === 1 && isAscending(parts[0].ids)) return { ids: parts[0].ids, rows: parts[0].weight };
  const n = parts.reduce((a, p) => a + p.ids.length, 0);
  // Every saved row as (part, position), in typed arrays: a supervised model saves 10^5 and more.
  const idOf = new Float64Array(n);
  const partOf = new Int32Array(n);
  const atOf = new Int32Array(n);
  let k = 0;
  parts.forEach((p, part) => {
    for (let i = 0; i < p.ids.length; i++, k++) {
      idOf[k] = p.ids[i];
      partOf[k] = part;
      atOf[k] = i;
    }
  });
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => idOf[a] - idOf[b]);
  const ids = new Float64Array(n);
  const rows = new Float32Array(n * dim);
  order.forEach((o, i) => {
    ids[i] = idOf[o];
    copyRow(parts[partOf[o]].weight, atOf[o] * dim, rows, i * dim, dim);
  });
  return { ids, rows };
}

function isAscending(ids: Float64Array): boolean {
  for (let i = 1; i < ids.length; i++) if (!(ids[i] > ids[i - 1])) return false;
  return true;
}

/** The first index of ascending `sorted` whose value is at least x. */
function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Assembles a whole table from every shard file of a checkpoint: a dense table row by row
 * (untouched rows as their init), a hashed one as the rows it holds, ascending by id (the
 * same file whatever the shard count was).
 */
export function readFullTable(dir: string, manifest: CheckpointManifest, table: string): FullTable {
  const { entry, spec } = tableEntry(dir, manifest, table);
  if (spec.kind === 'hashed') return readHashedTable(dir, manifest, table);
  const dim = spec.embeddingDim;
  const weight = new Float32Array(spec.numEmbeddings * dim);
  const init = kernelRowInitializer(spec, manifest.seed);
  const seen = new Uint8Array(spec.numEmbeddings);
  const optimizerConfig = entry.optimizer ? parseSparseOptimizerConfig(entry.optimizer) : null;
  const optimizer = optimizerConfig ? sparseRowOptimizer(optimizerConfig, dim) : null;
  const stateFloats = entry.stateFloats;
  const state = stateFloats > 0 ? new Float32Array(spec.numEmbeddings * stateFloats) : null;
  for (const info of manifest.shards) {
    const { tables } = readShardSnapshot(join(dir, info.file));
    const part = tables.find((p) => p.table === table);
    if (!part) continue;
    for (let i = 0; i < part.ids.length; i++) {
      const row = Number(part.ids[i]);
      copyRow(part.weight, i * dim, weight, row * dim, dim);
      if (state && part.state) copyRow(part.state, i * stateFloats, state, row * stateFloats, stateFloats);
      seen[row] = 1;
    }
  }
  for (let row = 0; row < spec.numEmbeddings; ) {
    if (seen[row]) {
      row++;
      continue;
    }
    // A run of untouched rows, drawn in one call.
    let end = row + 1;
    while (end < spec.numEmbeddings && !seen[end]) end++;
    init.fillRange(row, end - row, weight, row * dim);
    if (state && optimizer) for (let r = row; r < end; r++) optimizer.initState(state, r * stateFloats);
    row = end;
  }
  return {
    spec,
    rows: spec.numEmbeddings,
    ids: null,
    weight,
    state,
    stateFloats,
    slotNames: optimizer?.slotNames ?? [],
    optimizer: optimizerConfig,
    optimizerStep: entry.optimizerStep ?? (spec.frozen ? 0 : manifest.step),
  };
}

/** A hashed table's saved rows from every shard file, ascending by id (unsigned 64-bit order, compared by halves). */
function readHashedTable(dir: string, manifest: CheckpointManifest, table: string): FullTable {
  const { entry, spec } = tableEntry(dir, manifest, table);
  const dim = spec.embeddingDim;
  const stateFloats = entry.stateFloats;
  const parts = manifest.shards.flatMap((info) =>
    readShardSnapshot(join(dir, info.file)).tables.filter((p) => p.table === table),
  );
  const n = parts.reduce((a, p) => a + p.ids.length, 0);
  const halves = new Uint32Array(2 * n);
  const from = new Int32Array(2 * n);
  let k = 0;
  parts.forEach((p, part) => {
    halves.set(idHalves(p.ids as BigUint64Array), 2 * k);
    for (let i = 0; i < p.ids.length; i++, k++) {
      from[2 * k] = part;
      from[2 * k + 1] = i;
    }
  });
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => halves[2 * a + 1] - halves[2 * b + 1] || halves[2 * a] - halves[2 * b],
  );
  const ids = new BigUint64Array(n);
  const words = new Uint32Array(ids.buffer);
  const weight = new Float32Array(n * dim);
  const state = stateFloats > 0 ? new Float32Array(n * stateFloats) : null;
  order.forEach((o, i) => {
    words[2 * i] = halves[2 * o];
    words[2 * i + 1] = halves[2 * o + 1];
    const part = parts[from[2 * o]];
    const at = from[2 * o + 1];
    copyRow(part.weight, at * dim, weight, i * dim, dim);
    if (state && part.state) copyRow(part.state, at * stateFloats, state, i * stateFloats, stateFloats);
  });
  const optimizerConfig = entry.optimizer ? parseSparseOptimizerConfig(entry.optimizer) : null;
  const optimizer = optimizerConfig ? sparseRowOptimizer(optimizerConfig, dim) : null;
  return {
    spec,
    rows: n,
    ids,
    weight,
    state,
    stateFloats,
    slotNames: optimizer?.slotNames ?? [],
    optimizer: optimizerConfig,
    optimizerStep: entry.optimizerStep ?? (spec.frozen ? 0 : manifest.step),
  };
}

/** A table's words, row r = words[r], and the file they came from. */
export interface TableWords {
  readonly words: readonly string[];
  readonly file: string;
}

/**
 * The words of a table's rows: `override` (a --vocab FILE) if given, else the vocabulary the
 * checkpoint names for the table, else null. The manifest names a file relative to the
 * checkpoint directory; older manifests hold an absolute path, which is read if it is still
 * there, else looked for where that layout kept it relative to a moved checkpoint
 * (`<dir>/../data/vocab.txt`). A missing file is E_BAD_CHECKPOINT saying how to go on.
 */
export function readTableWords(
  dir: string,
  manifest: CheckpointManifest,
  table: string,
  override: string | null = null,
): TableWords | null {
  if (override !== null) return { words: readWords(override, `--vocab ${override}`), file: override };
  const named = manifest.vocab?.[table];
  if (named === undefined) return null;
  const candidates = isAbsolute(named) ? [named, join(dirname(dir), 'data', basename(named))] : [join(dir, named)];
  const file = candidates.find((c) => existsSync(c));
  if (!file) {
    throw new RowshardError(
      ErrorCodes.BAD_CHECKPOINT,
      `checkpoint ${dir}: the vocabulary of table '${table}' (${named}) is missing; pass --vocab FILE (one word per line, line i = row i)`,
      { file: named, table },
    );
  }
  return { words: readWords(file, file), file };
}

function readWords(file: string, what: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new RowshardError(
      ErrorCodes.BAD_CONFIG,
      `${what}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      { file },
    );
  }
  return parseVocabulary(text, file);
}
