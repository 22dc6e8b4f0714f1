import { dumpArgs, ErrorCodes, formatFixed, formatG, type LabelScore, RowshardError, utf8Word } from '@rowshard/core';
import { formatHelp } from '../command-line/help.js';
import { type CommandLineSpec, parseCommandLine } from '../command-line/parse.js';
import { fastTextLines, inputWords, textLineWords, writeBytes } from '../fasttext/byte-input.js';
import { loadNativeModel, type NativeModel, openNativeModel } from '../fasttext/native-model.js';
import { type Command, usageError } from './command.js';

/**
 * fastText's inspection commands over a fastText 0.9.x model file (`.bin`, or `.ftz` from
 * `fasttext quantize`): the same arguments, the same tokenisation and hashing, the same
 * numbers, printed as fastText prints them, so rowshard can stand in for `fasttext` in a
 * script. `predict` and `test` (fasttext.ts) come here for a fastText file too.
 */

/** k as fastText takes it: a positive integer, or -1 for every label. */
export function parseK(command: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const k = Number(raw);
  if (!Number.isInteger(k) || (k < 1 && k !== -1))
    throw new RowshardError(
      ErrorCodes.BAD_CONFIG,
      `${command}: k must be a positive integer or -1 (every label), got ${JSON.stringify(raw)}`,
      { field: 'k' },
    );
  return k;
}

export function parseThreshold(command: string, raw: string | undefined): number {
  if (raw === undefined) return 0;
  const t = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(t))
    throw new RowshardError(ErrorCodes.BAD_CONFIG, `${command}: threshold must be a number, got ${JSON.stringify(raw)}`, {
      field: 'threshold',
    });
  return t;
}

function requireSupervised(command: string, m: NativeModel): void {
  if (m.file.args.model !== 'sup')
    throw new RowshardError(
      ErrorCodes.BAD_CONFIG,
      `${command}: ${m.path} is a ${m.file.args.model} model (word vectors); ${command} needs a supervised one`,
      { file: m.path },
    );
}

/** `fasttext predict|predict-prob MODEL FILE k threshold`: one line per line of input (fastTextLines). */
export async function nativePredict(m: NativeModel, input: string, k: number, threshold: number, withProb: boolean) {
  requireSupervised(withProb ? 'predict-prob' : 'predict', m);
  const { dict, model } = m;
  for await (const words of fastTextLines(input)) {
    const preds = model.predict(dict.line(words).ids, k, threshold);
    const parts = preds.map((p) =>
      withProb ? `${dict.label(p.label)} ${formatG(Math.fround(Math.exp(p.logProb)))}` : dict.label(p.label),
    );
    await writeBytes(`${parts.join(' ')}\n`);
  }
}

/** fastText's `Meter` over one pass of labelled data, with per-label gold counted. */
export async function nativeTest(m: NativeModel, input: string, k: number, threshold: number) {
  requireSupervised('test', m);
  const { dict, model } = m;
  const n = dict.nlabels;
  const perLabel = { predicted: new Float64Array(n), gold: new Float64Array(n), correct: new Float64Array(n) };
  let examples = 0;
  let gold = 0;
  let predicted = 0;
  let correct = 0;
  for await (const words of fastTextLines(input)) {
    const { ids, labels } = dict.line(words);
    if (labels.length === 0 || ids.length === 0) continue;
    const preds: LabelScore[] = model.predict(ids, k, threshold);
    examples++;
    gold += labels.length;
    predicted += preds.length;
    for (const p of preds) {
      perLabel.predicted[p.label]++;
      if (labels.includes(p.label)) {
        perLabel.correct[p.label]++;
        correct++;
      }
    }
    for (const l of labels) perLabel.gold[l]++;
  }
  return { examples, gold, predicted, correct, perLabel };
}

/**
 * fastText's general lines: `N`, `P@k`, `R@k` at 3 digits: significant digits after `test`
 * (0.4), decimals after `test-label`, whose per-label lines leave the stream in fixed mode (0.400).
 */
export function generalMetrics(
  r: { examples: number; gold: number; predicted: number; correct: number },
  k: number,
  fixed = false,
): string {
  const f = (x: number) => (fixed ? formatFixed(x, 3) : formatG(x, 3));
  const ratio = (a: number, b: number) => (b === 0 ? Number.NaN : a / b);
  return `N\t${r.examples}\nP@${k}\t${f(ratio(r.correct, r.predicted))}\nR@${k}\t${f(ratio(r.correct, r.gold))}\n`;
}

