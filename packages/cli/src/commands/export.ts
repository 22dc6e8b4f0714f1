import { existsSync, statSync } from 'node:fs';
import { writeFileWhole } from '@rowshard/coordinator/files';
import {
  buildSafetensorsHeader,
  ErrorCodes,
  EXPORTED_PARAM,
  formatVectorLine,
  npyHeader,
  RowshardError,
  type TensorEntry,
  torchOptimizerState,
} from '@rowshard/core';
import { type FullTable, readFullTable, readManifest, readTableWords, resolveCheckpointDir } from '../checkpoint-reader.js';
import { isNativeModelFile, loadNativeModel } from '../fasttext/native-model.js';
import { type Command, parseFlags, usageError } from './command.js';

const bytesOf = (a: Float32Array | BigUint64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function* textLines(lines: Iterable<string>, encoding: BufferEncoding = 'utf8'): Iterable<Uint8Array> {
  let buf = '';
  for (const line of lines) {
    buf += `${line}\n`;
    if (buf.length > 1 << 20) {
      yield Buffer.from(buf, encoding);
      buf = '';
    }
  }
  if (buf) yield Buffer.from(buf, encoding);
}

interface StateTensor {
  /** `state.weight.exp_avg`: see core's checkpoint/torch-state-names. */
  readonly name: string;
  /** PyTorch's key in the parameter's state: `exp_avg`, `sum`, `step`. */
  readonly key: string;
  readonly shape: number[];
  readonly data: Float32Array;
}

/**
 * A table's optimizer state as PyTorch names it: one tensor per slot, [rows, dim] (row-wise
 * Adagrad's `sum`: [rows]), and the step count as a float32 scalar. Null for a table that was
 * never trained (no optimizer).
 */
function stateTensors(t: FullTable): { className: string; paramGroup: Record<string, unknown>; tensors: StateTensor[] } | null {
  if (!t.optimizer) return null;
  const rows = t.rows;
  const torch = torchOptimizerState(t.optimizer, t.spec.embeddingDim);
  const tensors: StateTensor[] = torch.slots.map((slot) => {
    const data = new Float32Array(rows * slot.width);
    if (t.state) {
      for (let r = 0; r < rows; r++) {
        const from = r * t.stateFloats + slot.offset;
        data.set(t.state.subarray(from, from + slot.width), r * slot.width);
      }
    }
    return { name: slot.tensor, key: slot.key, shape: slot.width === 1 ? [rows] : [rows, slot.width], data };
  });
  if (torch.stepTensor) tensors.push({ name: torch.stepTensor, key: 'step', shape: [], data: Float32Array.of(t.optimizerStep) });
  return { className: torch.className, paramGroup: torch.paramGroup, tensors };
}

export const exportCommand: Command = {
  summary: 'write a table of a checkpoint, or a matrix of a fastText model, as .npy, safetensors, word2vec or GloVe text',
  usage:
    'rowshard export <checkpoint> --table T --format npy|safetensors|word2vec|glove|tsv [--out FILE] [--with-state] [--vocab FILE]\n' +
    '       rowshard export MODEL.bin|MODEL.ftz --table input|output --format npy|safetensors|word2vec|glove|tsv [--out FILE]',
  async run(argv) {
    const { values, positionals } = parseFlags('export', argv, {
      table: { type: 'string' },
      format: { type: 'string', default: 'npy' },
      out: { type: 'string' },
      'with-state': { type: 'boolean', default: false },
      vocab: { type: 'string' },
    });
    if (positionals.length !== 1) throw usageError('export', `expected one checkpoint path\nusage: ${this.usage}`);
    const table = values.table;
    if (typeof table !== 'string') throw usageError('export', `--table is required\nusage: ${this.usage}`);
    const format = String(values.format);
    if (!['npy', 'safetensors', 'word2vec', 'glove', 'tsv'].includes(format)) {
      throw usageError('export', `--format must be npy, safetensors, word2vec, glove or tsv, got ${format}`);
    }
    // A fastText .bin/.ftz is told by its signature, whatever its name.
    if (isNativeModelFile(positionals[0])) {
      if (values['with-state'] === true || typeof values.vocab === 'string')
        throw usageError(
          'export',
          `${positionals[0]} is a fastText model: it has no optimizer state, and its words are its own (--with-state and --vocab are for checkpoints)`,
        );
      return exportFastTextMatrix(positionals[0], table, format, typeof values.out === 'string' ? values.out : null);
    }
    const source = positionals[0];
    if (existsSync(source) && !statSync(source).isDirectory())
      throw new RowshardError(
        ErrorCodes.BAD_DATA,
        `${source}: neither a checkpoint directory nor a fastText model file (.bin/.ftz: no fastText signature)`,
        { file: source },
      );
    const dir = resolveCheckpointDir(source);
    const manifest = readManifest(dir);
    const t = readFullTable(dir, manifest, table);
    // A hashed table's rows are the ids it holds (t.ids, ascending); a dense table's are 0 .. numEmbeddings-1.
    const { rows, ids } = t;
    const dim = t.spec.embeddingDim;
    const ext = format === 'glove' || format === 'word2vec' ? 'txt' : format;
    const out = typeof values.out === 'string' ? values.out : `${table}.${ext}`;
    const withState = values['with-state'] === true;
    if (withState && (format === 'word2vec' || format === 'glove' || format === 'tsv'))
      throw usageError('export', `--with-state writes the optimizer state as tensors: use --format npy or safetensors`);
    const state = withState ? stateTensors(t) : null;
    const files = [out];
    let bytes: number;
    if (format === 'npy') {
      bytes = writeFileWhole(out, [npyHeader([rows, dim]), bytesOf(t.weight)]);
      if (ids) {
        // Row i of emb.npy is the id at i of emb.ids.npy (uint64).
        const file = `${out.replace(/\.npy$/, '')}.ids.npy`;
        bytes += writeFileWhole(file, [npyHeader([rows], '<u8'), bytesOf(ids)]);
        files.push(file);
      }
      // One file per state tensor beside the table's: emb.npy, emb.exp_avg.npy, emb.step.npy.
      for (const s of state?.tensors ?? []) {
        const file = `${out.replace(/\.npy$/, '')}.${s.key}.npy`;
        bytes += writeFileWhole(file, [npyHeader(s.shape), bytesOf(s.data)]);
        files.push(file);
      }
    } else if (format === 'safetensors') {
      const entries: TensorEntry[] = [{ name: EXPORTED_PARAM, dtype: 'F32', shape: [rows, dim] }];
      const chunks = [bytesOf(t.weight)];
      if (ids) {
        entries.push({ name: 'ids', dtype: 'U64', shape: [rows] });
        chunks.push(bytesOf(ids));
      }
      for (const s of state?.tensors ?? []) {
        entries.push({ name: s.name, dtype: 'F32', shape: s.shape });
        chunks.push(bytesOf(s.data));
      }
      const { header } = buildSafetensorsHeader(entries, {
        table,
        step: String(manifest.step),
        ...(state
          ? { optimizer: state.className, param_groups: JSON.stringify([state.paramGroup]), slots: JSON.stringify(t.slotNames) }
          : {}),
      });
      bytes = writeFileWhole(out, [header, ...chunks]);
    } else {
      const words = readTableWords(dir, manifest, table, typeof values.vocab === 'string' ? values.vocab : null)?.words;
      const wordOf = (r: number) => (ids ? ids[r].toString() : (words?.[r] ?? String(r)));
      function* lines(): Iterable<string> {
        if (format === 'word2vec') yield `${rows} ${dim}`;
        for (let r = 0; r < rows; r++) {
          // tsv: the id (or word), then its values, tab-separated.
          if (format === 'tsv') yield wordOf(r) + formatVectorLine('', t.weight, r * dim, dim).replaceAll(' ', '\t');
          else yield formatVectorLine(wordOf(r), t.weight, r * dim, dim);
        }
      }
      bytes = writeFileWhole(out, textLines(lines()));
    }
    process.stdout.write(
      `${JSON.stringify({
        event: 'exported',
        table,
        format,
        file: out,
        rows,
        dim,
        bytes,
        step: manifest.step,
        ...(ids ? { hashed: true } : {}),
        ...(state || files.length > 1 ? { files } : {}),
        ...(state ? { optimizer: state.className, state: state.tensors.map((s) => s.name) } : {}),
      })}\n`,
    );
    return 0;
  },
};

/** `emb.npy` → `emb.words.txt`: the words of a fastText matrix's rows, beside its npy or safetensors export. */
const wordsFileOf = (out: string) => `${out.replace(/\.(npy|safetensors)$/, '')}.words.txt`;

/**
 * A fastText model's input or output matrix, written by the same writers as a checkpoint's
 * table. `input`: the words' rows, then the n-gram buckets' (a `.ftz`: dequantised, as
 * fastText reads them); `output`: a row per label (supervised) or per word (skipgram, cbow).
 * npy and safetensors hold every row, with the named rows' words beside them in
 * `<out>.words.txt` (line i = row i; the buckets have no word, so the input's file has
 * nwords lines). word2vec, GloVe and tsv name each row by its word, so they hold only the
 * rows that have one: the input's buckets are left out (a word's row is its own, not the
 * average with its character n-grams that print-word-vectors gives).
 */
function exportFastTextMatrix(path: string, table: string, format: string, given: string | null): number {
  if (table !== 'input' && table !== 'output')
    throw usageError('export', `${path} is a fastText model: --table must be input or output, got ${table}`);
  const { file, dict } = loadNativeModel(path);
  const m = table === 'input' ? file.input : file.output;
  const quantised = table === 'input' ? file.quantInput : file.quantOutput;
  const { rows, cols: dim } = m;
  // Each row as fastText reads it: a quantised row decoded (its norm applied with -qnorm).
  const weight = new Float32Array(rows * dim);
  const row = new Float32Array(dim);
  for (let r = 0; r < rows; r++) {
    row.fill(0);
    m.addRowToVector(row, r);
    weight.set(row, r * dim);
  }
  const named = table === 'input' ? dict.nwords : Math.min(rows, file.args.model === 'sup' ? dict.nlabels : dict.nwords);
  const wordOf = (r: number) => (table === 'output' && file.args.model === 'sup' ? dict.label(r) : dict.word(r));
  const ext = format === 'glove' || format === 'word2vec' ? 'txt' : format;
  const out = given ?? `${table}.${ext}`;
  const files = [out];
  let bytes: number;
  let written = rows;
  if (format === 'npy' || format === 'safetensors') {
    if (format === 'npy') bytes = writeFileWhole(out, [npyHeader([rows, dim]), bytesOf(weight)]);
    else {
      const { header } = buildSafetensorsHeader([{ name: EXPORTED_PARAM, dtype: 'F32', shape: [rows, dim] }], {
        table,
        source: 'fasttext',
        model: file.args.model,
        words: String(named),
      });
      bytes = writeFileWhole(out, [header, bytesOf(weight)]);
    }
    const wordsFile = wordsFileOf(out);
    bytes += writeFileWhole(
      wordsFile,
      textLines(
        Array.from({ length: named }, (_, r) => wordOf(r)),
        'latin1',
      ),
    );
    files.push(wordsFile);
  } else {
    written = named;
    function* lines(): Iterable<string> {
      if (format === 'word2vec') yield `${named} ${dim}`;
      for (let r = 0; r < named; r++) {
        if (format === 'tsv') yield wordOf(r) + formatVectorLine('', weight, r * dim, dim).replaceAll(' ', '\t');
        else yield formatVectorLine(wordOf(r), weight, r * dim, dim);
      }
    }
    bytes = writeFileWhole(out, textLines(lines(), 'latin1'));
  }
  process.stdout.write(
    `${JSON.stringify({
      event: 'exported',
      model: path,
      table,
      format,
      file: out,
      rows: written,
      dim,
      bytes,
      words: named,
      ...(quantised ? { dequantised: true } : {}),
      ...(files.length > 1 ? { files } : {}),
    })}\n`,
  );
  return 0;
}
