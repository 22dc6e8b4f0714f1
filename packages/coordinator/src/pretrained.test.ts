import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, type PretrainedSource, RowshardError, rowInitializer, tableSpec } from '@rowshard/core';
import { thrown } from '@rowshard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { absolutisePretrainedPaths, checkPretrained, loadPretrained } from './pretrained.js';

const dir = mkdtempSync(join(tmpdir(), 'rowshard-pretrained-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 7 rows × 5, multiples of 1/8: exact in float16, bfloat16, float32 and float64 alike. */
const ROWS = 7;
const DIM = 5;
const expected = Float32Array.from({ length: ROWS * DIM }, (_, i) => (i - 17) / 8);
/** The table has two rows more than the files: those keep their init. */
const spec = tableSpec({ name: 'words', numEmbeddings: ROWS + 2, embeddingDim: DIM });
const words = Array.from({ length: ROWS }, (_, i) => `w${i}`);

const source = (path: string, format: PretrainedSource['format'], vocab: string | null = null): PretrainedSource => ({
  path: join(dir, path),
  format,
  vocab: vocab === null ? null : join(dir, vocab),
  freeze: true,
});

const numpy = spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
if (!numpy)
  console.warn('numpy is not installed for /usr/bin/python3 (apt-get install python3-numpy): skipping the numpy-written files');

/** The files, as numpy writes them: np.save in every order, dtype and byte order; safetensors and word vectors by hand. */
const writer = `
import json, sys, numpy as np
out = sys.argv[1]
base = (np.arange(${ROWS * DIM}, dtype=np.float64).reshape(${ROWS}, ${DIM}) - 17) / 8
for order in 'CF':
    for kind in ('f2', 'f4', 'f8'):
        for endian in '<>':
            a = base.astype(np.dtype(endian + kind))
            np.save(f'{out}/{order}-{endian}{kind}.npy', np.asfortranarray(a) if order == 'F' else np.ascontiguousarray(a))
def safetensors(path, name, dtype, data):
    header = json.dumps({'__metadata__': {'from': 'numpy'}, name: {'dtype': dtype, 'shape': list(base.shape), 'data_offsets': [0, len(data)]}}).encode()
    with open(path, 'wb') as f:
        f.write(np.uint64(len(header)).astype('<u8').tobytes() + header + data)
safetensors(f'{out}/F32.safetensors', 'weight', 'F32', base.astype('<f4').tobytes())
safetensors(f'{out}/F64.safetensors', 'words.weight', 'F64', base.astype('<f8').tobytes())
safetensors(f'{out}/F16.safetensors', 'emb', 'F16', base.astype('<f2').tobytes())
safetensors(f'{out}/BF16.safetensors', 'weight', 'BF16', (base.astype('<f4').view('<u4') >> 16).astype('<u2').tobytes())
words = [f'w{i}' for i in range(${ROWS})]
with open(f'{out}/w2v.txt', 'w') as f:
    f.write(f'{len(words)} ${DIM}\\n' + ''.join(w + ' ' + ' '.join(repr(float(x)) for x in row) + ' \\n' for w, row in zip(words, base)))
for name, end in (('w2v-c.bin', b'\\n'), ('w2v-gensim.bin', b'')):
    with open(f'{out}/{name}', 'wb') as f:
        f.write(f'{len(words)} ${DIM}\\n'.encode() + b''.join(w.encode() + b' ' + row.astype('<f4').tobytes() + end for w, row in zip(words, base)))
with open(f'{out}/glove.txt', 'w') as f:
    f.write(''.join(w + ' ' + ' '.join(str(float(x)) for x in row) + '\\n' for w, row in reversed(list(zip(words, base)))))
`;

beforeAll(() => {
  if (numpy) execFileSync('/usr/bin/python3', ['-c', writer, dir]);
});

/** Rows 0..6 are the file's, rows 7 and 8 their init. */
function expectLoaded(rows: Float32Array): void {
  expect(rows.subarray(0, ROWS * DIM)).toEqual(expected);
  const init = new Float32Array(2 * DIM);
  rowInitializer(spec, 3).fill(ROWS, 0, init, 0);
  rowInitializer(spec, 3).fill(ROWS + 1, 0, init, DIM);
  expect(rows.subarray(ROWS * DIM)).toEqual(init);
}

describe.skipIf(!numpy)('pretrained tables from files numpy wrote', () => {
  for (const order of ['C', 'F']) {
    for (const kind of ['f2', 'f4', 'f8']) {
      for (const endian of ['<', '>']) {
        const name = `${order}-${endian}${kind}.npy`;
        it(`.npy, ${order === 'C' ? 'C' : 'Fortran'} order, ${endian === '<' ? 'little' : 'big'}-endian ${kind}`, () => {
          // The file is what it says it is: numpy wrote the order and dtype asked for.
          const header = readFileSync(join(dir, name)).subarray(10, 128).toString('latin1');
          expect(header).toContain(`'descr': '${endian}${kind}'`);
          expect(header).toContain(`'fortran_order': ${order === 'F' ? 'True' : 'False'}`);
          expect(checkPretrained(spec, source(name, 'npy'))).toMatchObject({ rowsSet: ROWS });
          expectLoaded(loadPretrained(spec, source(name, 'npy'), 3));
        });
      }
    }
  }

  for (const dtype of ['F32', 'F64', 'F16', 'BF16']) {
    it(`safetensors, ${dtype} (tensor 'weight', '<table>.weight' or the only one)`, () => {
      expect(checkPretrained(spec, source(`${dtype}.safetensors`, 'safetensors')).rowsSet).toBe(ROWS);
      expectLoaded(loadPretrained(spec, source(`${dtype}.safetensors`, 'safetensors'), 3));
    });
  }

  it('word2vec text, and binary as the C tool and gensim write it (told apart by the bytes)', () => {
    for (const [file, binary] of [
      ['w2v.txt', false],
      ['w2v-c.bin', true],
      ['w2v-gensim.bin', true],
    ] as const) {
      expect(checkPretrained(spec, source(file, 'word2vec')), file).toMatchObject({ binary, rowsSet: ROWS });
      expectLoaded(loadPretrained(spec, source(file, 'word2vec'), 3));
    }
  });

  it('GloVe text: without a vocabulary vector i is row i; with one, each word goes to its row', () => {
    // glove.txt lists the words backwards.
    const backwards = loadPretrained(spec, source('glove.txt', 'glove'), 3);
    for (let r = 0; r < ROWS; r++)
      expect(backwards.subarray(r * DIM, (r + 1) * DIM)).toEqual(expected.subarray((ROWS - 1 - r) * DIM, (ROWS - r) * DIM));
    // The vocabulary as training writes it (word<TAB>count), with a word the file lacks.
    writeFileSync(join(dir, 'vocab.txt'), [...words, 'absent'].map((w, i) => `${w}\t${100 - i}\n`).join(''));
    expect(checkPretrained(spec, source('glove.txt', 'glove', 'vocab.txt')).rowsSet).toBe(ROWS);
    expectLoaded(loadPretrained(spec, source('glove.txt', 'glove', 'vocab.txt'), 3));
  });
});

describe('pretrained files that do not fit, each E_BAD_DATA naming the field and the file', () => {
  const write = (name: string, bytes: Uint8Array | string) => writeFileSync(join(dir, name), bytes);
  const npy = (descr: string, shape: string, body: Uint8Array) => {
    let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
    while ((10 + dict.length + 1) % 64 !== 0) dict += ' ';
    dict += '\n';
    const head = Buffer.alloc(10);
    Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
    head.writeUInt16LE(dict.length, 8);
    return Buffer.concat([head, Buffer.from(dict, 'latin1'), body]);
  };
  const refused = (s: PretrainedSource, message: RegExp, field = 'tables.words.pretrained.path') => {
    for (const check of [() => checkPretrained(spec, s), () => loadPretrained(spec, s, 3)]) {
      const e = thrown<RowshardError>(check);
      expect(e).toBeInstanceOf(RowshardError);
      expect(e.code).toBe(ErrorCodes.BAD_DATA);
      expect(e.details.field).toBe(field);
      expect(e.message).toMatch(message);
      expect(e.message).toContain(field);
    }
  };

  it('.npy: missing, truncated, trailing bytes, not floats, the wrong shape', () => {
    refused(source('nothing.npy', 'npy'), /nothing\.npy: cannot be read \(ENOENT\)/);
    write('short.npy', npy('<f4', '(7, 5)', new Uint8Array(7 * 5 * 4 - 4)));
    refused(source('short.npy', 'npy'), /short\.npy: .*needs 140 bytes of data, found 136 \(truncated\)/);
    write('long.npy', npy('<f4', '(7, 5)', new Uint8Array(7 * 5 * 4 + 4)));
    refused(source('long.npy', 'npy'), /found 144 \(trailing bytes\)/);
    write('ints.npy', npy('<i8', '(7, 5)', new Uint8Array(7 * 5 * 8)));
    refused(source('ints.npy', 'npy'), /dtype <i8 is not supported/);
    write('wide.npy', npy('<f4', '(7, 6)', new Uint8Array(7 * 6 * 4)));
    refused(source('wide.npy', 'npy'), /its array is \[7, 6\]; table 'words' is \[9, 5\]/);
    write('tall.npy', npy('<f4', '(10, 5)', new Uint8Array(10 * 5 * 4)));
    refused(source('tall.npy', 'npy'), /a file may have fewer rows, not more/);
    write('flat.npy', npy('<f4', '(35,)', new Uint8Array(35 * 4)));
    refused(source('flat.npy', 'npy'), /its array is \[35\]/);
    write('text.npy', 'not numpy');
    refused(source('text.npy', 'npy'), /not a readable \.npy file: missing the/);
    refused(
      source('glove.txt', 'npy', 'vocab.txt'),
      /a vocabulary maps the words of word2vec and GloVe files/,
      'tables.words.pretrained.vocab',
    );
  });

  it('safetensors: no tensor to take, an integer tensor, a truncated file', () => {
    const st = (tensors: Record<string, { dtype: string; shape: number[]; bytes: number }>, cut = 0) => {
      let at = 0;
      const json: Record<string, unknown> = {};
      for (const [name, t] of Object.entries(tensors)) {
        json[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.bytes] };
        at += t.bytes;
      }
      const header = Buffer.from(JSON.stringify(json));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(header.length));
      return Buffer.concat([len, header, Buffer.alloc(at - cut)]);
    };
    write(
      'two.safetensors',
      st({ a: { dtype: 'F32', shape: [7, 5], bytes: 140 }, b: { dtype: 'F32', shape: [7, 5], bytes: 140 } }),
    );
    refused(source('two.safetensors', 'safetensors'), /has no tensor named 'weight' or 'words\.weight' \(tensors: a, b\)/);
    write('int.safetensors', st({ weight: { dtype: 'I32', shape: [7, 5], bytes: 140 } }));
    refused(source('int.safetensors', 'safetensors'), /tensor 'weight' is I32; F16, BF16, F32 and F64 are supported/);
    write('cut.safetensors', st({ weight: { dtype: 'F32', shape: [7, 5], bytes: 140 } }, 8));
    refused(source('cut.safetensors', 'safetensors'), /cut\.safetensors: not a valid safetensors file: .*truncated/);
  });

  it('word vectors: another dim, a bad number, a count line that does not match, a truncated binary file', () => {
    write('dim4.txt', 'a 1 2 3 4\n');
    refused(source('dim4.txt', 'glove'), /dim4\.txt: line 1: vectors have dim 4; the table has 5/);
    write('header.txt', '2 5\na 1 2 3 4 5\n');
    refused(source('header.txt', 'glove'), /line 1: looks like a word2vec count line; use format word2vec/);
    write('nan.txt', 'a 1 2 3 4 5\nb 1 2 x 4 5\n');
    refused(source('nan.txt', 'glove'), /nan\.txt: line 2: value 3 \("x"\) is not a finite number/);
    write('count.txt', '3 5\na 1 2 3 4 5\nb 1 2 3 4 5\n');
    refused(source('count.txt', 'word2vec'), /line 1: announces 3 vectors; the file holds 2/);
    write('noheader.txt', 'a 1 2 3 4 5\n');
    refused(
      source('noheader.txt', 'word2vec'),
      /line 1: expected "<count> <dim>" \(word2vec\); for a file without it use format glove/,
    );
    const vector = Buffer.from(new Float32Array([1, 2, 3, 4, 5]).buffer);
    write('cut.bin', Buffer.concat([Buffer.from('2 5\na '), vector, Buffer.from('\nb '), vector.subarray(0, 12)]));
    refused(source('cut.bin', 'word2vec'), /vector 2: 'b': the file ends inside its 5 float32 values/);
    write('many.txt', Array.from({ length: 10 }, (_, i) => `x${i} 1 2 3 4 5\n`).join(''));
    refused(source('many.txt', 'glove'), /line 10: more vectors than the table's 9 rows/);
    write('words.txt', 'a\tb\tc\n');
    refused(
      source('dim4.txt', 'glove', 'words.txt'),
      /words\.txt:1: field 'word' may not contain a tab/,
      'tables.words.pretrained.vocab',
    );
  });
});

describe('GloVe words with spaces', () => {
  it("take every field but the last dim (Common Crawl's vectors have a few)", () => {
    writeFileSync(join(dir, 'spaced.txt'), 'a 1 2 3 4 5\nnew york 6 7 8 9 10\n');
    writeFileSync(join(dir, 'spaced-vocab.txt'), 'new york\na\n');
    const rows = loadPretrained(spec, source('spaced.txt', 'glove', 'spaced-vocab.txt'), 3);
    expect(Array.from(rows.subarray(0, 2 * DIM))).toEqual([6, 7, 8, 9, 10, 1, 2, 3, 4, 5]);
  });
});

describe('pretrained paths', () => {
  it('resolve against the job file, as every other path of the job does', () => {
    const job = {
      tables: { a: { pretrained: { path: 'vec/a.npy' } }, b: { pretrained: { path: '/abs/b.txt', vocab: 'v.txt' } }, c: {} },
    };
    absolutisePretrainedPaths(job, '/jobs');
    expect(job.tables).toEqual({
      a: { pretrained: { path: '/jobs/vec/a.npy' } },
      b: { pretrained: { path: '/abs/b.txt', vocab: '/jobs/v.txt' } },
      c: {},
    });
  });
});
