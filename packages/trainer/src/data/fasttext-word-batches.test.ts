import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dictionaryFileText, FastTextDictionary, type FileDataSpec, parseDataSpec } from '@rowshard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { dictionaryOptions } from './fasttext-batches.js';
import { countWordExamples, FastTextWordBatches } from './fasttext-word-batches.js';

const dir = mkdtempSync(join(tmpdir(), 'rowshard-ftwords-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A skipgram data spec over `text`, after its dictionary pass (minCount 5; t 1: no word subsampled away). */
async function skipgramData(name: string, text: string): Promise<FileDataSpec> {
  const path = join(dir, `${name}.txt`);
  writeFileSync(path, text);
  const spec = parseDataSpec(
    { kind: 'file', path, format: 'fasttext', features: 'fasttext_skipgram', minCount: 5, t: 1, seed: 7 },
    'data',
  ) as FileDataSpec;
  const dict = FastTextDictionary.build(Buffer.from(text), dictionaryOptions(spec));
  const vocabFile = join(dir, `${name}.vocab`);
  writeFileSync(vocabFile, dictionaryFileText(dict), 'latin1');
  return { ...spec, vocabFile, examples: await countWordExamples(path, dict) };
}

describe('FastTextWordBatches', () => {
  it("runs a line on across the \\n where </s> is not in the dictionary, as fastText's getLine does", async () => {
    // Two lines, each word 6 times: a and b are known at minCount 5, </s> (2) is not, so
    // fastText reads one line of 12 words, the same as the file without its \n.
    const twoLines = await skipgramData('two', 'a b a b a b\na b a b a b\n');
    const oneLine = await skipgramData('one', 'a b a b a b a b a b a b\n');
    expect(twoLines.examples).toBe(12);
    const batch = async (spec: FileDataSpec) => new FastTextWordBatches(spec, 12).slice(0, 0, 12);
    expect(await batch(twoLines)).toEqual(await batch(oneLine));
    // Where </s> is known, each \\n ends a line: a, b, </s>, so no word has more than 2 in its window.
    const known = await skipgramData('known', 'a b\n'.repeat(6));
    expect(known.examples).toBe(18);
    const split = await new FastTextWordBatches(known, 18).slice(0, 0, 18);
    const owner = split.inputs[2].data as Int32Array;
    const window = new Array(18).fill(0);
    split.target.forEach((t, k) => {
      window[owner[k]] += t;
    });
    expect(Math.max(...window)).toBe(2);
  });
});
