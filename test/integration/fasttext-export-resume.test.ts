import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fastTextInstalled, parkMiller, programsIn, scratchDir } from './fasttext-kit.js';

/**
 * A fastText model file's matrices exported (`rowshard export MODEL.bin --table input|output`)
 * and training resumed from one (`rowshard supervised -resume-from MODEL.bin`), against the
 * real fastText 0.9.2 (skipped with a message where it is not installed): fastText trains and
 * quantises the models here, on a small corpus, and prints the values compared.
 */
const hasFastText = fastTextInstalled('fasttext-export-resume.test');

const dir = scratchDir('rowshard-ftx-');

const { fasttext, rowshard } = programsIn(dir, 300_000);

/** Four classes, each with its own words, over a shared vocabulary (with multi-byte words). */
function corpus(n: number, seed: number): string {
  const rand = parkMiller(seed);
  const extra = ['héllo', 'naïve', '日本語', 'Über', 'the', 'a'];
  const classes = ['sports', 'politics', 'science', 'müsic'];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = classes[rand(4)];
    const words = Array.from({ length: 3 + rand(8) }, () => (rand(4) === 0 ? extra[rand(extra.length)] : `w${rand(300)}`));
    words.splice(rand(words.length + 1), 0, `${c.slice(0, 3)}${rand(6)}`);
    lines.push([`__label__${c}`, ...words].join(' '));
  }
  return `${lines.join('\n')}\n`;
}

/** A float32 .npy (rowshard's export): its shape and values. */
function readNpy(path: string): { shape: number[]; data: Float32Array } {
  const b = readFileSync(path);
  const len = b.readUInt16LE(8);
  const header = b.subarray(10, 10 + len).toString('latin1');
  expect(header).toContain("'descr': '<f4'");
  const shape = (/\(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .filter((x) => x.trim() !== '')
    .map(Number);
  const body = b.subarray(10 + len);
  return { shape, data: new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)) };
}

/** The tensor `weight` of a safetensors file, and the file's metadata. */
function readSafetensors(path: string): { shape: number[]; data: Float32Array; metadata: Record<string, string> } {
  const b = readFileSync(path);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
  const t = header.weight;
  expect(t.dtype).toBe('F32');
  const body = b.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]);
  return {
    shape: t.shape,
    data: new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)),
    metadata: header.__metadata__,
  };
}

/** `fasttext dump MODEL input|output`: a line `rows dim`, then each row's values. */
function fastTextDump(model: string, part: 'input' | 'output'): { shape: number[]; rows: number[][] } {
  const r = fasttext(['dump', model, part]);
  expect(r.status, r.stderr).toBe(0);
  const [head, ...lines] = r.stdout.trimEnd().split('\n');
  return { shape: head.split(' ').map(Number), rows: lines.map((l) => l.trim().split(' ').map(Number)) };
}

/** The exported values equal fastText's printed ones, within what its 6 significant digits keep. */
function expectMatrixClose(data: Float32Array, rows: number[][], dim: number) {
  expect(data.length).toBe(rows.length * dim);
  let worst = 0;
  rows.forEach((row, r) => {
    expect(row.length).toBe(dim);
    row.forEach((v, d) => {
      worst = Math.max(worst, Math.abs(data[r * dim + d] - v) / Math.max(1, Math.abs(v)));
    });
  });
  expect(worst).toBeLessThan(1e-5);
}

