import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FastTextDictionary, parseFastTextModel } from '@rowshard/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fastTextInstalled, parkMiller, programsIn, scratchDir } from './fasttext-kit.js';

/**
 * fastText's own model files served by rowshard, against the real fastText 0.9.2 (installed in
 * CI; skipped with a message where it is not): models trained here by `fasttext supervised`
 * (each loss, character and word n-grams) and quantised by `fasttext quantize`, then every
 * command run by both on the same input. Tokenisation, hashing and dictionary order must be
 * fastText's bit for bit for these to agree.
 */
const hasFastText = fastTextInstalled('fasttext-models.test');

const dir = scratchDir('rowshard-ftbin-');

const { fasttext, rowshard } = programsIn(dir);

/** Four classes over a shared vocabulary, with accents, multi-byte words, tabs, CRLF, unlabelled lines and multi-label lines. */
function corpus(n: number, seed: number): string {
  const rand = parkMiller(seed);
  const extra = ['héllo', 'naïve', '日本語', 'Über', 'ÉCOLE', 'Straße', 'a', 'The', 'the'];
  const classes = ['sports', 'politics', 'science', 'müsic'];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = classes[rand(4)];
    const words = Array.from({ length: 3 + rand(10) }, () => (rand(5) === 0 ? extra[rand(extra.length)] : `w${rand(400)}`));
    words.splice(rand(words.length + 1), 0, `${c.slice(0, 3)}${rand(6)}`);
    const labels = i % 23 === 0 ? [] : i % 11 === 0 ? [`__label__${c}`, `__label__${classes[rand(4)]}`] : [`__label__${c}`];
    const sep = i % 13 === 0 ? '\t' : ' ';
    lines.push([...labels, ...words].join(sep) + (i % 17 === 0 ? '\r' : ''));
  }
  return `${lines.join('\n')}\n`;
}

const parsePredictions = (line: string) => {
  const parts = line.split(' ').filter((p) => p !== '');
  const out: { label: string; prob: number }[] = [];
  for (let i = 0; i < parts.length; i += 2) out.push({ label: parts[i], prob: Number(parts[i + 1]) });
  return out;
};

/** Lines of numbers (print-word-vectors, print-sentence-vectors): the same words, values within tol. */
function expectVectorsClose(ours: string, theirs: string, tol: number) {
  const a = ours.trimEnd().split('\n');
  const b = theirs.trimEnd().split('\n');
  expect(a.length).toBe(b.length);
  let worst = 0;
  a.forEach((line, i) => {
    const x = line.trim().split(' ');
    const y = b[i].trim().split(' ');
    expect(x.length).toBe(y.length);
    x.forEach((v, j) => {
      if (Number.isNaN(Number(y[j]))) expect(v).toBe(y[j]);
      else worst = Math.max(worst, Math.abs(Number(v) - Number(y[j])));
    });
  });
  expect(worst).toBeLessThanOrEqual(tol);
}

function expectPredictionsMatch(model: string, k: string) {
  const theirs = fasttext(['predict-prob', model, 'test.txt', k]);
  const ours = rowshard(['predict-prob', model, 'test.txt', k]);
  expect(ours.status, ours.stderr).toBe(0);
  const a = ours.stdout.split('\n');
  const b = theirs.stdout.split('\n');
  expect(a.length).toBe(b.length);
  let worst = 0;
  a.forEach((line, i) => {
    const x = parsePredictions(line);
    const y = parsePredictions(b[i]);
    expect(x.map((p) => p.label)).toEqual(y.map((p) => p.label));
    x.forEach((p, j) => {
      worst = Math.max(worst, Math.abs(p.prob - y[j].prob));
    });
  });
  expect(worst).toBeLessThan(1e-4);
}

