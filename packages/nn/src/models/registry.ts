import {
  configError,
  type JobConfig,
  nonNegativeInt,
  numberInRange,
  oneOf,
  optional,
  positiveInt,
  rejectUnknownKeys,
  requireObject,
  stringField,
} from '@rowshard/core';
import { type Model, validateModel } from '../model.js';
import { type CategoryFeature, categoryModel, seedCategoryFeatures } from './category-model.js';
import { ctrModel } from './ctr.js';
import { fastTextClassifier } from './fasttext.js';
import { fastTextWords } from './fasttext-words.js';
import { recommender } from './recommender.js';
import { textClassifier } from './text-classifier.js';

/** The built-in models, chosen by name in a job's `model.name`, with their options checked. */
export const builtinModelNames = [
  'text_classifier',
  'recommender',
  'category_model',
  'fasttext',
  'fasttext_words',
  'ctr',
] as const;
export type BuiltinModelName = (typeof builtinModelNames)[number];

export function builtinModel(name: string, options: Record<string, unknown> = {}, field = 'model'): Model {
  const o = `${field}.options`;
  const int = (k: string, fallback?: number) =>
    fallback === undefined
      ? positiveInt(options[k], `${o}.${k}`)
      : optional(options[k], fallback, (v) => positiveInt(v, `${o}.${k}`));
  switch (name) {
    case 'text_classifier':
      rejectUnknownKeys(options, ['vocabSize', 'embeddingDim', 'hiddenDim', 'numClasses', 'paddingIdx', 'dropout', 'maxNorm'], o);
      return textClassifier({
        vocabSize: int('vocabSize'),
        embeddingDim: int('embeddingDim', 64),
        hiddenDim: int('hiddenDim', 64),
        numClasses: int('numClasses', 2),
        paddingIdx:
          options.paddingIdx === null ? null : optional(options.paddingIdx, 0, (v) => nonNegativeInt(v, `${o}.paddingIdx`)),
        dropout: optional(options.dropout, 0.1, (v) => numberInRange(v, `${o}.dropout`, 0, 1, { maxExclusive: true })),
        maxNorm: optional(options.maxNorm, null as number | null, (v) =>
          numberInRange(v, `${o}.maxNorm`, 0, Number.MAX_VALUE, { minExclusive: true }),
        ),
      });
    case 'recommender':
      rejectUnknownKeys(options, ['numUsers', 'numItems', 'embeddingDim'], o);
      return recommender({ numUsers: int('numUsers'), numItems: int('numItems'), embeddingDim: int('embeddingDim', 32) });
    case 'category_model': {
      rejectUnknownKeys(options, ['features'], o);
      const features: CategoryFeature[] =
        options.features === undefined
          ? [...seedCategoryFeatures]
          : (Array.isArray(options.features) ? options.features : []).map((raw, i) => {
              const f = requireObject(raw, `${o}.features[${i}]`);
              rejectUnknownKeys(f, ['name', 'numEmbeddings', 'embeddingDim'], `${o}.features[${i}]`);
              return {
                name: stringField(f.name, `${o}.features[${i}].name`),
                numEmbeddings: positiveInt(f.numEmbeddings, `${o}.features[${i}].numEmbeddings`),
                embeddingDim: positiveInt(f.embeddingDim, `${o}.features[${i}].embeddingDim`),
              };
            });
      if (features.length === 0) throw configError(`${o}.features`, 'must list at least one feature');
      return categoryModel(features);
    }
    case 'fasttext': {
      rejectUnknownKeys(
        options,
        ['numWords', 'buckets', 'embeddingDim', 'numClasses', 'loss', 'neg', 'labelCounts', 'outputMatrix'],
        o,
      );
      const numClasses = int('numClasses');
      const labelCounts = optional(options.labelCounts, undefined as number[] | undefined, (v) => {
        if (!Array.isArray(v) || v.length !== numClasses)
          throw configError(`${o}.labelCounts`, `must list ${numClasses} counts, one per class`);
        return v.map((x, i) => positiveInt(x, `${o}.labelCounts[${i}]`));
      });
      return fastTextClassifier({
        numWords: int('numWords'),
        buckets: optional(options.buckets, 2_000_000, (v) => nonNegativeInt(v, `${o}.buckets`)),
        embeddingDim: int('embeddingDim', 100),
        numClasses,
        loss: optional(options.loss, 'softmax' as const, (v) => oneOf(v, `${o}.loss`, ['softmax', 'ns', 'hs', 'ova'] as const)),
        neg: int('neg', 5),
        ...(labelCounts ? { labelCounts } : {}),
        outputMatrix: optional(options.outputMatrix, 'dense' as const, (v) =>
          oneOf(v, `${o}.outputMatrix`, ['dense', 'table'] as const),
        ),
      });
    }
    case 'fasttext_words':
      rejectUnknownKeys(options, ['numWords', 'buckets', 'embeddingDim', 'reduction'], o);
      return fastTextWords({
        numWords: int('numWords'),
        buckets: optional(options.buckets, 2_000_000, (v) => nonNegativeInt(v, `${o}.buckets`)),
        embeddingDim: int('embeddingDim', 100),
        reduction: optional(options.reduction, 'mean' as const, (v) => oneOf(v, `${o}.reduction`, ['mean', 'sum'] as const)),
      });
    case 'ctr':
      rejectUnknownKeys(options, ['numDense', 'numCategorical', 'embeddingDim', 'hiddenDim', 'tableSize'], o);
      return ctrModel({
        numDense: optional(options.numDense, 13, (v) => nonNegativeInt(v, `${o}.numDense`)),
        numCategorical: int('numCategorical', 26),
        embeddingDim: int('embeddingDim', 16),
        hiddenDim: int('hiddenDim', 64),
        tableSize: int('tableSize', 1_000_000),
      });
    default:
      throw configError(
        `${field}.name`,
        `unknown model '${name}' (built-in: ${builtinModelNames.join(', ')}; or give model.path)`,
      );
  }
}