describe.skipIf(!hasFastText)('rowshard export of a fastText model file, against fastText 0.9.2', () => {
  const flags = [
    '-dim',
    '10',
    '-epoch',
    '5',
    '-lr',
    '0.5',
    '-wordNgrams',
    '2',
    '-bucket',
    '2000',
    '-thread',
    '1',
    '-verbose',
    '0',
  ];

  beforeAll(() => {
    writeFileSync(join(dir, 'train.txt'), corpus(600, 7));
    writeFileSync(join(dir, 'test.txt'), corpus(200, 11));
    for (const [output, loss] of [
      ['model', 'softmax'],
      ['words', 'softmax'],
    ] as const) {
      const extra = output === 'words' ? ['-minn', '2', '-maxn', '4'] : [];
      const r = fasttext(['supervised', '-input', 'train.txt', '-output', output, '-loss', loss, ...flags, ...extra]);
      expect(r.status, r.stderr).toBe(0);
    }
    const q = fasttext(['quantize', '-input', 'train.txt', '-output', 'model', '-dsub', '2', '-qnorm', '-verbose', '0']);
    expect(q.status, q.stderr).toBe(0);
  }, 180_000);

  it('writes the input matrix (words, then buckets) as npy and safetensors, equal to fasttext dump', () => {
    for (const model of ['model', 'words']) {
      const theirs = fastTextDump(`${model}.bin`, 'input');
      const npy = rowshard(['export', `${model}.bin`, '--table', 'input', '--format', 'npy', '--out', `${model}.in.npy`]);
      expect(npy.status, npy.stderr).toBe(0);
      const event = JSON.parse(npy.stdout);
      expect(event).toMatchObject({ event: 'exported', table: 'input', rows: theirs.shape[0], dim: 10 });
      const a = readNpy(join(dir, `${model}.in.npy`));
      expect(a.shape).toEqual(theirs.shape);
      expectMatrixClose(a.data, theirs.rows, 10);
      // The words of the rows beside it: the dictionary's words, in order (the buckets have none).
      const dict = fasttext(['dump', `${model}.bin`, 'dict'])
        .stdout.trimEnd()
        .split('\n')
        .slice(1);
      const words = dict.filter((l) => l.endsWith(' word')).map((l) => l.split(' ')[0]);
      expect(
        readFileSync(join(dir, `${model}.in.words.txt`), 'latin1')
          .trimEnd()
          .split('\n'),
      ).toEqual(words);
      expect(event.words).toBe(words.length);

      const st = rowshard([
        'export',
        `${model}.bin`,
        '--table',
        'input',
        '--format',
        'safetensors',
        '--out',
        `${model}.in.safetensors`,
      ]);
      expect(st.status, st.stderr).toBe(0);
      const b = readSafetensors(join(dir, `${model}.in.safetensors`));
      expect(b.shape).toEqual(theirs.shape);
      expect(b.metadata).toMatchObject({ table: 'input', source: 'fasttext', model: 'sup' });
      expect(b.data).toEqual(a.data);
    }
  });

  it('writes the output matrix, a row per label, and names the rows by their labels in text formats', () => {
    const theirs = fastTextDump('model.bin', 'output');
    const r = rowshard(['export', 'model.bin', '--table', 'output', '--format', 'safetensors', '--out', 'out.safetensors']);
    expect(r.status, r.stderr).toBe(0);
    const a = readSafetensors(join(dir, 'out.safetensors'));
    expect(a.shape).toEqual(theirs.shape);
    expectMatrixClose(a.data, theirs.rows, 10);
    const labels = fasttext(['dump', 'model.bin', 'dict'])
      .stdout.split('\n')
      .filter((l) => l.endsWith(' label'))
      .map((l) => l.split(' ')[0]);
    const w2v = rowshard(['export', 'model.bin', '--table', 'output', '--format', 'word2vec', '--out', 'out.txt']);
    expect(w2v.status, w2v.stderr).toBe(0);
    const [head, ...lines] = readFileSync(join(dir, 'out.txt'), 'latin1').trimEnd().split('\n');
    expect(head).toBe(`${labels.length} 10`);
    expect(lines.map((l) => l.split(' ')[0])).toEqual(labels);
    expectMatrixClose(Float32Array.from(lines.flatMap((l) => l.split(' ').slice(1).map(Number))), theirs.rows, 10);
  });

  it('text formats hold the words only: the input matrix without its buckets', () => {
    const r = rowshard(['export', 'model.bin', '--table', 'input', '--format', 'tsv', '--out', 'in.tsv']);
    expect(r.status, r.stderr).toBe(0);
    const theirs = fastTextDump('model.bin', 'input');
    const lines = readFileSync(join(dir, 'in.tsv'), 'latin1').trimEnd().split('\n');
    const nwords = JSON.parse(r.stdout).words;
    expect(lines.length).toBe(nwords);
    expect(nwords).toBeLessThan(theirs.shape[0]);
    expectMatrixClose(
      Float32Array.from(lines.flatMap((l) => l.split('\t').slice(1).map(Number))),
      theirs.rows.slice(0, nwords),
      10,
    );
  });

  it('a .ftz exports its rows dequantised: each word row is what fastText prints as the word vector', () => {
    // fastText's dump refuses a quantised model; without character n-grams a word's vector is its row.
    const dump = fasttext(['dump', 'model.ftz', 'input']);
    expect(dump.stdout + dump.stderr).toContain('Not supported for quantized models');
    const r = rowshard(['export', 'model.ftz', '--table', 'input', '--format', 'npy', '--out', 'ftz.npy']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dequantised: true });
    const a = readNpy(join(dir, 'ftz.npy'));
    const words = readFileSync(join(dir, 'ftz.words.txt'), 'latin1').trimEnd().split('\n');
    const theirs = fasttext(['print-word-vectors', 'model.ftz'], `${words.join('\n')}\n`);
    expect(theirs.status, theirs.stderr).toBe(0);
    const printed = theirs.stdout.trimEnd().split('\n');
    expect(printed.length).toBe(words.length);
    let worst = 0;
    printed.forEach((line, w) => {
      const parts = line.trim().split(' ');
      expect(parts[0]).toBe(words[w]);
      // print-word-vectors keeps 5 significant digits.
      parts.slice(1).forEach((v, d) => {
        worst = Math.max(worst, Math.abs(a.data[w * 10 + d] - Number(v)) / Math.max(1e-3, Math.abs(Number(v))));
      });
    });
    expect(worst).toBeLessThan(1e-4);
    // The output matrix is not quantised without -qout: the same as the .bin's.
    const out = rowshard(['export', 'model.ftz', '--table', 'output', '--format', 'npy', '--out', 'ftz.out.npy']);
    expect(out.status, out.stderr).toBe(0);
    expectMatrixClose(readNpy(join(dir, 'ftz.out.npy')).data, fastTextDump('model.bin', 'output').rows, 10);
  });

  it('refuses a file that is not a fastText model, a damaged one and a wrong table, naming them, exit 2', () => {
    const notModel = rowshard(['export', 'train.txt', '--table', 'input']);
    expect(notModel.status).toBe(2);
    expect(notModel.stderr).toMatch(/train\.txt: neither a checkpoint directory nor a fastText model file/);
    const bytes = readFileSync(join(dir, 'model.bin'));
    writeFileSync(join(dir, 'cut.bin'), bytes.subarray(0, bytes.length >> 1));
    const cut = rowshard(['export', 'cut.bin', '--table', 'input']);
    expect(cut.status).toBe(2);
    expect(cut.stderr).toContain('cut.bin');
    const table = rowshard(['export', 'model.bin', '--table', 'embedding']);
    expect(table.status).toBe(2);
    expect(table.stderr).toMatch(/--table must be input or output/);
    const state = rowshard(['export', 'model.bin', '--table', 'input', '--with-state']);
    expect(state.status).toBe(2);
  });
});

