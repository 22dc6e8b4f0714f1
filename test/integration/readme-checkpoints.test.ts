import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSafetensorsHeader } from '@rowshard/core';
import { repoRoot } from '@rowshard/testkit';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * README's "5. Checkpoints, export, nearest neighbours, pretrained tables", run as written:
 * every line of its sh block, in order, with `rowshard` this checkout's CLI, on a small job
 * on a text file, and its `pretrained.yaml` made as the README says (job.yaml plus its yaml
 * block).
 */
const cli = join(repoRoot, 'packages/cli/bundle/rowshard.js');
const dir = mkdtempSync(join(tmpdir(), 'rowshard-readme-5-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function section(): { sh: string[]; yaml: string } {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('### 5. Checkpoints, export, nearest neighbours, pretrained tables');
  const end = readme.indexOf('\n### ', start + 1);
  expect(start).toBeGreaterThan(0);
  const text = readme.slice(start, end);
  const block = (lang: string) => {
    const m = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(text);
    expect(m, `a ${lang} block in section 5`).not.toBeNull();
    return m![1];
  };
  return { sh: block('sh').trim().split('\n'), yaml: block('yaml') };
}

const words = ['king', 'queen', 'prince', 'crown', 'apple', 'pear', 'plum', 'cherry'];
const corpus = Array.from({ length: 400 }, (_, i) => {
  const topic = i % 2;
  const pick = (k: number) => words[topic * 4 + ((i * 7 + k * 3) % 4)];
  return `__label__${topic ? 'fruit' : 'royal'} ${pick(0)} ${pick(1)} ${pick(2)}`;
}).join('\n');

const job = `model: { name: text_classifier, options: { embeddingDim: 8, hiddenDim: 8, dropout: 0 } }
optimizers:
  embeddings: { kind: sparse_adam, lr: 0.05 }
  dense: { kind: adam, lr: 0.01 }
data: { kind: file, path: train.txt, format: fasttext, features: sequence, seqLen: 4 }
steps: 20
batchSize: 32
cluster: { ps: 1, trainers: 1, workersPerTrainer: 1 }
`;

describe('README section 5', () => {
  it('every command line runs as written and does what the text says', () => {
    const { sh, yaml } = section();
    writeFileSync(join(dir, 'train.txt'), `${corpus}\n`);
    writeFileSync(join(dir, 'job.yaml'), job);
    writeFileSync(join(dir, 'pretrained.yaml'), job + yaml);
    const outputs: string[] = [];
    for (const line of sh) {
      expect(line).toMatch(/^rowshard /);
      const command = line.replace(/^rowshard /, `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} `);
      const r = spawnSync('bash', ['-euo', 'pipefail', '-c', command], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, `${line}\n${r.stderr}`).toBe(0);
      outputs.push(r.stdout);
    }
    // similar: words, not ids.
    const similar = outputs[sh.findIndex((l) => l.startsWith('rowshard similar'))];
    expect(similar).toMatch(/^ {2}1 {2}(queen|prince|crown|apple|pear|plum|cherry|<unk>|<pad>) {2}-?\d\.\d{4}$/m);
    expect(existsSync(join(dir, 'emb.npy'))).toBe(true);
    const vectors = readFileSync(join(dir, 'emb.txt'), 'utf8').split('\n');
    expect(vectors[0]).toBe('10 8'); // <pad>, <unk> and the eight words
    expect(vectors[3].split(' ')).toHaveLength(9);
    const st = readFileSync(join(dir, 'emb.safetensors'));
    expect(parseSafetensorsHeader(st, st.length, 'emb.safetensors').tensors.map((t) => t.name)).toEqual([
      'weight',
      'state.weight.exp_avg',
      'state.weight.exp_avg_sq',
      'state.weight.step',
    ]);
  }, 300_000);
});
