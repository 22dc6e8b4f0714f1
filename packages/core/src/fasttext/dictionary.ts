import { ErrorCodes, RowshardError } from '../errors.js';
import { type KeptText, TokenRecorder } from './corpus-tokens.js';
import { fastTextHash, forEachCharNgram, forEachWordNgramBucket } from './hash.js';
import { stlSort } from './stl-algorithms.js';
import { TokenTable } from './token-table.js';
import {
  BOW,
  bytesToWord,
  EOS,
  EOS_BYTES,
  EOW,
  isEos,
  TOKEN_END,
  TOKEN_NEWLINE,
  TOKEN_WORD,
  WordReader,
  wordToBytes,
} from './tokens.js';

/** A word or label of a fastText dictionary; `word` is a byte string (`tokens.ts`). */
export interface DictEntry {
  readonly word: string;
  count: number;
  readonly type: 'word' | 'label';
}

/** What the dictionary needs of fastText's arguments. */
export interface DictionaryOptions {
  readonly labelPrefix: string;
  readonly minn: number;
  readonly maxn: number;
  readonly bucket: number;
  readonly wordNgrams: number;
}

export interface DictionaryBuildOptions extends DictionaryOptions {
  readonly minCount: number;
  readonly minCountLabel: number;
}

/** A dictionary's words by their bytes (linesOfBytes, dictionary-lines.ts). */
export interface WordsByBytes {
  readonly table: TokenTable;
  readonly entryOf: Int32Array;
  readonly isWord: Uint8Array;
}

/** fastText's cap on distinct words while reading; past 75% of it the rarest are pruned. */
const MAX_VOCAB_SIZE = 30_000_000;

/** One line as fastText's supervised `getLine` sees it. */
export interface DictLine {
  /** Input rows: words (or their subwords), then word n-gram buckets (nwords + bucket). */
  readonly ids: number[];
  /** Label indices (0 = the first label of the dictionary). */
  readonly labels: number[];
  /** Tokens read, `</s>` included. */
  readonly tokens: number;
}

/**
 * fastText's `Dictionary`: words then labels, each sorted by count as fastText's binary sorts
 * them (libstdc++'s introsort: ties land where fastText's land), the subword ids of each word
 * (itself, then its hashed character n-grams), and the hashing of a line into input rows. A
 * model file's dictionary is restored as written, pruning map (`.ftz`) included.
 */
export class FastTextDictionary {
  private readonly index = new Map<string, number>();
  private readonly subwordCache = new Map<number, readonly number[]>();
  /** The entries by their bytes, for linesOfBytes (dictionary-lines.ts) (made on first use, dropped when the entries change). */
  private byBytes: WordsByBytes | null = null;
  /** The corpus `build` read, while kept (`keepTokens`); null otherwise. */
  private kept: KeptText | null = null;
  nwords = 0;
  nlabels = 0;

  private constructor(
    readonly entries: DictEntry[],
    readonly options: DictionaryOptions,
    public ntokens: number,
    /** `pruneidx_size_`: -1 unpruned; else the number of n-gram buckets kept, mapped by `pruneIndex`. */
    readonly pruneIndexSize: number,
    readonly pruneIndex: ReadonlyMap<number, number>,
  ) {
    this.reindex();
  }

  /**
   * Counts the words and labels of a corpus, then thresholds, as `Dictionary::readFromFile`.
   * With `keepTokens` (a dictionary pass gives MAX_KEPT_TOKENS), a corpus of at most that many
   * tokens is kept as one id per token (unless a word is pruned in the reading), so that
   * `keptLines` gives its lines without a second pass over the text: tokenising, looking up and
   * hashing every token again took two thirds of the dictionary pass of a fastText command.
   */
  static build(
    bytes: Uint8Array,
    options: DictionaryBuildOptions,
    keepTokens = 0,
    /** fastText's cap (tests lower it to reach the pruning). */
    maxVocabSize = MAX_VOCAB_SIZE,
  ): FastTextDictionary {
    const d = new FastTextDictionary([], options, 0, -1, new Map());
    const reader = new WordReader(bytes);
    const recorder = keepTokens > 0 ? new TokenRecorder(keepTokens) : null;
    // Entry i is word i of the table while reading, its count the table's until the end (not
    // the entry's: an object per token touched); the index map is made once, by threshold.
    const table = new TokenTable();
    const count = (src: Uint8Array, start: number, end: number): number => {
      d.ntokens++;
      const at = table.count(src, start, end);
      if (at === d.entries.length) {
        // Seen for the first time: the only token of the word made into a string.
        const word = bytesToWord(src, start, end);
        d.entries.push({ word, count: 0, type: d.typeOf(word) });
      }
      return at;
    };
    const countsToEntries = () => d.entries.forEach((e, i) => (e.count = table.countOf(i)));
    let minThreshold = 1;
    for (let kind = reader.next(); kind !== TOKEN_END; kind = reader.next()) {
      const at = kind === TOKEN_NEWLINE ? count(EOS_BYTES, 0, EOS_BYTES.length) : count(bytes, reader.start, reader.end);
      recorder?.push(at); // counted whether or not the token is kept
      // The word `</s>` written out in the text ends fastText's line as a \n does, but the kept
      // tokens could not tell it from a \n, which each example's line number needs: such a
      // corpus is read again by line (fastTextExamples splits its lines there as fastText does).
      if (kind === TOKEN_WORD && isEos(bytes, reader.start, reader.end)) recorder?.drop();
      if (d.entries.length > 0.75 * maxVocabSize) {
        minThreshold++;
        countsToEntries();
        d.threshold(minThreshold, minThreshold);
        table.clear();
        for (const e of d.entries) table.count(wordToBytes(e.word), 0, e.word.length, e.count);
        recorder?.drop(); // the entries moved and some went: the kept ids no longer name them
      }
    }
    countsToEntries();
    // Before thresholding, an entry's index is the order its word was first seen.
    d.kept = recorder?.kept(() => d.entries.map((e) => e.word), bytes) ?? null;
    d.threshold(options.minCount, options.minCountLabel);
    return d;
  }

