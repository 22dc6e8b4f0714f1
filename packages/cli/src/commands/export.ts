import { writeFileDurably } from '@rowshard/coordinator';
import { buildSafetensorsHeader, formatVectorLine, npyHeader, type TensorEntry } from '@rowshard/core';
import { readFullTable, readManifest, readTableWords, resolveCheckpointDir } from '../checkpoint-reader.js';
import { type Command, parseFlags, usageError } from './command.js';

const writeAtomically = (out: string, chunks: Iterable<Uint8Array>): number => writeFileDurably(out, chunks).bytes;

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function* textLines(lines: Iterable<string>): Iterable<Uint8Array> {
  let buf = '';
  for (const line of lines) {
    buf += `${line}\n`;
    if (buf.length > 1 << 20) {
      yield Buffer.from(buf, 'utf8');
      buf = '';
    }
  }
  if (buf) yield Buffer.from(buf, 'utf8');
}

export const exportCommand: Command = {
  summary: 'write a table of a checkpoint as .npy, safetensors, word2vec or GloVe text',
  usage:
    'rowshard export <checkpoint> --table T --format npy|safetensors|word2vec|glove [--out FILE] [--with-state] [--vocab FILE]',
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
    if (!['npy', 'safetensors', 'word2vec', 'glove'].includes(format)) {
      throw usageError('export', `--format must be npy, safetensors, word2vec or glove, got ${format}`);
    }
    const dir = resolveCheckpointDir(positionals[0]);
    const manifest = readManifest(dir);
    const t = readFullTable(dir, manifest, table);
    const { numEmbeddings: rows, embeddingDim: dim } = t.spec;
    const ext = format === 'glove' || format === 'word2vec' ? 'txt' : format;
    const out = typeof values.out === 'string' ? values.out : `${table}.${ext}`;
    const withState = values['with-state'] === true;
    let bytes: number;
    if (format === 'npy') {
      bytes = writeAtomically(out, [npyHeader([rows, dim]), bytesOf(t.weight)]);
      if (withState && t.state)
        writeAtomically(`${out.replace(/\.npy$/, '')}.state.npy`, [npyHeader([rows, t.stateFloats]), bytesOf(t.state)]);
    } else if (format === 'safetensors') {
      const entries: TensorEntry[] = [{ name: 'weight', dtype: 'F32', shape: [rows, dim] }];
      const chunks = [bytesOf(t.weight)];
      if (withState && t.state) {
        entries.push({ name: `state.${t.slotNames.join('+') || 'slots'}`, dtype: 'F32', shape: [rows, t.stateFloats] });
        chunks.push(bytesOf(t.state));
      }
      const { header } = buildSafetensorsHeader(entries, {
        table,
        step: String(manifest.step),
        slots: JSON.stringify(t.slotNames),
      });
      bytes = writeAtomically(out, [header, ...chunks]);
    } else {
      const words = readTableWords(dir, manifest, table, typeof values.vocab === 'string' ? values.vocab : null)?.words;
      const wordOf = (r: number) => words?.[r] ?? String(r);
      function* lines(): Iterable<string> {
        if (format === 'word2vec') yield `${rows} ${dim}`;
        for (let r = 0; r < rows; r++) yield formatVectorLine(wordOf(r), t.weight, r * dim, dim);
      }
      bytes = writeAtomically(out, textLines(lines()));
    }
    process.stdout.write(
      `${JSON.stringify({ event: 'exported', table, format, file: out, rows, dim, bytes, step: manifest.step })}\n`,
    );
    return 0;
  },
};
