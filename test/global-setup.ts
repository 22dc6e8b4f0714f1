import { randomUUID } from 'node:crypto';
import type { TestProject } from 'vitest/node';

/**
 * One id per `vitest run`, for work the test files of one run share across their processes:
 * the container tests build the image once per run (test/e2e/containers.ts).
 */
export default function setup(project: TestProject): void {
  project.provide('rowshardRunId', randomUUID());
}
