import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { type FileHandle, open, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  buildSafetensorsHeader,
  type CheckpointManifest,
  checkpointWriteError,
  copyRow,
  ErrorCodes,
  idHalves,
  type LoadPart,
  RowshardError,
  SHARD_FILE_FORMAT,
  type ShardFileInfo,
  type TensorEntry,
} from '@rowshard/core';
import type { PsService } from './ps-service.js';
import { gatherInto } from './row-kernels.js';
import type { RowStore } from './row-store.js';
import { readShardSnapshot } from './snapshot-read.js';

const ROWS_PER_CHUNK = 8192;

/**
 * Writes a shard's materialised rows as one safetensors file: per table `<t>.ids` (I64 for
 * dense tables, U64 for hashed), `<t>.weight` [n, dim] and `<t>.state` [n, slots] (optimizer
 * slots), streamed chunk by chunk through a sha256. Written to `<file>.tmp` (creating the
 * directory), fsynced, then renamed, so a crash leaves either no file or a whole one. A
 * failed write (full or read-only disk) removes the `.tmp` and throws `E_CHECKPOINT_WRITE`.
 *
 * The writes are asynchronous, so the process answers pulls and heartbeats while a large
 * shard goes to a slow disk (a synchronous write of 80 MB took over 4 s on a loaded machine,
 * and the coordinator took the silent server for dead). The caller must hold back every
 * change to existing rows (pushes, loads, restores) until the promise settles: each chunk is
 * copied from the live rows just before it is written. Rows materialised meanwhile by a pull
 * are not in the file, which is exact: an untouched row is its deterministic init.
 */
export async function writeShardSnapshot(service: PsService, file: string, step: number): Promise<ShardFileInfo> {
  const tables = service.tableNames().map((name) => {
    const store = service.table(name);
    const slots: number[] = [];
    const lo: number[] = [];
    const hi: number[] = [];
    store.forEachRow((l, h, slot) => {
      lo.push(l);
      hi.push(h);
      slots.push(slot);
    });
    return { name, store, slots, lo, hi };
  });
  const entries: TensorEntry[] = [];
  for (const t of tables) {
    const n = t.slots.length;
    entries.push({ name: `${t.name}.ids`, dtype: t.store.spec.kind === 'hashed' ? 'U64' : 'I64', shape: [n] });
    entries.push({ name: `${t.name}.weight`, dtype: 'F32', shape: [n, t.store.dim] });
    if (t.store.stateFloats > 0) entries.push({ name: `${t.name}.state`, dtype: 'F32', shape: [n, t.store.stateFloats] });
    // Hashed tables whose rows come and go: each row's last update step, and the admission sketch.
    if (t.store.dynamic) entries.push({ name: `${t.name}.last_update`, dtype: 'I32', shape: [n] });
    const sketch = t.store.admission?.sketch;
    if (sketch && sketch.length > 0) entries.push({ name: `${t.name}.sketch`, dtype: 'U32', shape: [sketch.length] });
  }
  const { header, fileBytes } = buildSafetensorsHeader(entries, {
    format: SHARD_FILE_FORMAT,
    shard: String(service.shard),
    numShards: String(service.numShards),
    step: String(step),
  });
  const tmp = `${file}.tmp`;
  const hash = createHash('sha256');
  let handle: FileHandle | null = null;
  try {
    makeDirectories(dirname(file));
    handle = await open(tmp, 'w');
    await writeShardFile(handle, header, tables, hash);
    await handle.sync();
    await handle.close();
    handle = null;
    await rename(tmp, file);
  } catch (e) {
    // A full or read-only disk: no `.tmp` is left behind, and the coordinator gets a typed error.
    try {
      if (handle !== null) await handle.close();
      rmSync(tmp, { force: true });
    } catch {
      // The write's own error says more than a failed clean-up.
    }
    throw checkpointWriteError(file, e);
  }
  const rows: Record<string, number> = {};
  for (const t of tables) rows[t.name] = t.slots.length;
  return { shard: service.shard, file: basename(file), bytes: fileBytes, sha256: hash.digest('hex'), rows };
}

/**
 * `mkdir -p` that throws the real reason: Node's recursive mkdir reports ENOENT on a
 * read-only disk, where this says EROFS. Another shard creating the same directory is fine.
 */
function makeDirectories(dir: string): void {
  const isDirectory = () => {
    try {
      return statSync(dir).isDirectory();
    } catch {
      return false;
    }
  };
  const parent = dirname(dir);
  try {
    mkdirSync(dir);
    return;
  } catch (e) {
    if (isDirectory()) return;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || parent === dir) throw e;
  }
  makeDirectories(parent);
  try {
    mkdirSync(dir);
  } catch (e) {
    if (!isDirectory()) throw e;
  }
}

interface SnapshotTable {
  readonly name: string;
  readonly store: RowStore;
  readonly slots: readonly number[];
  readonly lo: readonly number[];
  readonly hi: readonly number[];
}

