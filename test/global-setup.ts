import { randomUUID } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

/**
 * One id per `vitest run`, for work the test files of one run share across their processes:
 * the container tests build the image once per run (test/e2e/containers.ts), and the run's
 * marks are removed at its end.
 */
export default function setup(project: TestProject): () => void {
  const runId = randomUUID();
  project.provide('rowshardRunId', runId);
  return () => {
    for (const dir of readdirSync(tmpdir()).filter((d) => d.startsWith('rowshard-image-'))) {
      rmSync(join(tmpdir(), dir, `built-${runId}`), { force: true });
    }
  };
}