  /**
   * What fastText does to its dictionary with `-pretrainedVectors` (`getInputMatrixFromFile`):
   * every word of the vectors file is counted once more (a new one enters with count 1), then
   * the dictionary is sorted and thresholded again at (1, 0).
   */
  addPretrainedWords(words: readonly string[]): void {
    for (const w of words) this.add(w);
    this.threshold(1, 0);
  }

  /** A dictionary as a model file stores it. */
  static restore(
    entries: DictEntry[],
    ntokens: number,
    pruneIndexSize: number,
    pruneIndex: ReadonlyMap<number, number>,
    options: DictionaryOptions,
  ): FastTextDictionary {
    return new FastTextDictionary(entries, options, ntokens, pruneIndexSize, pruneIndex);
  }

  /** Rows of the input matrix: the words, then the n-gram buckets (the kept ones, when pruned). */
  get inputRows(): number {
    return this.nwords + (this.pruneIndexSize >= 0 ? this.pruneIndexSize : this.options.bucket);
  }

  get size(): number {
    return this.entries.length;
  }

  typeOf(word: string): 'word' | 'label' {
    return word.startsWith(this.options.labelPrefix) ? 'label' : 'word';
  }

  /** Counts one token; returns its entry's index. */
  private add(word: string): number {
    this.ntokens++;
    const at = this.index.get(word);
    if (at === undefined) {
      this.index.set(word, this.entries.length);
      this.entries.push({ word, count: 1, type: this.typeOf(word) });
      return this.entries.length - 1;
    }
    this.entries[at].count++;
    return at;
  }

  /** `Dictionary::threshold`: sort (words first, then by count, descending), drop the rare. */
  private threshold(minCount: number, minCountLabel: number): void {
    stlSort(this.entries, (a, b) => (a.type !== b.type ? a.type === 'word' : a.count > b.count));
    const kept = this.entries.filter((e) => (e.type === 'word' ? e.count >= minCount : e.count >= minCountLabel));
    this.entries.length = 0;
    this.entries.push(...kept);
    this.reindex();
  }

  private reindex(): void {
    this.index.clear();
    this.byBytes = null;
    this.subwordCache.clear();
    this.nwords = 0;
    this.nlabels = 0;
    this.entries.forEach((e, i) => {
      this.index.set(e.word, i);
      if (e.type === 'word') this.nwords++;
      else this.nlabels++;
    });
  }

  /** The entry id of a word or label, -1 if absent. */
  getId(word: string): number {
    return this.index.get(word) ?? -1;
  }

  word(id: number): string {
    return this.entries[id].word;
  }

  /** Label `i` (0-based among labels). */
  label(i: number): string {
    return this.entries[this.nwords + i].word;
  }

  /** Counts of the words or of the labels, in dictionary order (`getCounts`). */
  counts(type: 'word' | 'label'): number[] {
    return this.entries.filter((e) => e.type === type).map((e) => e.count);
  }

  /**
   * `Dictionary::prune`: keeps the input rows `idx` names (ids below nwords are words, the
   * others nwords + bucket). The kept words stay in dictionary order, every label is kept, and
   * the kept buckets map, in the order `idx` gives them, to 0, 1, … (the pruning map, which
   * `pushHash` goes through). Returns the pruned dictionary and the old input row of each new
   * row: the kept words, then the kept buckets. With no bucket kept, every n-gram is dropped.
   */
  prune(idx: readonly number[]): { dict: FastTextDictionary; rows: number[] } {
    if (this.pruneIndexSize >= 0)
      throw new RowshardError(ErrorCodes.BAD_CONFIG, 'this dictionary is pruned already (a quantised model)');
    const words = idx.filter((i) => i < this.nwords).sort((a, b) => a - b);
    const ngrams = idx.filter((i) => i >= this.nwords);
    const map = new Map<number, number>();
    for (const n of ngrams) if (!map.has(n - this.nwords)) map.set(n - this.nwords, map.size);
    const entries: DictEntry[] = [
      ...words.map((w) => ({ ...this.entries[w] })),
      ...this.entries.filter((e) => e.type === 'label').map((e) => ({ ...e })),
    ];
    const dict = new FastTextDictionary(entries, this.options, this.ntokens, map.size, map);
    return { dict, rows: [...words, ...[...map.keys()].map((b) => b + this.nwords)] };
  }

