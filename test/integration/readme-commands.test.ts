import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@rowshard/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The README's command lines, run as written: every line of its `sh` blocks, in order, in one
 * directory holding small files under the names the README uses (train.txt, job.yaml, ...),
 * with `rowshard` on PATH as the built CLI. Each must exit 0. A line that cannot run here is
 * listed below with the reason, so a new line is either run or explained. Inline `rowshard
 * ...` spans in the prose are checked against the commands and their --help.
 */
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const cli = join(repoRoot, 'packages/cli/bundle/rowshard.js');

/** Lines not run, and why. */
const notRun: Record<string, string> = {
  'npx -y pnpm@12.4.2 install && npx -y pnpm@12.4.2 test': 'CI itself (.ci/run): this test is part of it',
  'pnpm build': 'CI runs it before the tests; rebuilding dist/ under running tests would break them',
  'pnpm test': 'CI itself: this test is part of it',
  'pnpm lint': "CI's lint step",
  'pnpm bench:train': 'a benchmark: minutes long, and never part of the pass/fail suite (DESIGN.md §8)',
  'npx -y pnpm@12.4.2 pack:rowshard':
    'package-install.test.ts packs the package into a temporary directory (the README line would write into the repository)',
  'npm install -g ./rowshard-0.1.0.tgz':
    'package-install.test.ts installs it under a temporary prefix (a global install would change the machine running the tests)',
};

/**
 * Section 5's block (checkpoints, export, similar, pretrained) is run by
 * readme-checkpoints.test.ts, which also checks what each line prints and writes.
 */
const section5 = readme.slice(
  readme.indexOf('### 5. Checkpoints'),
  readme.indexOf('\n### ', readme.indexOf('### 5. Checkpoints') + 1),
);

/** Where the first line goes: the demo, once installed and built (what CI has done). */
const rewrite: Record<string, string> = {
  'npx -y pnpm@12.4.2 install && npx -y pnpm@12.4.2 build && npx -y pnpm@12.4.2 rowshard train': 'rowshard train',
};

function shBlocks(text: string): string[][] {
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
    m[1]
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter((l) => l !== ''),
  );
}

const dir = mkdtempSync(join(tmpdir(), 'rowshard-readme-'));
const bin = join(dir, '.bin');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Text in fastText's format; "king" and "queen" are words, as the README's similar line asks. */
function corpus(n: number, offset: number): string {
  const lines = [];
  for (let i = 0; i < n; i++) {
    const j = i + offset;
    lines.push(
      j % 2
        ? `__label__royal the king and the queen rule w${j % 7} w${j % 3}`
        : `__label__food bread and cheese taste good w${j % 5} w${j % 3}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

beforeAll(() => {
  mkdirSync(bin);
  writeFileSync(join(bin, 'rowshard'), `#!/bin/sh\nexec "${process.execPath}" "${cli}" "$@"\n`);
  chmodSync(join(bin, 'rowshard'), 0o755);
  writeFileSync(join(dir, 'train.txt'), corpus(200, 0));
  writeFileSync(join(dir, 'test.txt'), corpus(60, 1));
  writeFileSync(join(dir, 'texts.txt'), 'the king rules\nbread and cheese\n');
  // The job of the checkpoint section: a small text classifier over the same words.
  writeFileSync(
    join(dir, 'job.yaml'),
    `model: { name: text_classifier, options: { embeddingDim: 8, hiddenDim: 8, dropout: 0 } }
data: { kind: file, path: train.txt, features: sequence, seqLen: 8 }
steps: 20
batchSize: 16
`,
  );
  // A vocabulary for export --vocab: one word per row of the table (16 words, <pad> and <unk> first).
  const words = ['<pad>', '<unk>', 'the', 'king', 'and', 'queen', 'rule', 'bread', 'cheese', 'taste', 'good'];
  for (let i = 0; i < 7; i++) words.push(`w${i}`);
  writeFileSync(join(dir, 'vocab.txt'), `${words.join('\n')}\n`);
});

const covered = new Set(shBlocks(section5).flat());
const blocks = shBlocks(readme).filter((b) => !b.every((line) => covered.has(line)));

describe('README command lines', () => {
  it('has the command lines this test knows how to run or skip', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const line of blocks.flat()) {
      const runnable = line.startsWith('rowshard ') || line in rewrite;
      expect(runnable || line in notRun, `README line neither run nor explained: ${line}`).toBe(true);
    }
  });

  it.each(blocks.map((b, i) => [i, b] as const))(
    'sh block %i runs, line by line, each exiting 0',
    (_i, lines) => {
      for (const written of lines) {
        if (written in notRun) continue;
        const line = rewrite[written] ?? written;
        const r = spawnSync('bash', ['-c', line], {
          cwd: dir,
          encoding: 'utf8',
          env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
          timeout: 180_000,
        });
        expect(r.status, `${written}\n${r.stderr.slice(-2000)}`).toBe(0);
      }
    },
    600_000,
  );

  it('every inline `rowshard <command> ...` names a command and only flags its --help lists', () => {
    const helps = new Map<string, string>();
    const help = (command: string) => {
      if (!helps.has(command)) {
        const r = spawnSync(process.execPath, [cli, command, '--help'], { encoding: 'utf8' });
        expect(r.status, `rowshard ${command} --help`).toBe(0);
        helps.set(command, r.stdout);
      }
      return helps.get(command) as string;
    };
    const spans = [...readme.matchAll(/`(rowshard [^`]+)`/g)].map((m) => m[1].replace(/\s+/g, ' '));
    expect(spans.length).toBeGreaterThan(10);
    for (const span of spans) {
      const [, command, ...args] = span.split(' ');
      if (!/^[a-z]+$/.test(command) || command === 'help') continue; // `rowshard <command> --help`, `rowshard coordinator|ps|trainer`
      const text = help(command);
      for (const arg of args) {
        const flag = /^(--?[a-zA-Z][\w-]*)/.exec(arg)?.[1];
        if (!flag || flag === '--help' || flag === '-h') continue;
        expect(text, `${span}: ${flag}`).toMatch(new RegExp(`(^|[\\s,])${flag}(\\s|$)`, 'm'));
      }
    }
  });
});
