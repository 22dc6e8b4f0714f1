import { readFileSync } from 'node:fs';
import {
  ErrorCodes,
  type PretrainedSource,
  parseNpy,
  parseSafetensorsHeader,
  parseVectorLine,
  parseVocabulary,
  parseWord2vecHeader,
  RowshardError,
  rowInitializer,
  type TableSpec,
  viewTensor,
} from '@rowshard/core';

/**
 * nn.Embedding.from_pretrained for a job's table: the whole table's starting rows from an
 * .npy, a safetensors file, word2vec text or GloVe text. Text files carry words: with a
 * vocabulary (one word per line, line i = row i) each vector goes to its word's row and rows
 * whose word the file lacks keep their init; without one, vector i is row i.
 */
export function loadPretrained(spec: TableSpec, source: PretrainedSource, seed: number): Float32Array {
  const dim = spec.embeddingDim;
  const rows = spec.numEmbeddings;
  const file = source.path;
  const fail = (why: string) => new RowshardError(ErrorCodes.BAD_DATA, `${file}: ${why}`, { file, table: spec.name });
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw fail(`cannot read (${(e as Error).message})`);
  }
  const checkShape = (shape: readonly number[]) => {
    if (shape.length !== 2 || shape[1] !== dim || shape[0] > rows) {
      throw fail(`holds [${shape.join(', ')}]; table '${spec.name}' is [${rows}, ${dim}]`);
    }
  };
  const out = new Float32Array(rows * dim);
  const init = rowInitializer(spec, seed);
  const filled = new Uint8Array(rows);
  switch (source.format) {
    case 'npy': {
      const a = parseNpy(bytes, file);
      checkShape(a.shape);
      out.set(a.data);
      filled.fill(1, 0, a.shape[0]);
      break;
    }
    case 'safetensors': {
      const h = parseSafetensorsHeader(bytes, bytes.length, file);
      const t = h.tensors.find((x) => x.name === 'weight') ?? (h.tensors.length === 1 ? h.tensors[0] : undefined);
      if (!t) throw fail(`has no tensor named 'weight' (tensors: ${h.tensors.map((x) => x.name).join(', ')})`);
      if (t.dtype !== 'F32') throw fail(`tensor '${t.name}' is ${t.dtype}; F32 is supported`);
      checkShape(t.shape);
      out.set(viewTensor(bytes.subarray(h.dataStart + t.begin, h.dataStart + t.end), 'F32') as Float32Array);
      filled.fill(1, 0, t.shape[0]);
      break;
    }
    case 'word2vec':
    case 'glove': {
      const vocab = source.vocab ? readVocab(source.vocab, rows) : null;
      const lines = bytes.toString('utf8').split('\n');
      let first = 0;
      if (source.format === 'word2vec') {
        const header = parseWord2vecHeader(lines[0] ?? '');
        if (!header) throw fail('line 1: expected "<count> <dim>" (word2vec text); for a file without it use format glove');
        if (header.dim !== dim) throw fail(`line 1: vectors have dim ${header.dim}; table '${spec.name}' has ${dim}`);
        first = 1;
      }
      const row = new Float32Array(dim);
      let next = 0;
      for (let i = first; i < lines.length; i++) {
        if (lines[i].trim() === '') continue;
        const word = parseVectorLine(lines[i], dim, row, 0, file, i + 1);
        const target = vocab ? vocab.get(word) : next++;
        if (target === undefined) continue; // a word the job's vocabulary does not have
        if (target >= rows) throw fail(`line ${i + 1}: more vectors than the table's ${rows} rows`);
        out.set(row, target * dim);
        filled[target] = 1;
      }
      break;
    }
  }
  for (let r = 0; r < rows; r++) if (!filled[r]) init.fill(r, 0, out, r * dim);
  return out;
}

export function readVocab(path: string, rows: number): Map<string, number> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RowshardError(ErrorCodes.BAD_DATA, `${path}: cannot read the vocabulary (${(e as Error).message})`, { file: path });
  }
  const words = parseVocabulary(text, path);
  if (words.length > rows)
    throw new RowshardError(ErrorCodes.BAD_DATA, `${path}: ${words.length} words for a table of ${rows} rows`, { file: path });
  const vocab = new Map<string, number>();
  words.forEach((w, i) => {
    if (!vocab.has(w)) vocab.set(w, i);
  });
  return vocab;
}
