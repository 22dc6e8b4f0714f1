import { once } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import { formatG } from '@rowshard/core';
import { parseFastTextLine, tokenize } from '@rowshard/trainer/data';
import { formatHelp } from '../command-line/help.js';
import { type CommandLineSpec, parseCommandLine } from '../command-line/parse.js';
import { openInput } from '../fasttext/byte-input.js';
import { readFastTextModel } from '../fasttext/model-file.js';
import { isNativeModelFile, openNativeModel } from '../fasttext/native-model.js';
import { FastTextPredictor } from '../fasttext/predictor.js';
import { type Command, usageError } from './command.js';
import { generalMetrics, nativePredict, nativeTest, parseK, parseThreshold } from './fasttext-tools.js';

/**
 * Reads a fastText-format file line by line (stdin for '-'). A file that cannot be opened
 * (missing, a directory, unreadable) is an E_BAD_DATA line naming it, and a read error later
 * ends the loop with that error: never an unhandled stream event.
 */
async function* textLines(path: string): AsyncGenerator<{ line: string; n: number }> {
  // UTF-8 decoded across chunk boundaries (a character may be split between two reads).
  const decoder = new StringDecoder('utf8');
  let n = 0;
  let rest = '';
  for await (const chunk of openInput(path)) {
    rest += decoder.write(chunk as Buffer);
    let start = 0;
    for (let end = rest.indexOf('\n'); end >= 0; end = rest.indexOf('\n', start)) {
      n++;
      yield { line: rest.slice(start, rest[end - 1] === '\r' ? end - 1 : end), n };
      start = end + 1;
    }
    rest = rest.slice(start);
  }
  rest += decoder.end();
  if (rest !== '') yield { line: rest.endsWith('\r') ? rest.slice(0, -1) : rest, n: n + 1 };
}

/** `model.bin file [k] [threshold]`: what `test`, `predict` and `predict-prob` take. */
function predictionCommandLine(command: string, summary: string, fileHelp: string): CommandLineSpec {
  return {
    command,
    summary,
    dash: '-',
    options: [],
    positionals: [
      { name: 'MODEL', help: 'a model written by rowshard supervised, or a fastText .bin/.ftz (fastText 0.9.x)' },
      { name: 'FILE', help: fileHelp },
      { name: 'k', help: 'labels per line, -1 for all (default 1)', optional: true },
      { name: 'threshold', help: 'leave out labels below this probability (default 0)', optional: true },
    ],
  };
}

const testCommandLine = predictionCommandLine(
  'test',
  'fastText test: N, P@k and R@k of a model on labelled data',
  'labelled data in fastText format (- reads stdin)',
);
const predictCommandLine = predictionCommandLine(
  'predict',
  'fastText predict: the k most likely labels of each line (- reads stdin)',
  'text, one example per line (- reads stdin)',
);
const predictProbCommandLine = predictionCommandLine(
  'predict-prob',
  'fastText predict-prob: the k most likely labels of each line with their probabilities (- reads stdin)',
  'text, one example per line (- reads stdin)',
);

/** What `test`, `predict` and `predict-prob` share: `model file [k] [threshold]` checked. */
function predictionArgs(spec: CommandLineSpec, usage: string, argv: readonly string[]) {
  const command = spec.command;
  const { positionals } = parseCommandLine(spec, argv, () => formatHelp(spec));
  if (positionals.length < 2 || positionals.length > 4) throw usageError(command, `usage: ${usage}`);
  const [modelPath, dataPath, rawK, rawThreshold] = positionals;
  return { modelPath, dataPath, k: parseK(command, rawK, 1), threshold: parseThreshold(command, rawThreshold) };
}

/** rowshard's own model file, and each line of the file parsed with the model's label prefix (unlabelled lines allowed). */
function openRowshardModel(modelPath: string, dataPath: string) {
  const predictor = new FastTextPredictor(readFastTextModel(modelPath));
  const prefix = String(predictor.model.args.label ?? '__label__');
  async function* records() {
    for await (const { line, n } of textLines(dataPath)) {
      yield parseFastTextLine(line, { file: dataPath, line: n }, { labelPrefix: prefix, allowUnlabeled: true });
    }
  }
  return { predictor, prefix, records };
}

export const testCommand: Command = {
  summary: testCommandLine.summary,
  usage: 'rowshard test model.bin test.txt [k] [threshold]',
  help: () => formatHelp(testCommandLine),
  async run(argv) {
    const { modelPath, dataPath, k, threshold } = predictionArgs(testCommandLine, this.usage, argv);
    if (isNativeModelFile(modelPath)) {
      const m = openNativeModel(modelPath);
      try {
        process.stdout.write(generalMetrics(await nativeTest(m, dataPath, k, threshold), k));
      } finally {
        m.close();
      }
      return 0;
    }
    const { predictor, records } = openRowshardModel(modelPath, dataPath);
    let examples = 0;
    let gold = 0;
    let predicted = 0;
    let correct = 0;
    for await (const record of records()) {
      if (!record || record.labels.length === 0 || tokenize(record.text).length === 0) continue;
      const preds = predictor.predict(record.text, k, threshold);
      examples++;
      gold += record.labels.length;
      predicted += preds.length;
      for (const p of preds) if (record.labels.includes(p.label)) correct++;
    }
    // fastText's definitions: precision over predictions made, recall over gold labels.
    process.stdout.write(
      `N\t${examples}\nP@${k}\t${(correct / Math.max(1, predicted)).toFixed(3)}\nR@${k}\t${(correct / Math.max(1, gold)).toFixed(3)}\n`,
    );
    return 0;
  },
};

async function predictLines(spec: CommandLineSpec, usage: string, argv: readonly string[], withProb: boolean): Promise<number> {
  const { modelPath, dataPath, k, threshold } = predictionArgs(spec, usage, argv);
  if (isNativeModelFile(modelPath)) {
    const m = openNativeModel(modelPath);
    try {
      await nativePredict(m, dataPath, k, threshold, withProb);
    } finally {
      m.close();
    }
    return 0;
  }
  const { predictor, prefix, records } = openRowshardModel(modelPath, dataPath);
  for await (const record of records()) {
    const preds = predictor.predict(record?.text ?? '', k, threshold);
    const text = preds.map((p) => (withProb ? `${prefix}${p.label} ${formatG(p.prob)}` : `${prefix}${p.label}`)).join(' ');
    // Waits for a slow reader instead of buffering every line; a reader that goes away (| head) ends the process quietly.
    if (!process.stdout.write(`${text}\n`)) await once(process.stdout, 'drain');
  }
  return 0;
}

export const predictCommand: Command = {
  summary: predictCommandLine.summary,
  usage: 'rowshard predict model.bin file.txt|- [k] [threshold]',
  help: () => formatHelp(predictCommandLine),
  run(argv) {
    return predictLines(predictCommandLine, this.usage, argv, false);
  },
};

export const predictProbCommand: Command = {
  summary: predictProbCommandLine.summary,
  usage: 'rowshard predict-prob model.bin file.txt|- [k] [threshold]',
  help: () => formatHelp(predictProbCommandLine),
  run(argv) {
    return predictLines(predictProbCommandLine, this.usage, argv, true);
  },
};