/** Loads a user module; injected so this package stays free of I/O (roles pass `(p) => import(p)`). */
export type ModuleImporter = (path: string) => Promise<unknown>;

/**
 * What the training data tells a model before it is built (file data: the pass that builds the
 * vocabulary). `vocabSize` counts every vocabulary row (with `<pad>` and `<unk>` for sequence
 * features); `buckets` is the n-gram bucket rows the features use (0 without word n-grams).
 */
export const dataFacts = ['vocabSize', 'numClasses', 'buckets', 'seqLen', 'examples'] as const;
export type DataFact = (typeof dataFacts)[number];

/** A model's options that may come from the data: option name → the fact that fills it. */
export type OptionsFromData = Readonly<Record<string, DataFact>>;

/** The built-in models' options filled from file data when left out or set to `auto`. */
const builtinOptionsFromData: Readonly<Record<BuiltinModelName, OptionsFromData>> = {
  text_classifier: { vocabSize: 'vocabSize', numClasses: 'numClasses' },
  fasttext: { numWords: 'vocabSize', numClasses: 'numClasses', buckets: 'buckets' },
  fasttext_words: { numWords: 'vocabSize', buckets: 'buckets' },
  recommender: {},
  category_model: {},
  ctr: {},
};

/**
 * Which options of a job's model come from the data. A user module declares them by exporting
 * `optionsFromData` (e.g. `{ vocabSize: 'vocabSize', numClasses: 'numClasses' }`); a built-in
 * has its own. Checked here so a misspelt fact fails with the module's name.
 */
export async function optionsFromDataOf(spec: JobConfig['model'], importModule: ModuleImporter): Promise<OptionsFromData> {
  if (spec.name !== undefined) {
    return (builtinModelNames as readonly string[]).includes(spec.name)
      ? builtinOptionsFromData[spec.name as BuiltinModelName]
      : {};
  }
  const path = spec.path as string;
  const mod = await importUserModule(path, importModule);
  const declared = (mod as { optionsFromData?: unknown }).optionsFromData;
  if (declared === undefined) return {};
  const where = `${path}: export optionsFromData`;
  const map = requireObject(declared, where);
  for (const [option, fact] of Object.entries(map)) {
    if (!(dataFacts as readonly unknown[]).includes(fact))
      throw configError(`${where}.${option}`, `must be one of ${dataFacts.join(', ')} (got ${JSON.stringify(fact)})`);
  }
  return map as OptionsFromData;
}

async function importUserModule(path: string, importModule: ModuleImporter): Promise<unknown> {
  try {
    return await importModule(path);
  } catch (e) {
    throw configError('model.path', `cannot load ${path}: ${(e as Error).message}`);
  }
}

/**
 * The model of a job: a built-in by name, or a user module by path whose default export is
 * either a Model or a function (options) => Model.
 */
export async function resolveModel(spec: JobConfig['model'], importModule: ModuleImporter): Promise<Model> {
  if (spec.name !== undefined) return builtinModel(spec.name, spec.options);
  const path = spec.path as string;
  const mod = await importUserModule(path, importModule);
  const exported = (mod as { default?: unknown }).default ?? mod;
  const model = typeof exported === 'function' ? (exported as (o: Record<string, unknown>) => Model)(spec.options) : exported;
  if (!model || typeof model !== 'object')
    throw configError('model.path', `${path} must default-export a Model or a function returning one`);
  return validateModel(model as Model, `model (${path})`);
}
