import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RowshardError } from '@rowshard/core';
import { parity } from '@rowshard/nn';
import { type Command, parseFlags, usageError } from './command.js';

/** The fixture files of a directory (every *.json), in name order. */
export function fixtureFiles(dir: string): string[] {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(dir);
  } catch {
    throw usageError('parity', `fixture directory ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw usageError('parity', `${dir} is not a directory`);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  if (files.length === 0) throw usageError('parity', `${dir} holds no *.json fixture files`);
  return files;
}

/** Reads and parses one fixture file; a syntax error names the file. */
export function readFixtureJson(dir: string, file: string): unknown {
  const text = readFileSync(join(dir, file), 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new parity.FixtureReader(file).fail('(file)', `not valid JSON: ${(e as Error).message}`);
  }
}

export function formatCase(c: parity.CaseResult): string {
  const status = c.pass ? 'PASS' : 'FAIL';
  const err = Number.isFinite(c.maxAbsError) ? c.maxAbsError.toExponential(2) : String(c.maxAbsError);
  const note = c.note ? `  (${c.note})` : '';
  return `${status}  ${c.name}  max_abs_err=${err}  tol=${c.tolerance}${note}`;
}

/**
 * Runs fixture files through a runner and prints one line per case. A bad file is reported
 * (one line naming the file and field) and the others still run. Exit: 0 all pass, 1 a case
 * failed, 2 a file could not be run.
 */
export async function runFixtureDirectory(
  dir: string,
  runOne: (file: string, json: unknown) => Promise<parity.CaseResult[]> | parity.CaseResult[],
  filter: (file: string, json: unknown) => boolean = () => true,
): Promise<number> {
  let failed = 0;
  let passed = 0;
  let broken = 0;
  for (const file of fixtureFiles(dir)) {
    try {
      const json = readFixtureJson(dir, file);
      if (!filter(file, json)) continue;
      for (const c of await runOne(file, json)) {
        process.stdout.write(`${formatCase(c)}\n`);
        if (c.pass) passed++;
        else failed++;
      }
    } catch (e) {
      if (!(e instanceof RowshardError)) throw e;
      broken++;
      process.stdout.write(`ERROR ${file}: ${e.code}: ${e.message}\n`);
    }
  }
  process.stdout.write(`${passed} passed, ${failed} failed${broken ? `, ${broken} file(s) could not be run` : ''}\n`);
  if (broken > 0) return 2;
  return failed > 0 ? 1 : 0;
}

export const parityCommand: Command = {
  summary: 'check rowshard against a directory of PyTorch fixtures',
  usage: 'rowshard parity <fixture-dir>',
  async run(argv) {
    const { positionals } = parseFlags('parity', argv, {});
    if (positionals.length !== 1)
      throw usageError('parity', `expected one fixture directory, got ${positionals.length} arguments\nusage: ${this.usage}`);
    return runFixtureDirectory(positionals[0], (file, json) => parity.runFixture(file, json));
  },
};
