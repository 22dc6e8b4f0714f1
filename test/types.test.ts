import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '@rowshard/testkit';
import { describe, expect, it } from 'vitest';

/**
 * The typed protocol's compile-time guarantees (test/types/protocol-types.ts): every request
 * and reply typed by message type, every dispatch table complete. That file marks the lines
 * that must not compile with @ts-expect-error; tsc fails on any that does compile.
 */
describe('typed protocol', () => {
  it('type-checks, and each line that must not compile does not', () => {
    const tsc = join(repoRoot, 'node_modules', '.bin', 'tsc');
    const r = spawnSync(tsc, ['-p', join(repoRoot, 'test', 'types', 'tsconfig.json')], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
