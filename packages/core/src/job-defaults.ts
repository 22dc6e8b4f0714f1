import type { CheckpointConfig } from './checkpoint-config.js';
import type { CtrFileSpec, DataSpec, FileDataSpec, SyntheticCtrSpec } from './data-spec.js';
import type { EvalConfig } from './eval-config.js';
import type { FreezeWindow } from './freeze-plan.js';
import type { ClusterSize, JobConfig } from './job-config.js';
import { defaultRequestLimits } from './request-limits.js';
import type { SyncMode } from './sync-mode.js';
import type { PretrainedSource } from './table-overrides.js';

type SyntheticTextSpec = Extract<DataSpec, { kind: 'synthetic_text' }>;

export interface JobDefaults {
  readonly seed: number;
  readonly sync: SyncMode;
  /** Examples per global step. */
  readonly batchSize: number;
  /**
   * The groups a job without an `optimizers` section gets (the demo's: SparseAdam on the tables,
   * Adam on the dense layers); an optimizer group without a schedule runs at its lr throughout; the rest apply per schedule kind. */
  readonly optimizers: {
    readonly embeddings: { readonly kind: string; readonly lr: number };
    readonly dense: { readonly kind: string; readonly lr: number };
    readonly schedule: {
      readonly kind: 'constant';
      readonly gamma: number;
      readonly warmupSteps: number;
      readonly minLrRatio: number;
    };
  };
  /** Per data kind, the fields a spec may leave out. */
  readonly data: {
    readonly synthetic_text: Omit<SyntheticTextSpec, 'kind' | 'vocabSize' | 'seqLen'>;
    readonly synthetic_ctr: Omit<SyntheticCtrSpec, 'kind' | 'vocabSize'>;
    readonly ctr_file: Omit<CtrFileSpec, 'kind' | 'path' | 'fields'>;
    readonly file: Omit<FileDataSpec, 'kind' | 'path'>;
  };
  readonly eval: Omit<EvalConfig, 'data'>;
  /** The format of a pretrained file is guessed from its name, so it has no fixed default. */
  readonly tables: {
    readonly pretrained: Omit<PretrainedSource, 'path' | 'format'>;
    /** A hashed table's admission, when given: the fields it may leave out. */
    readonly admission: { readonly width: number; readonly depth: number; readonly default: 'zeros' | 'unknown' };
  };
  /** A window of the freeze plan. */
  readonly freeze: Omit<FreezeWindow, 'table'>;
  readonly checkpoint: Omit<CheckpointConfig, 'dir'>;
  readonly cluster: ClusterSize;
  readonly timeouts: JobConfig['timeouts'];
  readonly limits: JobConfig['limits'];
  readonly logEverySteps: number;
  readonly debug: JobConfig['debug'];
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Every default the job parser applies, and nothing else: what a field takes when the job
 * leaves it out. A section that is itself optional (eval, checkpoint, freeze, tables,
 * initialState) is off when left out; its entry here holds the defaults of its fields for
 * when it is given. The README's "Config file reference" states the same values, and
 * test/integration/config-reference.test.ts holds the two together.
 */
export const jobDefaults: JobDefaults = deepFreeze<JobDefaults>({
  seed: 0,
  sync: { mode: 'bsp' },
  batchSize: 64,
  optimizers: {
    embeddings: { kind: 'sparse_adam', lr: 0.05 },
    dense: { kind: 'adam', lr: 0.01 },
    schedule: { kind: 'constant', gamma: 0.1, warmupSteps: 0, minLrRatio: 0 },
  },
  data: {
    synthetic_text: { numClasses: 2, zipfS: 1.1, seed: 1, rule: 'signal_tokens', repeatBatches: 0 },
    // Criteo's layout: 13 integer features, 26 categorical ones.
    synthetic_ctr: { numDense: 13, numCategorical: 26, zipfS: 1.1, seed: 1 },
    ctr_file: { format: 'criteo', numDense: 13, numCategorical: 26 },
    file: {
      format: 'fasttext',
      columns: null,
      header: true,
      features: 'bag',
      seqLen: 64,
      wordNgrams: 1,
      buckets: 2_000_000,
      minCount: 1,
      minCountLabel: 0,
      minn: 0,
      maxn: 0,
      label: '__label__',
      pretrainedVectors: null,
      ws: 5,
      neg: 5,
      t: 1e-4,
      maxVocab: null,
      shuffleBuffer: 10_000,
      seed: 1,
      // Filled in by `rowshard train`'s pass over the file.
      vocabFile: null,
      labelsFile: null,
      examples: null,
      examplesFile: null,
    },
  },
  eval: { everySteps: null, batches: 4, batchSize: 256, finalBatches: null },
  tables: { pretrained: { vocab: null, freeze: true }, admission: { width: 65536, depth: 4, default: 'zeros' } },
  freeze: { fromStep: 0, untilStep: null },
  checkpoint: { everySteps: null, everySeconds: null, keep: 3, resume: 'auto' },
  cluster: { ps: 2, trainers: 1, workersPerTrainer: 2 },
  timeouts: { stepMs: 120_000, registrationMs: 60_000 },
  // Measured so one request holds a shard's event loop for tens of ms at most (README, "Numbers").
  limits: { maxRequestRows: defaultRequestLimits.maxRows, maxRequestBytes: defaultRequestLimits.maxBytes },
  logEverySteps: 10,
  debug: { slowRanks: {} },
});
