import { type AdmissionSpec, type EvictionSpec, parseAdmissionSpec, parseEvictionSpec } from './dynamic-rows.js';
import { configError } from './errors.js';
import { jobDefaults } from './job-defaults.js';
import { booleanField, oneOf, optional, rejectUnknownKeys, requireObject, stringField } from './validate.js';

/** nn.Embedding.from_pretrained for a job's table: initial rows from a file. */
export interface PretrainedSource {
  readonly path: string;
  readonly format: 'npy' | 'safetensors' | 'word2vec' | 'glove';
  /** Words of the table's rows (one per line, line i = row i): maps the file's words to rows. */
  readonly vocab: string | null;
  /** Frozen during training, as PyTorch's from_pretrained(freeze=True) by default. */
  readonly freeze: boolean;
}

export interface TableOverride {
  readonly frozen?: boolean;
  readonly group?: string;
  readonly pretrained?: PretrainedSource;
  /** A hashed table's admission and eviction (dynamic-rows.ts); checked against the table's kind when the model is known. */
  readonly admission?: AdmissionSpec;
  readonly eviction?: EvictionSpec;
}

export function parseTableOverrides(
  value: unknown,
  tableNames: readonly string[] | null,
  field: string,
): Record<string, TableOverride> {
  if (value === undefined || value === null) return {};
  const obj = requireObject(value, field);
  const out: Record<string, TableOverride> = {};
  for (const [name, raw] of Object.entries(obj)) {
    if (tableNames && !tableNames.includes(name))
      throw configError(`${field}.${name}`, `the model has no table '${name}' (tables: ${tableNames.join(', ')})`);
    const t = requireObject(raw, `${field}.${name}`);
    rejectUnknownKeys(t, ['frozen', 'group', 'pretrained', 'admission', 'eviction'], `${field}.${name}`);
    const o: {
      frozen?: boolean;
      group?: string;
      pretrained?: PretrainedSource;
      admission?: AdmissionSpec;
      eviction?: EvictionSpec;
    } = {};
    const admission = parseAdmissionSpec(t.admission, `${field}.${name}.admission`);
    if (admission) o.admission = admission;
    const eviction = parseEvictionSpec(t.eviction, `${field}.${name}.eviction`);
    if (eviction) o.eviction = eviction;
    if (t.frozen !== undefined) o.frozen = booleanField(t.frozen, `${field}.${name}.frozen`);
    if (t.group !== undefined) o.group = stringField(t.group, `${field}.${name}.group`);
    if (t.pretrained !== undefined) {
      const pf = `${field}.${name}.pretrained`;
      const p = requireObject(t.pretrained, pf);
      rejectUnknownKeys(p, ['path', 'format', 'vocab', 'freeze'], pf);
      const path = stringField(p.path, `${pf}.path`);
      const guessed = path.endsWith('.npy') ? 'npy' : path.endsWith('.safetensors') ? 'safetensors' : undefined;
      o.pretrained = {
        path,
        format:
          optional(p.format, guessed as PretrainedSource['format'] | undefined, (v) =>
            oneOf(v, `${pf}.format`, ['npy', 'safetensors', 'word2vec', 'glove'] as const),
          ) ??
          (() => {
            throw configError(`${pf}.format`, 'is required for this file (npy, safetensors, word2vec or glove)');
          })(),
        vocab: optional(p.vocab, jobDefaults.tables.pretrained.vocab, (v) => stringField(v, `${pf}.vocab`)),
        freeze: optional(p.freeze, jobDefaults.tables.pretrained.freeze, (v) => booleanField(v, `${pf}.freeze`)),
      };
    }
    out[name] = o;
  }
  return out;
}