const modelAndInput = (command: string, summary: string, extra: CommandLineSpec['positionals'] = []): CommandLineSpec => ({
  command,
  summary,
  dash: '-',
  options: [],
  positionals: [{ name: 'MODEL', help: 'a fastText .bin or .ftz (fastText 0.9.x)' }, ...(extra ?? [])],
});

const testLabelLine = modelAndInput(
  'test-label',
  'fastText test-label: F1, precision and recall of each label, then N, P@k, R@k',
  [
    { name: 'FILE', help: 'labelled data in fastText format (- reads stdin)' },
    { name: 'k', help: 'labels predicted per line, -1 for all (default 1)', optional: true },
    { name: 'threshold', help: 'leave out labels below this probability (default 0)', optional: true },
  ],
);
const printWordVectorsLine = {
  ...modelAndInput(
    'print-word-vectors',
    'fastText print-word-vectors: the vector of each word read from stdin (subwords included)',
  ),
  notes: ['example: echo "king queen" | rowshard print-word-vectors model.bin'],
};
const printSentenceVectorsLine = {
  ...modelAndInput('print-sentence-vectors', 'fastText print-sentence-vectors: the vector of each line read from stdin'),
  notes: ['example: rowshard print-sentence-vectors model.bin < texts.txt'],
};
const nnLine = modelAndInput('nn', 'fastText nn: the k nearest words by cosine of each query word read from stdin', [
  { name: 'k', help: 'neighbours per query (default 10)', optional: true },
]);
const analogiesLine = modelAndInput(
  'analogies',
  'fastText analogies: the k words nearest A − B + C for each triplet read from stdin',
  [{ name: 'k', help: 'answers per triplet (default 10)', optional: true }],
);
const dumpLine = modelAndInput('dump', 'fastText dump: the arguments, dictionary, input or output matrix of a model', [
  { name: 'args|dict|input|output', help: 'what to print' },
]);

function positionalsOf(spec: CommandLineSpec, argv: readonly string[], min: number, usage: string): string[] {
  const { positionals } = parseCommandLine(spec, argv, () => formatHelp(spec));
  const max = spec.positionals?.length ?? 0;
  if (positionals.length < min || positionals.length > max) throw usageError(spec.command, `usage: ${usage}`);
  return positionals;
}

export const testLabelCommand: Command = {
  summary: testLabelLine.summary,
  usage: 'rowshard test-label model.bin test.txt [k] [threshold]',
  help: () => formatHelp(testLabelLine),
  async run(argv) {
    const [modelPath, input, rawK, rawT] = positionalsOf(testLabelLine, argv, 2, this.usage);
    const k = parseK('test-label', rawK, 1);
    const threshold = parseThreshold('test-label', rawT);
    const m = openNativeModel(modelPath);
    const r = await nativeTest(m, input, k, threshold).finally(() => m.close());
    const metric = (name: string, v: number) => `${name} : ${Number.isFinite(v) ? formatFixed(v, 6) : '--------'}  `;
    const lines: string[] = [];
    for (let l = 0; l < m.dict.nlabels; l++) {
      const p = r.perLabel.correct[l] / r.perLabel.predicted[l];
      const rc = r.perLabel.correct[l] / r.perLabel.gold[l];
      const f1 = (2 * r.perLabel.correct[l]) / (r.perLabel.predicted[l] + r.perLabel.gold[l]);
      lines.push(`${metric('F1-Score', f1)}${metric('Precision', p)}${metric('Recall', rc)} ${m.dict.label(l)}\n`);
    }
    await writeBytes(lines.join('') + generalMetrics(r, k, true));
    return 0;
  },
};

/** Vectors as fastText's `operator<<(Vector)`: 5 significant digits, each followed by a space. */
const vectorText = (v: Float32Array) => {
  let s = '';
  for (const x of v) s += `${formatG(x, 5)} `;
  return s;
};

export const printWordVectorsCommand: Command = {
  summary: printWordVectorsLine.summary,
  usage: 'rowshard print-word-vectors model.bin < words.txt',
  help: () => formatHelp(printWordVectorsLine),
  async run(argv) {
    const [modelPath] = positionalsOf(printWordVectorsLine, argv, 1, this.usage);
    const { model, close } = openNativeModel(modelPath);
    try {
      for await (const word of inputWords('-')) await writeBytes(`${word} ${vectorText(model.wordVector(word))}\n`);
    } finally {
      close();
    }
    return 0;
  },
};

