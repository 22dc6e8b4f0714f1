import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileWhole } from '@rowshard/coordinator/files';
import {
  DenseMatrix,
  ErrorCodes,
  type FastTextArgs,
  type FastTextDictionary,
  ProductQuantizer,
  pruneInput,
  quantizeMatrix,
  RowshardError,
  serializeFastTextModel,
} from '@rowshard/core';
import { formatHelp } from '../command-line/help.js';
import { type CommandLineSpec, parseCommandLine } from '../command-line/parse.js';
import { loadNativeModel } from '../fasttext/native-model.js';
import { type Command, usageError } from './command.js';
import { supervisedCommand } from './fasttext.js';
import { optimizerChoices, optimizerChoicesText } from './fasttext-flags.js';

/**
 * fastText's `quantize`: PREFIX.bin (a supervised model) to PREFIX.ftz, its input matrix (and,
 * with -qout, its output matrix) product-quantised: 256 centroids per sub-vector of -dsub
 * values, trained by k-means as fastText trains them (not bit for bit: the samples are drawn
 * by another generator), with -qnorm the rows' norms quantised apart. With -cutoff N, only the
 * N input rows of largest norm are kept first (`</s>` always), the dictionary pruned to them as
 * fastText prunes it (kept words, every label, n-gram buckets through a pruning map); with
 * -retrain too, the pruned model then trains on -input (rowshard supervised, resumed from it:
 * its lines hashed through the pruning map, a dropped bucket dropped) before it is quantised.
 * fastText and rowshard both read the file.
 */
const quantizeLine: CommandLineSpec = {
  command: 'quantize',
  summary: 'fastText quantize: PREFIX.bin to a product-quantised PREFIX.ftz',
  dash: '-',
  options: [
    { name: 'output', type: 'string', value: 'PREFIX', help: 'the model: reads PREFIX.bin, writes PREFIX.ftz' },
    { name: 'input', type: 'string', value: 'FILE', help: 'training file (used by -retrain only)' },
    { name: 'qnorm', type: 'boolean', help: 'quantize the norms apart', default: 'false' },
    { name: 'qout', type: 'boolean', help: 'quantize the output matrix too', default: 'false' },
    { name: 'dsub', type: 'int', min: 1, help: 'size of each sub-vector', default: '2' },
    {
      name: 'cutoff',
      type: 'int',
      min: 0,
      help: 'keep only the N input rows (words and n-gram buckets) of largest norm, </s> always (0: all)',
      default: '0',
    },
    {
      name: 'retrain',
      type: 'boolean',
      help: 'with -cutoff: train the rows kept (and the output matrix) on -input before quantising',
      default: 'false',
    },
    { name: 'epoch', type: 'int', min: 1, help: '-retrain: epochs', default: '5' },
    {
      name: 'lr',
      type: 'number',
      min: 0,
      help: "-retrain: learning rate of rowshard supervised's optimizer",
      default: "the optimizer's: row-wise Adagrad 0.4, Adagrad 0.5, SGD 0.1, Adam 0.05",
    },
    {
      name: 'optimizer',
      type: 'string',
      value: optimizerChoices.join('|'),
      help: "-retrain: rowshard supervised's optimizer (sgd -lr 0.05: fastText's retraining)",
      default: "supervised's: rowwise_adagrad (adagrad with -loss ova)",
    },
    { name: 'thread', type: 'int', min: 1, help: '-retrain: workers (default: picked for the machine)' },
    { name: 'verbose', type: 'int', min: 0, help: 'ignored' },
  ],
  notes: [
    'example: rowshard quantize -output model -qnorm -dsub 2',
    'example: rowshard quantize -output model -cutoff 100000 -retrain -input train.txt -qnorm',
    '-cutoff, -retrain: as fastText (the rows of largest norm, </s> always; the dictionary pruned to them); -retrain trains by rowshard supervised (-resume-from the pruned model), whose optimizer is the supervised default (row-wise Adagrad; Adagrad with -loss ova) unless -optimizer says',
  ],
};

