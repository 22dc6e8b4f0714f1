import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@rowshard/testkit';
import { describe, expect, it } from 'vitest';

/** docs/ARCHITECTURE.md, "Packages": core and nn are pure; no file, network, thread or process I/O. */
const forbidden =
  /from\s+['"](node:)?(fs|fs\/promises|net|http|https|tls|dgram|worker_threads|child_process|cluster|ws|piscina)['"]/;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

describe('pure packages', () => {
  it.each(['core', 'kernels', 'nn'])('packages/%s imports no I/O modules', (pkg) => {
    const files = sources(join(repoRoot, 'packages', pkg, 'src'));
    expect(files.length).toBeGreaterThan(5);
    const offenders = files.filter((f) => forbidden.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
