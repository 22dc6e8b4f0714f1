/**
 * Reads which optimizer trained what from a fixture's `what` sentence, e.g.
 *   "SparseAdam lr=0.05 on the embedding, Adam lr=0.01 on the rest"
 *   "Adagrad lr=0.05 on the tables, SGD lr=0.01 on fc"
 *   "SGD on both sparse tables"
 * The fixture schema has no structured field for this, so the sentence is the source; a
 * fixture may instead carry an explicit `optimizers` object (see trajectory.ts).
 */
export interface StatedOptimizer {
  /** PyTorch class name as written: SparseAdam, Adam, AdamW, Adagrad, SGD, RowWiseAdagrad. */
  readonly className: string;
  readonly hyperparameters: Record<string, number | number[]>;
  /** What it trained; null when the sentence does not say (then it must be the only one). */
  readonly target: 'tables' | 'dense' | 'all' | null;
}

const CLASS_NAMES = /\b(SparseAdam|AdamW|Adam|Adagrad|RowWiseAdagrad|SGD)\b/g;
const KEY_VALUE = /(\w+)\s*=\s*(\([^)]*\)|\[[^\]]*\]|[-+]?[0-9][0-9.eE+-]*)/g;

function parseValue(text: string): number | number[] | null {
  if (text.startsWith('(') || text.startsWith('[')) {
    const parts = text
      .slice(1, -1)
      .split(',')
      .map((s) => Number(s.trim()));
    return parts.every(Number.isFinite) ? parts : null;
  }
  const v = Number(text);
  return Number.isFinite(v) ? v : null;
}

function classifyTarget(text: string): 'tables' | 'dense' | 'all' | null {
  const t = text.toLowerCase();
  const tables = /embed|table|sparse/.test(t);
  const dense = /\brest\b|\bfc\d*\b|dense|linear|mlp|\bothers?\b|\bhead\b/.test(t);
  if (/\ball\b|everything|every param/.test(t) || (tables && dense)) return 'all';
  if (tables) return 'tables';
  if (dense) return 'dense';
  return null;
}

export function parseOptimizerStatement(what: string): StatedOptimizer[] {
  const matches = [...what.matchAll(CLASS_NAMES)];
  const out: StatedOptimizer[] = [];
  for (let i = 0; i < matches.length; i++) {
    const start = (matches[i].index ?? 0) + matches[i][0].length;
    const end = i + 1 < matches.length ? (matches[i + 1].index ?? what.length) : what.length;
    let clause = what.slice(start, end);
    const semicolon = clause.indexOf(';');
    if (semicolon >= 0) clause = clause.slice(0, semicolon);
    const hyperparameters: Record<string, number | number[]> = {};
    for (const kv of clause.matchAll(KEY_VALUE)) {
      const value = parseValue(kv[2]);
      if (value !== null) hyperparameters[kv[1]] = value;
    }
    const on = /\bon\s+(.+)$/.exec(clause.replace(KEY_VALUE, ''));
    const target = on ? classifyTarget(on[1]) : null;
    out.push({ className: matches[i][1], hyperparameters, target });
  }
  return out;
}

/** `padding_idx=0` / `padding_idx=None` in the sentence; undefined when not mentioned. */
export function statedPaddingIdx(what: string): number | null | undefined {
  const m = /padding_idx\s*=\s*(-?\d+|None)/.exec(what);
  if (!m) return undefined;
  return m[1] === 'None' ? null : Number(m[1]);
}

/** `dropout 0`, `dropout=0.1`, `Dropout(0.2)`; undefined when not mentioned. */
export function statedDropout(what: string): number | undefined {
  const m = /dropout\s*(?:=|\(|\s)\s*([0-9.]+)/i.exec(what);
  return m ? Number(m[1]) : undefined;
}