export const quantizeCommand: Command = {
  summary: quantizeLine.summary,
  usage: 'rowshard quantize -output model [-qnorm] [-qout] [-dsub 2] [-cutoff N [-retrain -input FILE]]',
  help: () => formatHelp(quantizeLine),
  async run(argv) {
    const { values: flags, positionals } = parseCommandLine(quantizeLine, argv, () => formatHelp(quantizeLine));
    if (positionals.length > 0) throw usageError('quantize', `unexpected argument ${positionals[0]}`);
    const prefix = flags.output as string | undefined;
    if (!prefix) throw usageError('quantize', `-output is required\nusage: ${this.usage}`);
    const cutoff = (flags.cutoff as number | undefined) ?? 0;
    if (flags.retrain && cutoff === 0)
      throw new RowshardError(
        ErrorCodes.BAD_CONFIG,
        'quantize: -retrain fine-tunes the rows -cutoff N keeps; give -cutoff N (fastText ignores -retrain without it)',
        { field: 'retrain' },
      );
    const optimizer = flags.optimizer as string | undefined;
    if (optimizer !== undefined && !optimizerChoices.includes(optimizer))
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `quantize: -optimizer must be ${optimizerChoicesText}, got ${optimizer}`, {
        field: 'optimizer',
      });
    const trainFile = flags.input as string | undefined;
    if (flags.retrain && !trainFile)
      throw new RowshardError(ErrorCodes.BAD_CONFIG, 'quantize: -retrain trains on -input FILE; give -input', {
        field: 'input',
      });
    if (flags.retrain && trainFile && !existsSync(trainFile))
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `quantize: -input ${trainFile}: no such file`, {
        field: 'input',
        file: trainFile,
      });
    const path = `${prefix}.bin`;
    const m = loadNativeModel(path);
    if (m.file.args.model !== 'sup')
      throw new RowshardError(
        ErrorCodes.BAD_CONFIG,
        `quantize: ${path} is a ${m.file.args.model} model; fastText quantizes supervised models only`,
        {
          file: path,
        },
      );
    if (!(m.file.input instanceof DenseMatrix) || !(m.file.output instanceof DenseMatrix))
      throw new RowshardError(ErrorCodes.BAD_CONFIG, `quantize: ${path} is already quantized`, { file: path });
    const qnorm = Boolean(flags.qnorm);
    const dsub = (flags.dsub as number | undefined) ?? 2;
    // -cutoff: as fastText, only below the number of input rows (otherwise every row is kept).
    if (cutoff > 0 && cutoff < m.file.input.rows && cutoff < ProductQuantizer.KSUB)
      throw new RowshardError(
        ErrorCodes.BAD_CONFIG,
        `quantize: -cutoff ${cutoff} leaves too few rows to quantize: at least ${ProductQuantizer.KSUB} are needed`,
        { field: 'cutoff' },
      );
    const pruned = pruneInput(m.dict, m.file.input, cutoff);
    let model = {
      args: m.file.args,
      dict: pruned?.dict ?? m.dict,
      input: pruned?.input ?? m.file.input,
      output: m.file.output,
    };
    // -retrain: as fastText, only when -cutoff cut something.
    if (pruned && flags.retrain) model = await retrain(model, trainFile as string, flags);
    const input = quantizeMatrix(model.input, dsub, qnorm);
    // As fastText: the output matrix's sub-vectors are always of 2.
    const output = flags.qout ? quantizeMatrix(model.output, 2, qnorm) : model.output;
    const out = `${prefix}.ftz`;
    writeFileWhole(out, serializeFastTextModel({ args: model.args, dict: model.dict, input, output }));
    process.stderr.write(`wrote ${out}\n`);
    return 0;
  },
};

interface DenseModel {
  readonly args: FastTextArgs;
  readonly dict: FastTextDictionary;
  readonly input: DenseMatrix;
  readonly output: DenseMatrix;
}

/**
 * fastText's `quantize -retrain`: the pruned model trains on `trainFile` for -epoch epochs
 * before quantisation. Here by rowshard's own supervised training (`-optimizer`, `-lr`,
 * `-thread` as `rowshard supervised` takes them: Adagrad by default, where fastText's retraining
 * is SGD at 0.05), resumed from the pruned model written to a scratch .bin: its dictionary is
 * the pruned one, so each line's n-gram buckets go through the pruning map (a bucket not kept
 * is dropped, as fastText's `pushHash` drops it), and every row starts from its kept value.
 * The model's arguments are kept, but epoch, which fastText sets to -epoch.
 */
async function retrain(m: DenseModel, trainFile: string, flags: Record<string, unknown>): Promise<DenseModel> {
  const scratch = mkdtempSync(join(tmpdir(), 'rowshard-retrain-'));
  try {
    const start = join(scratch, 'pruned.bin');
    writeFileWhole(start, serializeFastTextModel(m));
    const epoch = (flags.epoch as number | undefined) ?? 5;
    const argv = [
      '-input',
      resolve(trainFile),
      '-output',
      join(scratch, 'retrained'),
      '-resume-from',
      start,
      '-epoch',
      String(epoch),
      ...(flags.optimizer === undefined ? [] : ['-optimizer', String(flags.optimizer)]),
      ...(flags.lr === undefined ? [] : ['-lr', String(flags.lr)]),
      ...(flags.thread === undefined ? [] : ['-thread', String(flags.thread)]),
      // The scratch model's progress and file names are not the user's: only its summary line.
      '-verbose',
      '0',
    ];
    const code = await supervisedCommand.run(argv);
    if (code !== 0)
      throw new RowshardError(ErrorCodes.BAD_DATA, `quantize: -retrain on ${trainFile} failed (exit ${code})`, {
        file: trainFile,
      });
    const trained = loadNativeModel(join(scratch, 'retrained.bin'));
    if (!(trained.file.input instanceof DenseMatrix) || !(trained.file.output instanceof DenseMatrix))
      throw new Error('quantize: the retrained model is not dense');
    return { args: { ...m.args, epoch }, dict: trained.dict, input: trained.file.input, output: trained.file.output };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