describe.skipIf(!hasFastText)('rowshard supervised -resume-from MODEL.bin', () => {
  const common = ['-dim', '10', '-wordNgrams', '2', '-bucket', '2000', '-thread', '1', '-verbose', '0'];
  const ours = ['-ps', '1', '-thread', '1', '-sync', 'bsp'];
  const p1 = (model: string) => {
    const r = fasttext(['test', model, 'test.txt']);
    expect(r.status, r.stderr).toBe(0);
    return Number(/P@1\s+([\d.]+)/.exec(r.stdout)?.[1]);
  };

  beforeAll(() => {
    writeFileSync(join(dir, 'train.txt'), corpus(600, 7));
    writeFileSync(join(dir, 'test.txt'), corpus(200, 11));
    // New words the models never saw: a resumed run keeps the model's dictionary, so they stay unknown.
    writeFileSync(join(dir, 'more.txt'), corpus(600, 7).replaceAll(' w1', ' fresh1 w1'));
    for (const [output, extra] of [
      ['full', ['-epoch', '5', '-lr', '0.5', '-minn', '2', '-maxn', '4']],
      ['hs', ['-epoch', '5', '-lr', '0.5', '-loss', 'hs']],
      // Barely trained: one pass at a small rate.
      ['part', ['-epoch', '1', '-lr', '0.02']],
    ] as const) {
      const r = fasttext(['supervised', '-input', 'train.txt', '-output', output, ...common, ...extra]);
      expect(r.status, r.stderr).toBe(0);
    }
    const q = fasttext(['quantize', '-input', 'train.txt', '-output', 'full', '-dsub', '2', '-verbose', '0']);
    expect(q.status, q.stderr).toBe(0);
  }, 180_000);

  it('with a zero rate, the resumed model is the model: the same dictionary, matrices and predictions', () => {
    // The output matrix resumes as a dense parameter and as a table on the parameter servers alike.
    for (const [model, outputMatrix] of [
      ['full', 'dense'],
      ['hs', 'table'],
    ]) {
      const r = rowshard([
        'supervised',
        '-outputMatrix',
        outputMatrix,
        '-input',
        'more.txt',
        '-output',
        `${model}-same`,
        '-resume-from',
        `${model}.bin`,
        '-lr',
        '0',
        '-epoch',
        '1',
        ...ours,
      ]);
      expect(r.status, r.stderr).toBe(0);
      for (const part of ['dict', 'input', 'output']) {
        const a = fasttext(['dump', `${model}.bin`, part]);
        const b = fasttext(['dump', `${model}-same.bin`, part]);
        expect(b.stdout, `${model} ${part}`).toBe(a.stdout);
      }
      // The arguments are the model's (the loss, n-grams, buckets) but for the epochs given.
      const args = (m: string) => fasttext(['dump', m, 'args']).stdout.replace(/epoch \d+\n/, '');
      expect(args(`${model}-same.bin`)).toBe(args(`${model}.bin`));
      expect(fasttext(['predict-prob', `${model}-same.bin`, 'test.txt', '-1']).stdout).toBe(
        fasttext(['predict-prob', `${model}.bin`, 'test.txt', '-1']).stdout,
      );
    }
  });

  it('training on from a barely trained model improves it, and a resumed rowshard model trains on again', () => {
    const before = p1('part.bin');
    const r = rowshard([
      'supervised',
      '-input',
      'train.txt',
      '-output',
      'part-on',
      '-resume-from',
      'part.bin',
      '-epoch',
      '3',
      ...ours,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const after = p1('part-on.bin');
    expect(after).toBeGreaterThan(before + 0.1);
    // Its dictionary is the model's, whatever -input holds.
    expect(fasttext(['dump', 'part-on.bin', 'dict']).stdout).toBe(fasttext(['dump', 'part.bin', 'dict']).stdout);
    const again = rowshard([
      'supervised',
      '-input',
      'train.txt',
      '-output',
      'part-on2',
      '-resume-from',
      'part-on.bin',
      '-epoch',
      '2',
      ...ours,
    ]);
    expect(again.status, again.stderr).toBe(0);
    // Keeps what it had (two more epochs on a corpus this small may move P@1 by a test line or two).
    expect(p1('part-on2.bin')).toBeGreaterThanOrEqual(after - 0.03);
  });

  it('refuses a .ftz, a word-vector model, a file that is not a model, and flags that change the model, with the reason', () => {
    const refused = (args: string[], message: RegExp) => {
      const r = rowshard(['supervised', '-input', 'train.txt', '-output', 'refused', ...args]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    };
    refused(['-resume-from', 'full.ftz'], /full\.ftz: a quantised model \(\.ftz\)/);
    refused(['-resume-from', 'test.txt'], /test\.txt: not a fastText model file/);
    refused(['-resume-from', 'nothing.bin'], /nothing\.bin: no such file/);
    refused(['-resume-from', 'full.bin', '-dim', '12'], /-dim 12 conflicts with the model's dim 10/);
    refused(['-resume-from', 'full.bin', '-loss', 'ns'], /-loss ns conflicts with the model's loss softmax/);
    refused(['-resume-from', 'full.bin', '-maxn', '6'], /-maxn 6 conflicts with the model's maxn 4/);
    refused(['-resume-from', 'full.bin', '-minCount', '2'], /-minCount builds a dictionary/);
    // Repeating the model's values is fine (checked by the run above for none given).
    const cbow = fasttext([
      'cbow',
      '-input',
      'train.txt',
      '-output',
      'vectors',
      '-dim',
      '10',
      '-epoch',
      '1',
      '-minCount',
      '1',
      '-bucket',
      '1000',
      '-verbose',
      '0',
    ]);
    expect(cbow.status, cbow.stderr).toBe(0);
    refused(['-resume-from', 'vectors.bin'], /a cbow model \(word vectors\)/);
  });

  it('skipgram and cbow resume from a word-vector model too: a zero rate keeps it, training on moves it', () => {
    const sg = fasttext([
      'skipgram',
      '-input',
      'train.txt',
      '-output',
      'sg',
      '-dim',
      '8',
      '-epoch',
      '1',
      '-minCount',
      '2',
      '-bucket',
      '500',
      '-verbose',
      '0',
    ]);
    expect(sg.status, sg.stderr).toBe(0);
    const same = rowshard([
      'skipgram',
      '-input',
      'more.txt',
      '-output',
      'sg-same',
      '-resume-from',
      'sg.bin',
      '-lr',
      '0',
      '-epoch',
      '1',
      ...ours,
    ]);
    expect(same.status, same.stderr).toBe(0);
    for (const part of ['args', 'dict', 'input', 'output'])
      expect(fasttext(['dump', 'sg-same.bin', part]).stdout, part).toBe(fasttext(['dump', 'sg.bin', part]).stdout);
    const on = rowshard(['cbow', '-input', 'train.txt', '-output', 'sg-on', '-resume-from', 'sg.bin', '-epoch', '1', ...ours]);
    expect(on.status, on.stderr).toBe(0);
    expect(fasttext(['dump', 'sg-on.bin', 'dict']).stdout).toBe(fasttext(['dump', 'sg.bin', 'dict']).stdout);
    expect(fasttext(['dump', 'sg-on.bin', 'input']).stdout).not.toBe(fasttext(['dump', 'sg.bin', 'input']).stdout);
    const refused = rowshard(['skipgram', '-input', 'train.txt', '-output', 'x', '-resume-from', 'sg.bin', '-minn', '2']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/skipgram: -resume-from .*sg\.bin: -minn 2 conflicts with the model's minn 3/);
  });
});
