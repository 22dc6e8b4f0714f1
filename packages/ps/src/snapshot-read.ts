import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import {
  type CheckpointFile,
  ErrorCodes,
  parseSafetensorsHeader,
  RowshardError,
  SHARD_FILE_FORMAT,
  viewTensor,
} from '@rowshard/core';

// Reading a shard's checkpoint file: whole and checked (a restore), or one table's weights by
// their byte ranges (a trained model's rows). snapshot.ts writes the file and restores from it.

export interface ShardTablePart {
  readonly table: string;
  /** Row ids as numbers (dense tables) or 64-bit values (hashed tables). */
  readonly ids: Float64Array | BigUint64Array;
  readonly weight: Float32Array;
  readonly dim: number;
  readonly state: Float32Array | null;
  readonly stateFloats: number;
  /** Hashed tables with admission or eviction: each row's last update step. */
  readonly lastUpdate: Int32Array | null;
  /** Hashed tables with count admission: this shard's sketch. */
  readonly sketch: Uint32Array | null;
}

/**
 * Reads one shard file of a checkpoint; with `expected` (its manifest entry) the file must
 * have the recorded size and sha256. A file that cannot be read is E_BAD_CHECKPOINT naming it.
 */
export function readShardSnapshot(
  file: string,
  expected: CheckpointFile | null = null,
): { metadata: Record<string, string>; tables: ShardTablePart[] } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new RowshardError(
      ErrorCodes.BAD_CHECKPOINT,
      `${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      {
        file,
      },
    );
  }
  if (expected) {
    if (bytes.length !== expected.bytes) {
      throw new RowshardError(
        ErrorCodes.BAD_CHECKPOINT,
        `${file}: ${bytes.length} bytes; the manifest records ${expected.bytes} (truncated or replaced)`,
        { file },
      );
    }
    if (createHash('sha256').update(bytes).digest('hex') !== expected.sha256) {
      throw new RowshardError(ErrorCodes.BAD_CHECKPOINT, `${file}: sha256 does not match the manifest (corrupted)`, { file });
    }
  }
  const header = shardHeader(bytes, bytes.length, file);
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  const data = (name: string) => {
    const t = byName.get(name);
    if (!t) return null;
    return { t, view: viewTensor(bytes.subarray(header.dataStart + t.begin, header.dataStart + t.end), t.dtype) };
  };
  const tables: ShardTablePart[] = [];
  for (const t of header.tensors) {
    if (!t.name.endsWith('.ids')) continue;
    const table = t.name.slice(0, -4);
    const ids = data(`${table}.ids`);
    const weight = data(`${table}.weight`);
    if (!ids || !weight)
      throw new RowshardError(ErrorCodes.BAD_CHECKPOINT, `${file}: table '${table}' lacks its weights`, { file });
    const state = data(`${table}.state`);
    const lastUpdate = data(`${table}.last_update`);
    const sketch = data(`${table}.sketch`);
    const asNumbers = idNumbers(ids.view);
    if (!asNumbers)
      throw new RowshardError(ErrorCodes.BAD_CHECKPOINT, `${file}: table '${table}' has ${ids.t.dtype} ids`, { file });
    tables.push({
      table,
      ids: asNumbers,
      weight: weight.view as Float32Array,
      dim: weight.t.shape[1] ?? 0,
      state: state ? (state.view as Float32Array) : null,
      stateFloats: state ? (state.t.shape[1] ?? 0) : 0,
      lastUpdate: lastUpdate ? (lastUpdate.view as Int32Array) : null,
      sketch: sketch ? (sketch.view as Uint32Array) : null,
    });
  }
  return { metadata: header.metadata, tables };
}

/** One table's saved rows of a shard file without their optimizer slots (readShardWeights). */
export interface ShardTableWeights {
  /** Row ids as numbers (dense tables) or 64-bit values (hashed tables), in the file's order. */
  readonly ids: Float64Array | BigUint64Array;
  readonly weight: Float32Array;
  readonly dim: number;
}

/**
 * One table's ids and weights from a shard file, read by their byte ranges: the optimizer
 * slots beside them (as many bytes again under Adagrad, 75 MB after a fastText run) are not
 * read. For readers of a trained model, which, unlike a restore, do not check the file's
 * sha256 (that needs every byte). Null when the file holds no rows of the table; a file that
 * cannot be read, or is not a shard file, is E_BAD_CHECKPOINT naming it.
 */
export function readShardWeights(file: string, table: string): ShardTableWeights | null {
  const bad = (why: string) => new RowshardError(ErrorCodes.BAD_CHECKPOINT, `${file}: ${why}`, { file });
  let fd = -1;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const read = (start: number, length: number): Buffer => {
      // Not pooled, so the typed views over it are aligned.
      const out = Buffer.allocUnsafeSlow(length);
      for (let at = 0; at < length; ) {
        // At most 1 GiB a call: Node's binding aborts the process on a length of 2 GiB or more.
        const n = readSync(fd, out, at, Math.min(length - at, 1 << 30), start + at);
        if (n === 0) throw bad(`ends at byte ${start + at}, inside a tensor the header places up to ${start + length}`);
        at += n;
      }
      return out;
    };
    const lengthBytes = read(0, Math.min(8, size));
    const headerBytes = lengthBytes.length < 8 ? 0 : Number(lengthBytes.readBigUInt64LE(0));
    const prefix = headerBytes > 0 && 8 + headerBytes <= size ? read(0, 8 + headerBytes) : lengthBytes;
    const header = shardHeader(prefix, size, file);
    const tensor = (name: string) => {
      const t = header.tensors.find((x) => x.name === name);
      return t ? { t, view: viewTensor(read(header.dataStart + t.begin, t.end - t.begin), t.dtype) } : null;
    };
    const ids = tensor(`${table}.ids`);
    if (!ids) return null;
    const weight = tensor(`${table}.weight`);
    if (!weight) throw bad(`table '${table}' lacks its weights`);
    const [rows, dim] = weight.t.shape;
    const idValues = idNumbers(ids.view);
    if (!idValues || !(weight.view instanceof Float32Array) || rows !== idValues.length || !(dim > 0))
      throw bad(
        `table '${table}': ids ${ids.t.dtype} [${ids.t.shape}] and weights ${weight.t.dtype} [${weight.t.shape}] do not match`,
      );
    return { ids: idValues, weight: weight.view, dim };
  } catch (e) {
    if (e instanceof RowshardError) throw e;
    throw bad(`cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/**
 * A shard file's ids: a dense table's I64 as numbers, from their two halves (exact below 2^53;
 * a BigInt per id took most of a 187k-row read), a hashed table's U64 as they are; null for
 * another dtype.
 */
function idNumbers(view: ReturnType<typeof viewTensor>): Float64Array | BigUint64Array | null {
  if (view instanceof BigUint64Array) return view;
  if (!(view instanceof BigInt64Array)) return null;
  const low = new Uint32Array(view.buffer, view.byteOffset, view.length * 2);
  const high = new Int32Array(view.buffer, view.byteOffset, view.length * 2);
  const out = new Float64Array(view.length);
  for (let i = 0; i < out.length; i++) out[i] = low[2 * i] + high[2 * i + 1] * 4294967296;
  return out;
}

/** A shard file's safetensors header, checked to be a rowshard shard file's. */
function shardHeader(prefix: Uint8Array, fileBytes: number, file: string) {
  const header = parseSafetensorsHeader(prefix, fileBytes, file);
  if (header.metadata.format !== SHARD_FILE_FORMAT)
    throw new RowshardError(ErrorCodes.BAD_CHECKPOINT, `${file}: not a rowshard shard file (format ${header.metadata.format})`, {
      file,
    });
  return header;
}
