import { writeFileDurably } from '@rowshard/coordinator';
import { DenseMatrix, ErrorCodes, pruneInput, quantizeMatrix, RowshardError, serializeFastTextModel } from '@rowshard/core';
import { formatHelp } from '../command-line/help.js';
import { type CommandLineSpec, parseCommandLine } from '../command-line/parse.js';
import { loadNativeModel } from '../fasttext/native-model.js';
import { type Command, usageError } from './command.js';

/**
 * fastText's `quantize`: PREFIX.bin (a supervised model) to PREFIX.ftz, its input matrix (and,
 * with -qout, its output matrix) product-quantised: 256 centroids per sub-vector of -dsub
 * values, trained by k-means as fastText trains them (not bit for bit: the samples are drawn
 * by another generator), with -qnorm the rows' norms quantised apart. With -cutoff N, only the
 * N input rows of largest norm are kept first (`</s>` always), the dictionary pruned to them as
 * fastText prunes it (kept words, every label, n-gram buckets through a pruning map). fastText
 * and rowshard both read the file.
 */
const quantizeLine: CommandLineSpec = {
  command: 'quantize',
  summary: 'fastText quantize: PREFIX.bin to a product-quantised PREFIX.ftz',
  dash: '-',
  options: [
    { name: 'output', type: 'string', value: 'PREFIX', help: 'the model: reads PREFIX.bin, writes PREFIX.ftz' },
    { name: 'input', type: 'string', value: 'FILE', help: 'training file (used by -retrain only, which rowshard does not have)' },
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
    { name: 'retrain', type: 'boolean', help: 'not supported: fine-tuning after the cutoff', default: 'false' },
    { name: 'epoch', type: 'number', min: 0, help: 'for -retrain only' },
    { name: 'lr', type: 'number', min: 0, help: 'for -retrain only' },
    { name: 'thread', type: 'int', min: 1, help: 'for -retrain only' },
    { name: 'verbose', type: 'int', min: 0, help: 'ignored' },
  ],
  notes: [
    'example: rowshard quantize -output model -qnorm -dsub 2',
    'example: rowshard quantize -output model -cutoff 100000 -qnorm',
  ],
};

export const quantizeCommand: Command = {
  summary: quantizeLine.summary,
  usage: 'rowshard quantize -output model [-qnorm] [-qout] [-dsub 2] [-cutoff N]',
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
    if (flags.retrain)
      throw new RowshardError(ErrorCodes.UNSUPPORTED, 'quantize: -retrain is not supported (it needs -cutoff)', {
        field: 'retrain',
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
    const pruned = pruneInput(m.dict, m.file.input, cutoff);
    const dict = pruned?.dict ?? m.dict;
    const input = quantizeMatrix(pruned?.input ?? m.file.input, dsub, qnorm);
    // As fastText: the output matrix's sub-vectors are always of 2.
    const output = flags.qout ? quantizeMatrix(m.file.output, 2, qnorm) : m.file.output;
    const out = `${prefix}.ftz`;
    writeFileDurably(out, serializeFastTextModel({ args: m.file.args, dict, input, output }));
    process.stderr.write(`wrote ${out}\n`);
    return 0;
  },
};
