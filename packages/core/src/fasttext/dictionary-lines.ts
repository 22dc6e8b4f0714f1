import type { DictLine, FastTextDictionary } from './dictionary.js';
import { fastTextHash } from './hash.js';
import { bytesToWord, EOS, isEos, TOKEN_END, TOKEN_NEWLINE, WordReader, wordStartsWith } from './tokens.js';

// A corpus's lines as a dictionary's input rows and labels, read without a string per token:
// from its bytes (linesOfBytes), or from the tokens the dictionary pass kept (keptLines).
// Each line is made as FastTextDictionary.line makes one, with its addToken and addWordNgrams.

const EOS_HASH = fastTextHash(EOS);

/**
 * The lines of `bytes` under `dict` (a line of a file, or any text) as `line` gives them from the words
 * WordReader.lines reads, each token looked up by its bytes (wordsByBytes): a word of the
 * dictionary never becomes a string, and its hash comes with the lookup. A worker reading a
 * corpus too large to keep tokenises every line of every pass, and the strings and the map
 * lookups of `line` took half its time.
 */
export function* linesOfBytes(dict: FastTextDictionary, bytes: Uint8Array): Generator<DictLine> {
  const { table, entryOf, isWord } = dict.wordsByBytes();
  const eos = dict.getId(EOS);
  const prefix = dict.options.labelPrefix;
  const charNgrams = dict.options.maxn > 0;
  const reader = new WordReader(bytes);
  // The words' hashes, for the line's word n-grams: scratch, not part of the line given.
  const hashes: number[] = [];
  while (!reader.atEnd()) {
    const ids: number[] = [];
    const labels: number[] = [];
    hashes.length = 0;
    let tokens = 0;
    for (let kind = reader.next(); kind !== TOKEN_END; kind = reader.next()) {
      tokens++;
      if (kind === TOKEN_NEWLINE) {
        dict.addToken(EOS, eos, 'word', EOS_HASH, ids, labels, hashes);
        break;
      }
      const { start, end } = reader;
      const found = table.find(bytes, start, end);
      const wid = found < 0 ? -1 : entryOf[found];
      const literalEos = isEos(bytes, start, end);
      const type = (wid >= 0 ? isWord[wid] === 1 : !wordStartsWith(bytes, start, end, prefix)) ? 'word' : 'label';
      // Only an unknown word's character n-grams need its text.
      const token = literalEos ? EOS : wid < 0 && type === 'word' && charNgrams ? bytesToWord(bytes, start, end) : '';
      dict.addToken(token, wid, type, type === 'word' ? table.lastHash : 0, ids, labels, hashes);
      if (literalEos) break;
    }
    dict.addWordNgrams(hashes, ids);
    yield { ids, labels, tokens };
  }
}

/**
 * Each line of the corpus `dict` was built from and kept (FastTextDictionary.build's
 * keepTokens), as `line` gives it from the line's words, with its line number (1-based): the
 * lines a second pass over the text would give, under the dictionary as it is now. Null when
 * no corpus is kept.
 */
export function keptLines(dict: FastTextDictionary): Iterable<DictLine & { readonly line: number }> | null {
  const kept = dict.keptText;
  if (!kept) return null;
  // What each distinct word is under this dictionary, worked out once instead of per token.
  const n = kept.words.length;
  const wids = new Int32Array(n);
  const isWord = new Uint8Array(n);
  const hashes = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const word = kept.words[t];
    const wid = dict.getId(word);
    wids[t] = wid;
    if ((wid < 0 ? dict.typeOf(word) : dict.entries[wid].type) === 'word') {
      isWord[t] = 1;
      hashes[t] = fastTextHash(word);
    }
  }
  const eos = kept.words.indexOf(EOS);
  return {
    *[Symbol.iterator]() {
      let ids: number[] = [];
      let labels: number[] = [];
      let lineHashes: number[] = [];
      let tokens = 0;
      let line = 1;
      for (let k = 0; k < kept.count; k++) {
        const t = kept.tokens[k];
        tokens++;
        dict.addToken(kept.words[t], wids[t], isWord[t] ? 'word' : 'label', hashes[t], ids, labels, lineHashes);
        if (t !== eos) continue;
        dict.addWordNgrams(lineHashes, ids);
        yield { ids, labels, tokens, line };
        ids = [];
        labels = [];
        lineHashes = [];
        tokens = 0;
        line++;
      }
      // A last line without \n has no </s> (and, of spaces alone, no token either).
      if (tokens > 0 || kept.unterminated) {
        dict.addWordNgrams(lineHashes, ids);
        yield { ids, labels, tokens, line };
      }
    },
  };
}
