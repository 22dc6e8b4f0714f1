import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RowshardError } from '@rowshard/core';
import { parity } from '@rowshard/nn';
import { formatHelp } from '../command-line/help.js';
import { type CommandLineSpec, parseCommandLine } from '../command-line/parse.js';
import { runTrajectoryOnCluster } from '../launcher/cluster-parity.js';
import { type Command, usageError } from './command.js';

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

const parityCommandLine: CommandLineSpec = {
  command: 'parity',
  summary: 'check rowshard against a directory of PyTorch fixtures (in one process, or through a cluster)',
  dash: '--',
  options: [
    { name: 'cluster', type: 'boolean', help: 'train the trajectory fixtures through a local cluster' },
    { name: 'ps', type: 'int', min: 1, help: 'with --cluster: parameter servers', default: '3' },
    { name: 'trainers', type: 'int', min: 1, help: 'with --cluster: trainer processes', default: '2' },
    { name: 'workers', type: 'int', min: 1, help: 'with --cluster: worker threads per trainer', default: '2' },
  ],
  positionals: [{ name: 'DIR', help: 'a directory of fixture files (*.json) in the fixture schema' }],
  notes: ['Exit: 0 every case passes, 1 a case failed, 2 a file could not be run.'],
};

export const parityCommand: Command = {
  summary: parityCommandLine.summary,
  usage: 'rowshard parity [--cluster [--ps N] [--trainers N] [--workers N]] <fixture-dir>',
  help: () => formatHelp(parityCommandLine),
  async run(argv) {
    const { values, positionals } = parseCommandLine(parityCommandLine, argv, () => formatHelp(parityCommandLine));
    if (positionals.length !== 1)
      throw usageError('parity', `expected one fixture directory, got ${positionals.length} arguments\nusage: ${this.usage}`);
    const dir = positionals[0];
    if (!values.cluster) {
      if (values.ps !== undefined || values.trainers !== undefined || values.workers !== undefined) {
        throw usageError('parity', '--ps, --trainers and --workers need --cluster');
      }
      return runFixtureDirectory(dir, (file, json) => parity.runFixture(file, json));
    }
    const sizes = {
      ps: (values.ps as number | undefined) ?? 3,
      trainers: (values.trainers as number | undefined) ?? 2,
      workersPerTrainer: (values.workers as number | undefined) ?? 2,
    };
    // Only trajectory fixtures train; the others check single operations, which --cluster has no part in.
    const isTrajectory = (file: string, json: unknown) => {
      const trajectory = json !== null && typeof json === 'object' && 'initial_state' in json && 'batches' in json;
      if (!trajectory) process.stdout.write(`SKIP  ${file} (not a training trajectory)\n`);
      return trajectory;
    };
    return runFixtureDirectory(
      dir,
      (file, json) =>
        runTrajectoryOnCluster(file, join(dir, file), json, {
          ...sizes,
          onLog: (role, line) => process.stderr.write(`[${role}] ${line}\n`),
        }),
      isTrajectory,
    );
  },
};
