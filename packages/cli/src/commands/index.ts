import type { Command } from './command.js';

/**
 * Each command's module, imported when the command runs: together they take 0.2 s to load
 * (the roles, the cluster launcher, the data passes), where `rowshard nn` needs 40 ms of it.
 */
const loaders: Record<string, () => Promise<Command>> = {
  train: async () => (await import('./train.js')).trainCommand,
  demo: async () => (await import('./train.js')).demoCommand,
  parity: async () => (await import('./parity.js')).parityCommand,
  export: async () => (await import('./export.js')).exportCommand,
  similar: async () => (await import('./similar.js')).similarCommand,
  supervised: async () => (await import('./fasttext.js')).supervisedCommand,
  skipgram: async () => (await import('./fasttext-words.js')).skipgramCommand,
  cbow: async () => (await import('./fasttext-words.js')).cbowCommand,
  quantize: async () => (await import('./fasttext-quantize.js')).quantizeCommand,
  test: async () => (await import('./fasttext-predict.js')).testCommand,
  predict: async () => (await import('./fasttext-predict.js')).predictCommand,
  'predict-prob': async () => (await import('./fasttext-predict.js')).predictProbCommand,
  'test-label': async () => (await import('./fasttext-tools.js')).testLabelCommand,
  'print-word-vectors': async () => (await import('./fasttext-tools.js')).printWordVectorsCommand,
  'print-sentence-vectors': async () => (await import('./fasttext-tools.js')).printSentenceVectorsCommand,
  nn: async () => (await import('./fasttext-tools.js')).nnCommand,
  analogies: async () => (await import('./fasttext-tools.js')).analogiesCommand,
  dump: async () => (await import('./fasttext-tools.js')).dumpCommand,
  coordinator: async () => (await import('./roles.js')).coordinatorCommand,
  ps: async () => (await import('./roles.js')).psCommand,
  trainer: async () => (await import('./roles.js')).trainerCommand,
  token: async () => (await import('./token.js')).tokenCommand,
};

export const commandNames: readonly string[] = Object.keys(loaders);

/** The command called `name`, its module loaded; null when there is none. */
export function loadCommand(name: string): Promise<Command> | null {
  return Object.hasOwn(loaders, name) ? loaders[name]() : null;
}

/** The list of commands with their summaries (every command's module loaded for them). */
export async function usage(): Promise<string> {
  const width = Math.max(...commandNames.map((k) => k.length));
  const commands = await Promise.all(commandNames.map((name) => loaders[name]()));
  const lines = commands.map((c, i) => `  ${commandNames[i].padEnd(width)}  ${c.summary}`);
  return `usage: rowshard <command> [args]\n\ncommands:\n${lines.join('\n')}\n\nrowshard <command> --help shows a command's flags.\n`;
}