/** The file's bytes after the header: per table its ids, weights and optimizer slots, through `hash`. */
async function writeShardFile(
  handle: FileHandle,
  header: Uint8Array,
  tables: readonly SnapshotTable[],
  hash: ReturnType<typeof createHash>,
): Promise<void> {
  const write = async (bytes: Uint8Array) => {
    hash.update(bytes);
    let off = 0;
    while (off < bytes.length) off += (await handle.write(bytes, off, bytes.length - off)).bytesWritten;
  };
  await write(header);
  for (const t of tables) {
    const n = t.slots.length;
    const ids = new Uint32Array(n * 2);
    for (let i = 0; i < n; i++) {
      ids[2 * i] = t.lo[i];
      ids[2 * i + 1] = t.hi[i];
    }
    await write(new Uint8Array(ids.buffer));
    // Two chunk buffers: the next chunk is gathered while the last one is being written.
    const writeRows = async (width: number, byteOffset: (slot: number) => number) => {
      const chunks = [0, 1].map(() => new Float32Array(Math.min(ROWS_PER_CHUNK, n) * width));
      let writing: Promise<void> = Promise.resolve();
      for (let at = 0, k = 0; at < n; at += ROWS_PER_CHUNK, k ^= 1) {
        const count = Math.min(ROWS_PER_CHUNK, n - at);
        const chunk = chunks[k].subarray(0, count * width);
        try {
          gatherInto(
            t.store.memory,
            count,
            width,
            (offsets) => {
              for (let i = 0; i < count; i++) offsets[i] = byteOffset(t.slots[at + i]);
            },
            chunk,
          );
        } catch (e) {
          await writing.catch(() => {}); // the gather's error is the one to report
          throw e;
        }
        // In file order: the previous chunk is through the hash and written before this one starts.
        await writing;
        writing = write(new Uint8Array(chunk.buffer, 0, chunk.byteLength));
      }
      await writing;
    };
    await writeRows(t.store.dim, (s) => t.store.weightByteOffset(s));
    if (t.store.stateFloats > 0) await writeRows(t.store.stateFloats, (s) => t.store.stateByteOffset(s));
    if (t.store.dynamic) await write(new Uint8Array(Int32Array.from(t.slots, (slot) => t.store.lastUpdateOf(slot)).buffer));
    const sketch = t.store.admission?.sketch;
    // A copy: the sketch's own memory is not to be read while the write is in flight.
    if (sketch && sketch.length > 0) await write(new Uint8Array(sketch.slice().buffer));
  }
}

/**
 * Restores this shard from a checkpoint taken with any number of shards: each saved row that
 * this shard owns under the current shard count is loaded with its optimizer state; rows not
 * in the checkpoint come back as their deterministic init. Every file is read, verified
 * against the manifest (size, sha256) and checked against this job's tables before the
 * tables are touched, so a missing, damaged or mismatched checkpoint leaves them exactly as
 * they were.
 */
export function restoreShard(service: PsService, manifest: CheckpointManifest, dir: string): number {
  const staged: LoadPart[] = [];
  const stagedLastUpdate: (Int32Array | null)[] = [];
  // Admission sketches: this shard's own when the shard count is unchanged; otherwise every
  // shard's summed (a count can only grow: an id is admitted on time or early, never late).
  const sketches: { table: string; sketch: Uint32Array }[] = [];
  const sameLayout = manifest.numShards === service.numShards;
  for (const info of manifest.shards) {
    const { tables } = readShardSnapshot(join(dir, info.file), info);
    for (const part of tables) {
      if (!service.hasTable(part.table)) continue;
      if (part.sketch && (!sameLayout || info.shard === service.shard)) sketches.push({ table: part.table, sketch: part.sketch });
      const store = service.table(part.table);
      if (store.dim !== part.dim || (part.state && store.stateFloats !== part.stateFloats)) {
        throw new RowshardError(
          ErrorCodes.BAD_CHECKPOINT,
          `${info.file}: table '${part.table}' was saved with dim ${part.dim} / ${part.stateFloats} state floats; this job has ${store.dim} / ${store.stateFloats}`,
          { file: info.file },
        );
      }
      const mine = service.ownedPositions(part.table, part.ids);
      if (mine.length === 0) continue;
      const ids =
        part.ids instanceof BigUint64Array
          ? BigUint64Array.from(mine, (i) => (part.ids as BigUint64Array)[i])
          : Float64Array.from(mine, (i) => (part.ids as Float64Array)[i]);
      const rows = new Float32Array(mine.length * part.dim);
      const state = part.state && store.stateFloats > 0 ? new Float32Array(mine.length * store.stateFloats) : undefined;
      for (let k = 0; k < mine.length; k++) {
        copyRow(part.weight, mine[k] * part.dim, rows, k * part.dim, part.dim);
        if (state && part.state) copyRow(part.state, mine[k] * part.stateFloats, state, k * part.stateFloats, part.stateFloats);
      }
      staged.push({ table: part.table, ids, rows, ...(state ? { state } : {}) });
      const saved = part.lastUpdate;
      stagedLastUpdate.push(saved ? Int32Array.from(mine, (i) => saved[i]) : null);
    }
  }
  try {
    service.checkLoad(staged);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new RowshardError(ErrorCodes.BAD_CHECKPOINT, `${dir}: does not fit this job: ${why}`, { file: dir });
  }
  service.resetTables();
  service.setClock(manifest.step);
  const loaded = service.loadChecked(staged);
  // Last update steps (rows of a checkpoint without them count as updated at its step) and sketches.
  staged.forEach((part, k) => {
    const store = service.table(part.table);
    const last = stagedLastUpdate[k];
    if (!store.dynamic || !last) return;
    const halves = idHalves(part.ids);
    for (let i = 0; i < part.ids.length; i++) store.touch(store.find(halves[2 * i], halves[2 * i + 1]), last[i]);
  });
  for (const { table, sketch } of sketches) {
    const admission = service.table(table).admission;
    if (admission && admission.sketch.length === sketch.length) admission.addSketch(sketch);
  }
  return loaded;
}
