import { ErrorCodes, RowshardError } from '../errors.js';
import { type DictEntry, type DictionaryOptions, FastTextDictionary } from './dictionary.js';

/**
 * A dictionary as a file between processes (the vocabulary pass writes it, every worker reads
 * it): a line `ntokens N`, then `dump()`'s lines; a pruned dictionary (`quantize -cutoff
 * -retrain`) adds its pruning map, `pruneidx K` then K lines `bucket row`. A byte string:
 * write it as latin1.
 */
export function dictionaryFileText(dict: FastTextDictionary): string {
  const prune =
    dict.pruneIndexSize < 0
      ? ''
      : `pruneidx ${dict.pruneIndexSize}\n${[...dict.pruneIndex].map(([b, r]) => `${b} ${r}\n`).join('')}`;
  return `ntokens ${dict.ntokens}\n${dict.dump()}${prune}`;
}

/** Reads dictionaryFileText's text back (as a byte string), pruning map included; `file` names it in errors. */
export function parseDictionaryFileText(text: string, file: string, options: DictionaryOptions): FastTextDictionary {
  const lines = text.split('\n');
  const bad = (line: number, why: string): never => {
    throw new RowshardError(ErrorCodes.BAD_DATA, `${file}:${line}: ${why}`, { file, line });
  };
  const head = /^ntokens (\d+)$/.exec(lines[0] ?? '');
  if (!head) bad(1, "expected 'ntokens N'");
  const size = Number(lines[1]);
  if (!Number.isInteger(size) || size < 0) bad(2, 'expected the number of entries');
  const entries: DictEntry[] = [];
  for (let i = 0; i < size; i++) {
    const line = lines[2 + i] ?? '';
    const m = /^(.+) (\d+) (word|label)$/.exec(line);
    if (!m) bad(3 + i, "expected 'word count word|label'");
    else entries.push({ word: m[1], count: Number(m[2]), type: m[3] === 'label' ? 'label' : 'word' });
  }
  const prune = new Map<number, number>();
  let pruneSize = -1;
  const at = 2 + size;
  const pruneHead = /^pruneidx (\d+)$/.exec(lines[at] ?? '');
  if (pruneHead) {
    pruneSize = Number(pruneHead[1]);
    for (let i = 0; i < pruneSize; i++) {
      const m = /^(\d+) (\d+)$/.exec(lines[at + 1 + i] ?? '');
      if (!m) bad(at + 2 + i, "expected 'bucket row' (the pruning map)");
      else prune.set(Number(m[1]), Number(m[2]));
    }
  }
  return FastTextDictionary.restore(entries, Number(head?.[1]), pruneSize, prune, options);
}
