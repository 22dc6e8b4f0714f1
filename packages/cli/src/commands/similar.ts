import { readFullTable, readManifest, readTableWords, resolveCheckpointDir } from '../checkpoint-reader.js';
import { type Command, parseFlags, usageError } from './command.js';

/**
 * Nearest rows by cosine similarity: `rowshard similar <checkpoint> --table T <word|id> [-k 10]`.
 * Words map through the checkpoint's stored vocabulary (or --vocab FILE, one word per line,
 * line i = row i, optionally `word<TAB>count` as training writes it); results print as
 * `rank  word-or-id  cosine`. A hashed table is queried by a 64-bit id among the rows it holds.
 */
export const similarCommand: Command = {
  summary: 'nearest rows of a table by cosine similarity',
  usage: 'rowshard similar <checkpoint> --table T <word|id> [-k 10] [--vocab FILE] [--json]',
  async run(argv) {
    const { values, positionals } = parseFlags('similar', argv, {
      table: { type: 'string' },
      k: { type: 'string', short: 'k', default: '10' },
      vocab: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    if (positionals.length !== 2) throw usageError('similar', `expected a checkpoint and a word or id\nusage: ${this.usage}`);
    if (typeof values.table !== 'string') throw usageError('similar', `--table is required\nusage: ${this.usage}`);
    const k = Number(values.k);
    if (!Number.isInteger(k) || k < 1) throw usageError('similar', `-k must be a positive integer, got ${String(values.k)}`);
    const dir = resolveCheckpointDir(positionals[0]);
    const manifest = readManifest(dir);
    const table = readFullTable(dir, manifest, values.table);
    const words = readTableWords(dir, manifest, values.table, typeof values.vocab === 'string' ? values.vocab : null)?.words;
    const query = positionals[1];
    const ids = table.ids;
    let row = words ? words.indexOf(query) : -1;
    if (ids) {
      // A hashed table: the query is a 64-bit id (decimal or 0x hex), looked up among the rows it holds.
      if (!/^(\d+|0x[0-9a-f]+)$/i.test(query) || BigInt(query) >= 2n ** 64n)
        throw usageError(
          'similar',
          `table '${values.table}' is hashed: give an unsigned 64-bit id (decimal or 0x…), got '${query}'`,
        );
      const id = BigInt(query);
      row = ids.indexOf(id);
      if (row < 0) throw usageError('similar', `id ${id} has no row in table '${values.table}' (never trained, or evicted)`);
    } else if (row < 0) {
      if (!/^\d+$/.test(query)) {
        throw usageError(
          'similar',
          `'${query}' is ${words ? 'not in the vocabulary' : 'not a row id (this checkpoint has no vocabulary; pass --vocab)'}`,
        );
      }
      row = Number(query);
    }
    const rows = table.rows;
    const dim = table.spec.embeddingDim;
    if (row >= rows) throw usageError('similar', `row ${row} is out of range [0, ${rows})`);
    const w = table.weight;
    const norm = (r: number) => {
      let s = 0;
      for (let d = 0; d < dim; d++) s += w[r * dim + d] * w[r * dim + d];
      return Math.sqrt(s);
    };
    const qn = norm(row) || 1;
    // Keep the k best in a small sorted array: one pass, no per-row allocation.
    const best: { row: number; cos: number }[] = [];
    for (let r = 0; r < rows; r++) {
      if (r === row) continue;
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += w[r * dim + d] * w[row * dim + d];
      const cos = dot / (qn * (norm(r) || 1));
      if (best.length < k || cos > best[best.length - 1].cos) {
        best.push({ row: r, cos });
        best.sort((a, b) => b.cos - a.cos);
        if (best.length > k) best.pop();
      }
    }
    const name = (r: number) => (ids ? ids[r].toString() : words?.[r] ? words[r] : String(r));
    if (values.json && ids)
      process.stdout.write(
        `${JSON.stringify({ query, id: ids[row].toString(), neighbours: best.map((b) => ({ id: name(b.row), cosine: b.cos })) })}\n`,
      );
    else if (values.json)
      process.stdout.write(
        `${JSON.stringify({ query, row, neighbours: best.map((b) => ({ row: b.row, word: name(b.row), cosine: b.cos })) })}\n`,
      );
    else
      for (const [i, b] of best.entries())
        process.stdout.write(`${String(i + 1).padStart(3)}  ${name(b.row)}  ${b.cos.toFixed(4)}\n`);
    return 0;
  },
};