export const printSentenceVectorsCommand: Command = {
  summary: printSentenceVectorsLine.summary,
  usage: 'rowshard print-sentence-vectors model.bin < texts.txt',
  help: () => formatHelp(printSentenceVectorsLine),
  async run(argv) {
    const [modelPath] = positionalsOf(printSentenceVectorsLine, argv, 1, this.usage);
    const { model, close } = openNativeModel(modelPath);
    // As fastText's getSentenceVector: a supervised model's lines by getLine (a `</s>` written in
    // the text ends one), a word-vector model's each a text line, every word of it.
    const lines = model.args.model === 'sup' ? fastTextLines('-') : textLineWords('-');
    try {
      for await (const words of lines) await writeBytes(`${vectorText(model.sentenceVector(words))}\n`);
    } finally {
      close();
    }
    return 0;
  },
};

const neighbourLines = (hits: { word: string; similarity: number }[]) =>
  hits.map((h) => `${h.word} ${formatG(h.similarity)}\n`).join('');

export const nnCommand: Command = {
  summary: nnLine.summary,
  usage: 'rowshard nn model.bin [k] < words.txt',
  help: () => formatHelp(nnLine),
  async run(argv) {
    const [modelPath, rawK] = positionalsOf(nnLine, argv, 1, this.usage);
    const k = parseK('nn', rawK, 10);
    if (k < 1) throw usageError('nn', 'k must be a positive integer');
    const { model } = loadNativeModel(modelPath);
    const prompt = 'Query word? ';
    await writeBytes(prompt);
    for await (const word of inputWords('-')) await writeBytes(neighbourLines(model.neighbours(word, k)) + prompt);
    return 0;
  },
};

export const analogiesCommand: Command = {
  summary: analogiesLine.summary,
  usage: 'rowshard analogies model.bin [k] < triplets.txt',
  help: () => formatHelp(analogiesLine),
  async run(argv) {
    const [modelPath, rawK] = positionalsOf(analogiesLine, argv, 1, this.usage);
    const k = parseK('analogies', rawK, 10);
    if (k < 1) throw usageError('analogies', 'k must be a positive integer');
    await writeBytes(`Loading model ${utf8Word(modelPath)}\n`);
    const { model } = loadNativeModel(modelPath);
    const prompt = 'Query triplet (A - B + C)? ';
    await writeBytes(prompt);
    // fastText loops forever at the end of its input; rowshard stops there.
    const triplet: string[] = [];
    for await (const word of inputWords('-')) {
      triplet.push(word);
      if (triplet.length < 3) continue;
      const [a, b, c] = triplet.splice(0, 3);
      await writeBytes(neighbourLines(model.analogies(k, a, b, c)) + prompt);
    }
    return 0;
  },
};

export const dumpCommand: Command = {
  summary: dumpLine.summary,
  usage: 'rowshard dump model.bin args|dict|input|output',
  help: () => formatHelp(dumpLine),
  async run(argv) {
    const [modelPath, what] = positionalsOf(dumpLine, argv, 2, this.usage);
    if (!['args', 'dict', 'input', 'output'].includes(what))
      throw usageError('dump', `what to dump must be args, dict, input or output, got ${JSON.stringify(what)}`);
    const m = loadNativeModel(modelPath);
    if (what === 'args') await writeBytes(dumpArgs(m.file.args, (x) => formatG(x)));
    else if (what === 'dict') await writeBytes(m.dict.dump());
    else {
      const matrix = what === 'input' ? m.file.input : m.file.output;
      const quantised = what === 'input' ? m.file.quantInput : m.file.quantInput && m.file.quantOutput;
      if (quantised || !('data' in matrix))
        throw new RowshardError(
          ErrorCodes.UNSUPPORTED,
          `dump: the ${what} matrix of ${modelPath} is quantised (fastText does not dump it either)`,
          {
            file: modelPath,
          },
        );
      const data = (matrix as { data: Float32Array }).data;
      await writeBytes(`${matrix.rows} ${matrix.cols}\n`);
      for (let i = 0; i < matrix.rows; i++) {
        const row: string[] = [];
        for (let j = 0; j < matrix.cols; j++) row.push(formatG(data[i * matrix.cols + j]));
        await writeBytes(`${row.join(' ')}\n`);
      }
    }
    return 0;
  },
};