  /** `pushHash`: a bucket id to its input row, through the pruning map of a quantised model. */
  private pushHash(out: number[], bucket: number): void {
    if (this.pruneIndexSize === 0 || bucket < 0) return;
    if (this.pruneIndexSize > 0) {
      const mapped = this.pruneIndex.get(bucket);
      if (mapped === undefined) return;
      bucket = mapped;
    }
    out.push(this.nwords + bucket);
  }

  /** Character n-gram rows of a word (without the word's own row). */
  private charNgrams(word: string, out: number[], substrings?: string[]): void {
    const { minn, maxn, bucket } = this.options;
    forEachCharNgram(BOW + word + EOW, minn, maxn, bucket, (b, ngram) => {
      const before = out.length;
      this.pushHash(out, b);
      if (substrings && out.length > before) substrings.push(ngram);
    });
  }

  /** The rows of entry `id`: itself, then its character n-grams (none for `</s>`). */
  subwordsOfId(id: number): readonly number[] {
    let s = this.subwordCache.get(id);
    if (!s) {
      const out = [id];
      if (this.entries[id].word !== EOS) this.charNgrams(this.entries[id].word, out);
      s = out;
      this.subwordCache.set(id, s);
    }
    return s;
  }

  /**
   * The rows of any word (`getSubwords(string)`): an unknown word is its n-grams alone. A
   * label has no input row (fastText aborts on an assertion there); it counts as unknown.
   */
  subwordsOf(word: string): readonly number[] {
    const id = this.getId(word);
    if (id >= 0 && id < this.nwords) return this.subwordsOfId(id);
    const out: number[] = [];
    if (word !== EOS) this.charNgrams(word, out);
    return out;
  }

  /** The input rows of one line's words (`</s>` included, as fastText), and its labels. */
  line(words: readonly string[]): DictLine {
    const ids: number[] = [];
    const labels: number[] = [];
    const hashes: number[] = [];
    let tokens = 0;
    for (const token of words) {
      const wid = this.getId(token);
      const type = wid < 0 ? this.typeOf(token) : this.entries[wid].type;
      tokens++;
      this.addToken(token, wid, type, type === 'word' ? fastTextHash(token) : 0, ids, labels, hashes);
      if (token === EOS) break;
    }
    this.addWordNgrams(hashes, ids);
    return { ids, labels, tokens };
  }

  /**
   * The dictionary's words by their bytes, made on first use: the table's word n is entry
   * entryOf[n] (the last entry of that word, as the index map keeps it, should a restored
   * dictionary list one twice), and isWord[i] says whether entry i is a word.
   */
  wordsByBytes(): WordsByBytes {
    if (!this.byBytes) {
      const table = new TokenTable();
      const entryOf = new Int32Array(this.entries.length);
      this.entries.forEach((e, i) => {
        entryOf[table.numberOf(wordToBytes(e.word), 0, e.word.length)] = i;
      });
      this.byBytes = { table, entryOf, isWord: Uint8Array.from(this.entries, (e) => (e.type === 'word' ? 1 : 0)) };
    }
    return this.byBytes;
  }

  /** The corpus `build` read, while kept (`keepTokens`; its lines: `keptLines`), or null. */
  get keptText(): KeptText | null {
    return this.kept;
  }

  /** Lets the corpus `build` kept go (its lines read). */
  dropKeptText(): void {
    this.kept = null;
  }

  /**
   * One token of a line (`getLine`): a word's rows and its hash for the word n-grams, or a
   * label. With addWordNgrams, how `line`, `linesOfBytes` and `keptLines` make a line.
   */
  addToken(
    token: string,
    wid: number,
    type: 'word' | 'label',
    hash: number,
    ids: number[],
    labels: number[],
    hashes: number[],
  ): void {
    if (type === 'word') {
      if (wid < 0) {
        if (token !== EOS) this.charNgrams(token, ids);
      } else if (this.options.maxn <= 0) ids.push(wid);
      else ids.push(...this.subwordsOfId(wid));
      hashes.push(hash);
    } else if (wid >= 0) labels.push(wid - this.nwords);
  }

  /** The word n-gram rows of a line's word hashes, after its tokens (addToken). */
  addWordNgrams(hashes: readonly number[], ids: number[]): void {
    forEachWordNgramBucket(hashes, this.options.wordNgrams, this.options.bucket, (b) => this.pushHash(ids, b));
  }

  /** `Dictionary::dump`, as `fasttext dump model.bin dict` prints it (byte strings). */
  dump(): string {
    const lines = [`${this.entries.length}\n`];
    for (const e of this.entries) lines.push(`${e.word} ${e.count} ${e.type}\n`);
    return lines.join('');
  }
}
