import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DenseMatrix,
  type FastTextArgs,
  FastTextDictionary,
  fastTextModelHead,
  serializeFastTextModel,
  type TableSpec,
  tableSpec,
} from '@rowshard/core';
import { kernelRowInitializer } from '@rowshard/kernels';
import { afterEach, describe, expect, it } from 'vitest';
import type { SavedRows } from '../checkpoint-reader.js';
import { ModelDraft } from './model-draft.js';
import { SavedRowsMatrix } from './saved-matrix.js';

const corpus = Buffer.from('__label__a x y z x\n__label__b y w v\n__label__a z z x w\n', 'latin1');
const dictOptions = {
  labelPrefix: '__label__',
  minn: 0,
  maxn: 0,
  bucket: 50,
  wordNgrams: 2,
  minCount: 1,
  minCountLabel: 0,
};
const dict = FastTextDictionary.build(corpus, dictOptions);
const dim = 6; // not a multiple of 4: the row writes' tails
const args: FastTextArgs = {
  dim,
  ws: 5,
  epoch: 3,
  minCount: 1,
  neg: 5,
  wordNgrams: 2,
  loss: 'softmax',
  model: 'sup',
  bucket: 50,
  minn: 0,
  maxn: 0,
  lrUpdateRate: 100,
  t: 1e-4,
};
const spec = tableSpec({
  name: 'embedding',
  numEmbeddings: dict.nwords + 50,
  embeddingDim: dim,
  init: { kind: 'uniform', a: -1 / dim, b: 1 / dim },
});
const output = new DenseMatrix(
  dict.nlabels,
  dim,
  Float32Array.from({ length: dict.nlabels * dim }, (_, i) => i / 7),
);

/** Trained rows at `ids` (ascending), the rest their init: what readSavedRows gives from a checkpoint. */
function savedRows(table: TableSpec, seed: number, ids: number[]): SavedRows {
  const rows = Float32Array.from({ length: ids.length * dim }, (_, i) => Math.sin(i + 1));
  const init = kernelRowInitializer(table, seed);
  const row = (id: number, out: Float32Array, offset: number) => {
    const at = ids.indexOf(id);
    if (at < 0) init.fill(id, 0, out, offset);
    else out.set(rows.subarray(at * dim, (at + 1) * dim), offset);
  };
  return {
    spec: table,
    ids: Float64Array.from(ids),
    rows,
    row,
    fillRows: (first, count, out) => {
      for (let r = 0; r < count; r++) row(first + r, out, r * dim);
    },
  };
}

describe('ModelDraft', () => {
  const dirs: string[] = [];
  const scratch = () => {
    const dir = mkdtempSync(join(tmpdir(), 'rowshard-draft-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const head = fastTextModelHead(args, dict, false);

  it('finishes into the bytes serializeFastTextModel writes: trained rows over the init, then the output matrix', async () => {
    const dir = scratch();
    const path = join(dir, 'model.bin');
    const draft = ModelDraft.startInline(path, { modelHead: head, spec, seed: 3 });
    // Runs of consecutive ids (one write each), lone ids, the first and the last row.
    const saved = savedRows(spec, 3, [0, 1, 2, 5, 9, 10, 30, spec.numEmbeddings - 1]);
    expect(await draft.finish(saved, 3, head, output)).toBe(true);
    // Each chunk copied as it comes: a matrix's chunks share one buffer, refilled for the next.
    const expected = Buffer.concat(
      Array.from(serializeFastTextModel({ args, dict, input: new SavedRowsMatrix(saved), output }), (c) => Buffer.from(c)),
    );
    expect(readFileSync(path).equals(expected)).toBe(true);
    expect(readdirSync(dir)).toEqual(['model.bin']);
  });

  it('finishes the blocks its thread did not write: the same bytes whoever wrote each block', async () => {
    // 40,000 buckets: three blocks of 16,384 rows. The "thread" writes none, one or all of them;
    // finish writes the rest.
    const big = tableSpec({
      name: 'embedding',
      numEmbeddings: dict.nwords + 40_000,
      embeddingDim: dim,
      init: { kind: 'uniform', a: -1 / dim, b: 1 / dim },
    });
    const bigArgs = { ...args, bucket: 40_000 };
    const bigDict = FastTextDictionary.build(corpus, { ...dictOptions, bucket: 40_000 });
    const bigHead = fastTextModelHead(bigArgs, bigDict, false);
    const saved = savedRows(big, 3, [0, 2, 16_383, 16_384, 39_000]);
    const expected = Buffer.concat(
      Array.from(serializeFastTextModel({ args: bigArgs, dict: bigDict, input: new SavedRowsMatrix(saved), output }), (c) =>
        Buffer.from(c),
      ),
    );
    for (const written of [0, 1, 3]) {
      const dir = scratch();
      const path = join(dir, 'model.bin');
      const draft = ModelDraft.startInline(path, { modelHead: bigHead, spec: big, seed: 3 }, written);
      expect(await draft.finish(saved, 3, bigHead, output)).toBe(true);
      expect(readFileSync(path).equals(expected)).toBe(true);
    }
  });

  it('is not used, and leaves nothing, when training ended with another table, seed or head', async () => {
    const dir = scratch();
    const path = join(dir, 'model.bin');
    const other = tableSpec({ name: 'embedding', numEmbeddings: spec.numEmbeddings, embeddingDim: dim });
    const cases: [SavedRows, number, Uint8Array][] = [
      [savedRows(other, 3, [1]), 3, head],
      [savedRows(spec, 4, [1]), 4, head],
      [savedRows(spec, 3, [1]), 3, fastTextModelHead({ ...args, epoch: 4 }, dict, false)],
    ];
    for (const [saved, seed, finalHead] of cases) {
      const draft = ModelDraft.startInline(path, { modelHead: head, spec, seed: 3 });
      expect(await draft.finish(saved, seed, finalHead, output)).toBe(false);
      expect(readdirSync(dir)).toEqual([]);
    }
  });

  it('is not used when its file could not be written, and abandon removes it', async () => {
    const missing = join(scratch(), 'no-such-dir', 'model.bin');
    const failed = ModelDraft.startInline(missing, { modelHead: head, spec, seed: 3 });
    expect(await failed.finish(savedRows(spec, 3, [1]), 3, head, output)).toBe(false);
    const dir = scratch();
    const abandoned = ModelDraft.startInline(join(dir, 'model.bin'), { modelHead: head, spec, seed: 3 });
    await abandoned.abandon();
    expect(existsSync(join(dir, 'model.bin.draft'))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