describe.skipIf(!hasFastText)('fastText model files (.bin, .ftz) against fastText 0.9.2', () => {
  const losses = ['softmax', 'hs', 'ns', 'ova'] as const;
  const flags = ['-dim', '10', '-epoch', '5', '-lr', '0.5', '-minn', '2', '-maxn', '4', '-wordNgrams', '2', '-bucket', '3000'];
  const flagsFor = { '-minCount': 2, '-minCountLabel': 2 };

  beforeAll(() => {
    writeFileSync(join(dir, 'train.txt'), corpus(600, 7));
    writeFileSync(join(dir, 'test.txt'), corpus(150, 11));
    for (const loss of losses) {
      const args = [
        'supervised',
        '-input',
        'train.txt',
        '-output',
        loss,
        '-loss',
        loss,
        ...flags,
        '-thread',
        '1',
        '-verbose',
        '0',
      ];
      if (loss === 'softmax') args.push(...Object.entries(flagsFor).flat().map(String));
      const r = fasttext(args);
      expect(r.status, r.stderr).toBe(0);
    }
    const q = fasttext([
      'quantize',
      '-input',
      'train.txt',
      '-output',
      'softmax',
      '-qnorm',
      '-cutoff',
      '400',
      '-retrain',
      '-epoch',
      '1',
      '-dsub',
      '2',
      '-thread',
      '1',
      '-verbose',
      '0',
    ]);
    expect(q.status, q.stderr).toBe(0);
  }, 120_000);

  it('builds the dictionary fastText builds from the same corpus and flags (dump dict)', () => {
    const theirs = fasttext(['dump', 'softmax.bin', 'dict']).stdout;
    const built = FastTextDictionary.build(readFileSync(join(dir, 'train.txt')), {
      labelPrefix: '__label__',
      minn: 2,
      maxn: 4,
      bucket: 3000,
      wordNgrams: 2,
      minCount: 2,
      minCountLabel: 2,
    });
    expect(built.dump()).toBe(theirs);
    for (const what of ['dict', 'args', 'input', 'output']) {
      for (const model of ['softmax.bin', 'hs.bin']) {
        const r = rowshard(['dump', model, what]);
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout, `${model} ${what}`).toBe(fasttext(['dump', model, what]).stdout);
      }
    }
    expect(rowshard(['dump', 'softmax.ftz', 'dict']).stdout).toBe(fasttext(['dump', 'softmax.ftz', 'dict']).stdout);
  });

  it('predicts the labels fastText predicts, probabilities within 1e-4, for every loss and k', () => {
    for (const loss of losses) for (const k of ['1', '3', '-1']) expectPredictionsMatch(`${loss}.bin`, k);
    for (const k of ['1', '2', '-1']) expectPredictionsMatch('softmax.ftz', k);
    // k and threshold together, and predict without probabilities: identical text.
    for (const model of ['softmax.bin', 'ova.bin', 'softmax.ftz']) {
      expect(rowshard(['predict', model, 'test.txt', '-1', '0.3']).stdout).toBe(
        fasttext(['predict', model, 'test.txt', '-1', '0.3']).stdout,
      );
    }
    const stdin = 'w1 héllo spo1\n\nunseenword\n';
    expect(rowshard(['predict', 'softmax.bin', '-', '2'], stdin).stdout).toBe(
      fasttext(['predict', 'softmax.bin', '-', '2'], stdin).stdout,
    );
  });

  it('ends a line at the word </s> written in the text, as fastText: test, predict and sentence vectors', () => {
    // Every fifth line of test.txt with </s> written after its second word (and a line ending in
    // one): fastText reads the rest of such a line as a line of its own.
    const text = readFileSync(join(dir, 'test.txt'), 'latin1')
      .split('\n')
      .map((l, i) => (i % 5 === 0 ? l.replace(/^(\S+\s+\S+)/, '$1 </s>') : l))
      .join('\n')
      .concat('__label__sports w1 </s>\n');
    writeFileSync(join(dir, 'eos.txt'), text, 'latin1');
    const theirs = fasttext(['test', 'softmax.bin', 'eos.txt']).stdout;
    expect(rowshard(['test', 'softmax.bin', 'eos.txt']).stdout).toBe(theirs);
    expect(theirs).not.toBe(fasttext(['test', 'softmax.bin', 'test.txt']).stdout);
    expect(rowshard(['predict', 'softmax.bin', 'eos.txt', '2']).stdout).toBe(
      fasttext(['predict', 'softmax.bin', 'eos.txt', '2']).stdout,
    );
    expectVectorsClose(
      rowshard(['print-sentence-vectors', 'softmax.bin'], text).stdout,
      fasttext(['print-sentence-vectors', 'softmax.bin'], text).stdout,
      1e-5,
    );
  });

  it('tests as fastText does (N, P@k, R@k), and test-label gives per-label precision', () => {
    for (const model of ['softmax.bin', 'hs.bin', 'softmax.ftz'])
      for (const k of ['1', '2'])
        expect(rowshard(['test', model, 'test.txt', k]).stdout).toBe(fasttext(['test', model, 'test.txt', k]).stdout);
    const ours = rowshard(['test-label', 'softmax.bin', 'test.txt']).stdout.trimEnd().split('\n');
    const theirs = fasttext(['test-label', 'softmax.bin', 'test.txt']).stdout.trimEnd().split('\n');
    expect(ours.length).toBe(theirs.length);
    // N, P@1, R@1 and each label's precision are fastText's; fastText 0.9.2 never counts a
    // label's gold in test-label (recall "--------", F1 = 2·P), rowshard does.
    expect(ours.slice(-3)).toEqual(theirs.slice(-3));
    const precision = (l: string) => /Precision : (\S+)/.exec(l)?.[1];
    ours.slice(0, -3).forEach((l, i) => {
      expect(precision(l)).toBe(precision(theirs[i]));
      expect(l.split('  ').at(-1)).toBe(theirs[i].split('  ').at(-1));
      expect(l).toMatch(/Recall : (\d\.\d{6}|--------)/);
    });
  });

  it('prints word and sentence vectors within 1e-5 of fastText (.bin and .ftz)', () => {
    const words = `${readFileSync(join(dir, 'test.txt'), 'latin1').replace(/__label__\S+/g, '')} unseen Unseen 日本 </s>\n`;
    for (const model of ['softmax.bin', 'ns.bin', 'softmax.ftz']) {
      expectVectorsClose(
        rowshard(['print-word-vectors', model], words).stdout,
        fasttext(['print-word-vectors', model], words).stdout,
        1e-5,
      );
      const text = readFileSync(join(dir, 'test.txt'), 'latin1');
      expectVectorsClose(
        rowshard(['print-sentence-vectors', model], text).stdout,
        fasttext(['print-sentence-vectors', model], text).stdout,
        1e-5,
      );
    }
  });

  it('answers nn and analogies as fastText does', () => {
    const queries = 'w1 héllo spo2 nosuchword\n';
    const ours = rowshard(['nn', 'softmax.bin', '5'], queries).stdout;
    const theirs = fasttext(['nn', 'softmax.bin', '5'], queries).stdout;
    const words = (s: string) => s.split('\n').map((l) => l.replace(/^Query word\? /, '').split(' ')[0]);
    expect(words(ours)).toEqual(words(theirs));
    expectVectorsClose(
      ours.replace(/Query word\? /g, '').replace(/^\S+ /gm, ''),
      theirs.replace(/Query word\? /g, '').replace(/^\S+ /gm, ''),
      1e-5,
    );
    // fastText's analogies never stops at the end of its input; only its first answer block is compared.
    const a = rowshard(['analogies', 'softmax.bin', '3'], 'w1 w2 w3\n').stdout.split('\n').slice(0, 4);
    expect(a[0]).toBe('Loading model softmax.bin');
    expect(a[1].startsWith('Query triplet (A - B + C)? ')).toBe(true);
    expect(a.slice(1, 4).every((l) => l.split(' ').length >= 2)).toBe(true);
  });

  it('writes, from rowshard supervised, a .bin that fastText loads and predicts with as rowshard does', () => {
    const r = rowshard([
      'supervised',
      '-input',
      'train.txt',
      '-output',
      'ours',
      '-dim',
      '8',
      '-epoch',
      '5',
      '-minn',
      '2',
      '-maxn',
      '4',
      '-wordNgrams',
      '2',
      '-bucket',
      '3000',
      '-minCount',
      '2',
      '-minCountLabel',
      '2',
      '-sync',
      'bsp',
      '-batch',
      '16',
    ]);
    expect(r.status, r.stderr).toBe(0);
    // The same dictionary as fastText's on the same corpus and flags.
    expect(rowshard(['dump', 'ours.bin', 'dict']).stdout).toBe(fasttext(['dump', 'softmax.bin', 'dict']).stdout);
    expect(fasttext(['dump', 'ours.bin', 'args']).stdout).toBe(rowshard(['dump', 'ours.bin', 'args']).stdout);
    for (const k of ['1', '2', '-1']) expectPredictionsMatch('ours.bin', k);
    expect(rowshard(['test', 'ours.bin', 'test.txt']).stdout).toBe(fasttext(['test', 'ours.bin', 'test.txt']).stdout);
    // ours.vec is what fastText's print-word-vectors says of ours.bin; and so without character
    // n-grams, where a word's vector is its row (the .vec is then written from the rows in one walk).
    const plain = rowshard(['supervised', '-input', 'train.txt', '-output', 'plain', '-dim', '8', '-epoch', '2', '-maxn', '0']);
    expect(plain.status, plain.stderr).toBe(0);
    for (const model of ['ours', 'plain']) {
      const vec = readFileSync(join(dir, `${model}.vec`), 'latin1')
        .split('\n')
        .slice(1)
        .join('\n');
      const words = vec
        .split('\n')
        .map((l) => l.split(' ')[0])
        .join('\n');
      expect(fasttext(['print-word-vectors', `${model}.bin`], words).stdout).toBe(vec);
    }
  });

  it("trains each loss (ns, hs by fastText's Huffman tree, ova) into a .bin fastText predicts with as rowshard does", () => {
    for (const loss of ['ns', 'hs', 'ova']) {
      const out = `ours-${loss}`;
      const r = rowshard(
        ['supervised', '-input', 'train.txt', '-output', out, '-loss', loss, '-dim', '8', '-epoch', '5'].concat([
          '-wordNgrams',
          '2',
          '-bucket',
          '3000',
          '-sync',
          'bsp',
          '-batch',
          '16',
        ]),
      );
      expect(r.status, r.stderr).toBe(0);
      expect(rowshard(['dump', `${out}.bin`, 'args']).stdout).toContain(`loss ${loss === 'ova' ? 'one-vs-all' : loss}\n`);
      expectPredictionsMatch(`${out}.bin`, '-1');
      // It learnt: better than the majority class on held-out lines.
      const p1 = Number(/P@1\t(\S+)/.exec(rowshard(['test', `${out}.bin`, 'test.txt']).stdout)?.[1]);
      expect(p1, loss).toBeGreaterThan(0.5);
    }
  });

  it('trains skipgram and cbow word vectors into a .bin fastText reads as rowshard does', () => {
    // A small text: topics whose words co-occur, so neighbours have something to find.
    const topics = [
      ['cat', 'dog', 'pet', 'fur', 'paw'],
      ['car', 'road', 'wheel', 'drive', 'engine'],
      ['sea', 'boat', 'wave', 'sail', 'fish'],
    ];
    const rand = parkMiller(5);
    const lines = Array.from({ length: 800 }, (_, i) => {
      const t = topics[i % 3];
      return Array.from({ length: 8 }, () => t[rand(5)]).join(' ');
    });
    writeFileSync(join(dir, 'words.txt'), `${lines.join('\n')}\n`);
    const common = [
      '-input',
      'words.txt',
      '-dim',
      '10',
      '-epoch',
      '10',
      '-minCount',
      '1',
      '-bucket',
      '1000',
      '-minn',
      '2',
      '-maxn',
      '3',
    ];
    for (const kind of ['skipgram', 'cbow']) {
      const r = rowshard([kind, ...common, '-output', kind, '-sync', 'bsp', '-batch', '64']);
      expect(r.status, r.stderr).toBe(0);
      const f = fasttext([kind, ...common, '-output', `ft-${kind}`, '-thread', '1', '-verbose', '0']);
      expect(f.status, f.stderr).toBe(0);
      // The dictionary and arguments fastText writes for the same text and flags.
      expect(rowshard(['dump', `${kind}.bin`, 'dict']).stdout).toBe(fasttext(['dump', `ft-${kind}.bin`, 'dict']).stdout);
      expect(rowshard(['dump', `${kind}.bin`, 'args']).stdout.replace(/^epoch .*$/m, '')).toBe(
        fasttext(['dump', `ft-${kind}.bin`, 'args']).stdout.replace(/^epoch .*$/m, ''),
      );
      // fastText reads rowshard's model: the same vectors and the same neighbours.
      const words = 'cat car sea dog wheel unknownish\n';
      expectVectorsClose(
        rowshard(['print-word-vectors', `${kind}.bin`], words).stdout,
        fasttext(['print-word-vectors', `${kind}.bin`], words).stdout,
        1e-5,
      );
      // An unsupervised model's sentence vector: the mean of its words' unit vectors, each text
      // line whole (a `</s>` written in it is a word there, not a line's end).
      const text = `${lines.slice(0, 30).join('\n')}\ncat </s> sea\n</s>\n`;
      expectVectorsClose(
        rowshard(['print-sentence-vectors', `${kind}.bin`], text).stdout,
        fasttext(['print-sentence-vectors', `${kind}.bin`], text).stdout,
        1e-5,
      );
      const ours = rowshard(['nn', `${kind}.bin`, '4'], 'cat\n').stdout;
      expect(ours).toBe(fasttext(['nn', `${kind}.bin`, '4'], 'cat\n').stdout);
      // Neighbours that make sense: cat's nearest words are from its topic.
      const near = ours
        .replace(/Query word\? /g, '')
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0]);
      expect(near.filter((w) => topics[0].includes(w)).length, `${kind}: ${near.join(' ')}`).toBeGreaterThanOrEqual(3);
    }
  });

  it("starts from -pretrainedVectors as fastText does: the file's words join the dictionary, its vectors start their rows", () => {
    const pre = fasttext([
      'skipgram',
      '-input',
      'test.txt',
      '-output',
      'pre',
      '-dim',
      '8',
      '-epoch',
      '1',
      '-minCount',
      '1',
      '-minn',
      '0',
      '-maxn',
      '0',
      '-thread',
      '1',
      '-verbose',
      '0',
    ]);
    expect(pre.status, pre.stderr).toBe(0);
    const flags = ['-input', 'train.txt', '-dim', '8', '-epoch', '1', '-pretrainedVectors', 'pre.vec'];
    // -lr 0: the rows stay as they started.
    const r = rowshard(['supervised', ...flags, '-output', 'pre-ours', '-lr', '0', '-sync', 'bsp']);
    expect(r.status, r.stderr).toBe(0);
    const f = fasttext(['supervised', ...flags, '-output', 'pre-theirs', '-thread', '1', '-verbose', '0']);
    expect(f.status, f.stderr).toBe(0);
    expect(rowshard(['dump', 'pre-ours.bin', 'dict']).stdout).toBe(fasttext(['dump', 'pre-theirs.bin', 'dict']).stdout);
    const vec = readFileSync(join(dir, 'pre.vec'), 'latin1').split('\n').slice(1, 40).join('\n');
    const words = vec
      .split('\n')
      .map((l) => l.split(' ')[0])
      .join('\n');
    expect(rowshard(['print-word-vectors', 'pre-ours.bin'], words).stdout.trimEnd()).toBe(vec.trimEnd());
    // A fastText .bin starts training the same way: its words' vectors.
    const fromBin = flags.map((f) => (f === 'pre.vec' ? 'pre.bin' : f));
    const b = rowshard(['supervised', ...fromBin, '-output', 'pre-bin', '-lr', '0', '-sync', 'bsp']);
    expect(b.status, b.stderr).toBe(0);
    expect(rowshard(['dump', 'pre-bin.bin', 'dict']).stdout).toBe(rowshard(['dump', 'pre-ours.bin', 'dict']).stdout);
    expect(rowshard(['print-word-vectors', 'pre-bin.bin'], words).stdout.trimEnd()).toBe(vec.trimEnd());
  });

  it('quantizes a model into a .ftz that fastText reads and predicts with as rowshard does', () => {
    const bytes = readFileSync(join(dir, 'softmax.bin'));
    writeFileSync(join(dir, 'rq.bin'), bytes);
    const r = rowshard(['quantize', '-output', 'rq', '-qnorm', '-dsub', '2']);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'rq.ftz')).length).toBeLessThan(bytes.length / 3);
    for (const k of ['1', '-1']) expectPredictionsMatch('rq.ftz', k);
    expect(rowshard(['test', 'rq.ftz', 'test.txt']).stdout).toBe(fasttext(['test', 'rq.ftz', 'test.txt']).stdout);
    // Quantized, it still predicts much as the model it came from.
    const p1 = (model: string) => Number(/P@1\t(\S+)/.exec(rowshard(['test', model, 'test.txt']).stdout)?.[1]);
    expect(Math.abs(p1('rq.ftz') - p1('softmax.bin'))).toBeLessThan(0.05);
  });

  it('quantizes with -cutoff N as fastText: the same pruned dictionary and rows, a .ftz fastText predicts with as rowshard does', () => {
    // A model with word n-grams alone (no character n-grams), beside softmax.bin's both.
    const w = fasttext([
      'supervised',
      '-input',
      'train.txt',
      '-output',
      'wng',
      '-dim',
      '10',
      '-epoch',
      '5',
      '-lr',
      '0.5',
      '-wordNgrams',
      '2',
      '-bucket',
      '5000',
      '-thread',
      '1',
      '-verbose',
      '0',
    ]);
    expect(w.status, w.stderr).toBe(0);
    const p1 = (model: string) => Number(/P@1\t(\S+)/.exec(fasttext(['test', model, 'test.txt']).stdout)?.[1]);
    const gaps: number[] = [];
    for (const [model, cutoff] of [
      ['wng', '1000'],
      ['wng', '300'],
      ['softmax', '800'],
      ['softmax', '300'],
    ]) {
      const bytes = readFileSync(join(dir, `${model}.bin`));
      writeFileSync(join(dir, 'ftcut.bin'), bytes);
      writeFileSync(join(dir, 'rscut.bin'), bytes);
      // fastText's quantize wants -input even without -retrain.
      const f = fasttext(['quantize', '-input', 'train.txt', '-output', 'ftcut', '-cutoff', cutoff, '-qnorm']);
      expect(f.status, f.stderr).toBe(0);
      const r = rowshard(['quantize', '-output', 'rscut', '-cutoff', cutoff, '-qnorm']);
      expect(r.status, r.stderr).toBe(0);
      // What is deterministic is fastText's: the arguments, the pruned dictionary, the rows kept and their order.
      for (const what of ['args', 'dict'])
        expect(fasttext(['dump', 'rscut.ftz', what]).stdout, `${model} -cutoff ${cutoff}: dump ${what}`).toBe(
          fasttext(['dump', 'ftcut.ftz', what]).stdout,
        );
      const ours = parseFastTextModel(readFileSync(join(dir, 'rscut.ftz')), 'rscut.ftz');
      const theirs = parseFastTextModel(readFileSync(join(dir, 'ftcut.ftz')), 'ftcut.ftz');
      const byKey = (m: ReadonlyMap<number, number>) => [...m].sort((a, b) => a[0] - b[0]);
      expect(ours.dict.pruneIndexSize).toBe(theirs.dict.pruneIndexSize);
      expect(byKey(ours.dict.pruneIndex)).toEqual(byKey(theirs.dict.pruneIndex));
      expect(ours.input.rows).toBe(Number(cutoff));
      expect(theirs.input.rows).toBe(Number(cutoff));
      // fastText reads rowshard's file and predicts with it as rowshard does.
      for (const k of ['1', '-1']) expectPredictionsMatch('rscut.ftz', k);
      // The centroids differ (k-means samples by another generator); the cut models predict alike.
      gaps.push(Math.abs(p1('rscut.ftz') - p1('ftcut.ftz')));
    }
    console.log(`-cutoff: |P@1(rowshard .ftz) - P@1(fastText .ftz)| = ${gaps.map((g) => g.toFixed(3)).join(', ')}`);
    for (const g of gaps) expect(g).toBeLessThan(0.05);
  });

  it('retrains with -cutoff N -retrain on -input: the pruned dictionary honoured, a .ftz fastText reads, P@1 not lower', () => {
    const bytes = readFileSync(join(dir, 'softmax.bin'));
    const quantize = (prefix: string, extra: string[]) => {
      writeFileSync(join(dir, `${prefix}.bin`), bytes);
      const r = rowshard(['quantize', '-output', prefix, '-cutoff', '400', '-qnorm', '-dsub', '2', ...extra]);
      expect(r.status, r.stderr).toBe(0);
    };
    quantize('cut', []);
    quantize('cut0', ['-retrain', '-input', 'train.txt', '-epoch', '1', '-lr', '0', '-thread', '1']);
    quantize('cutrt', ['-retrain', '-input', 'train.txt', '-epoch', '3', '-thread', '1']);
    // beforeAll's `fasttext quantize -cutoff 400 -retrain -epoch 1` wrote softmax.ftz: the same dictionary, epoch as -epoch.
    expect(fasttext(['dump', 'cut0.ftz', 'dict']).stdout).toBe(fasttext(['dump', 'softmax.ftz', 'dict']).stdout);
    expect(fasttext(['dump', 'cut0.ftz', 'args']).stdout).toBe(fasttext(['dump', 'softmax.ftz', 'args']).stdout);
    expect(fasttext(['dump', 'cutrt.ftz', 'dict']).stdout).toBe(fasttext(['dump', 'softmax.ftz', 'dict']).stdout);
    // At -lr 0 the retraining changes no row: the same rows quantised the same way, the same file but for epoch.
    const a = readFileSync(join(dir, 'cut.ftz'));
    const b = readFileSync(join(dir, 'cut0.ftz'));
    expect(a.length).toBe(b.length);
    expect(b.readInt32LE(16)).toBe(1);
    a.writeInt32LE(1, 16);
    expect(a.equals(b)).toBe(true);
    // Retrained (row-wise Adagrad, rowshard's default), fastText reads it and predicts as rowshard does.
    for (const k of ['1', '-1']) expectPredictionsMatch('cutrt.ftz', k);
    const p1 = (model: string) => Number(/P@1\t(\S+)/.exec(fasttext(['test', model, 'test.txt']).stdout)?.[1]);
    console.log(`-retrain: P@1 cut ${p1('cut.ftz')}, cut and retrained ${p1('cutrt.ftz')}, fastText's ${p1('softmax.ftz')}`);
    expect(p1('cutrt.ftz')).toBeGreaterThanOrEqual(p1('cut.ftz') - 0.02);
  }, 120_000);

  it('refuses -cutoff without a whole number, -retrain without -cutoff or -input, each naming the flag (exit 2)', () => {
    writeFileSync(join(dir, 'bad.bin'), readFileSync(join(dir, 'softmax.bin')));
    for (const [args, message] of [
      [['-cutoff', 'abc'], /-cutoff: must be a non-negative integer/],
      [['-cutoff', '-5'], /-cutoff: must be a non-negative integer/],
      [['-cutoff', '100'], /-cutoff 100 leaves too few rows to quantize: at least 256/],
      [['-retrain', '-input', 'train.txt'], /-retrain fine-tunes the rows -cutoff N keeps; give -cutoff N/],
      [['-cutoff', '400', '-retrain'], /-retrain trains on -input FILE; give -input/],
      [['-cutoff', '400', '-retrain', '-input', 'missing.txt'], /-input missing\.txt: no such file/],
      [
        ['-cutoff', '400', '-retrain', '-input', 'train.txt', '-optimizer', 'lbfgs'],
        /-optimizer must be rowwise_adagrad, adagrad, sgd or adam/,
      ],
    ] as const) {
      const r = rowshard(['quantize', '-output', 'bad', ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('refuses a damaged model file with a line naming it', () => {
    const bytes = readFileSync(join(dir, 'softmax.bin'));
    writeFileSync(join(dir, 'cut.bin'), bytes.subarray(0, bytes.length - 100));
    const cut = rowshard(['predict-prob', 'cut.bin', 'test.txt']);
    expect(cut.status).toBe(2);
    expect(cut.stderr).toMatch(/cut\.bin: truncated fastText model: output matrix/);
    const v = Buffer.from(bytes);
    v.writeInt32LE(99, 4);
    writeFileSync(join(dir, 'v99.bin'), v);
    expect(rowshard(['dump', 'v99.bin', 'args']).stderr).toMatch(/v99\.bin: unsupported fastText model version 99/);
    writeFileSync(join(dir, 'junk.bin'), 'not a model at all');
    expect(rowshard(['test-label', 'junk.bin', 'test.txt']).stderr).toMatch(/junk\.bin: not a fastText model \(bad magic/);
  });
});
