import type { Command } from './command.js';
import { exportCommand } from './export.js';
import { supervisedCommand } from './fasttext.js';
import { predictCommand, predictProbCommand, testCommand } from './fasttext-predict.js';
import { quantizeCommand } from './fasttext-quantize.js';
import {
  analogiesCommand,
  dumpCommand,
  nnCommand,
  printSentenceVectorsCommand,
  printWordVectorsCommand,
  testLabelCommand,
} from './fasttext-tools.js';
import { cbowCommand, skipgramCommand } from './fasttext-words.js';
import { parityCommand } from './parity.js';
import { coordinatorCommand, psCommand, trainerCommand } from './roles.js';
import { similarCommand } from './similar.js';
import { tokenCommand } from './token.js';
import { demoCommand, trainCommand } from './train.js';

export const commands: Record<string, Command> = {
  train: trainCommand,
  demo: demoCommand,
  parity: parityCommand,
  export: exportCommand,
  similar: similarCommand,
  supervised: supervisedCommand,
  skipgram: skipgramCommand,
  cbow: cbowCommand,
  quantize: quantizeCommand,
  test: testCommand,
  predict: predictCommand,
  'predict-prob': predictProbCommand,
  'test-label': testLabelCommand,
  'print-word-vectors': printWordVectorsCommand,
  'print-sentence-vectors': printSentenceVectorsCommand,
  nn: nnCommand,
  analogies: analogiesCommand,
  dump: dumpCommand,
  coordinator: coordinatorCommand,
  ps: psCommand,
  trainer: trainerCommand,
  token: tokenCommand,
};

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: rowshard <command> [args]\n\ncommands:\n${lines.join('\n')}\n\nrowshard <command> --help shows a command's flags.\n`;
}
