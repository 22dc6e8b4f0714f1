import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jobConfigFields, jobDefaults } from '@rowshard/core';
import { repoRoot } from '@rowshard/testkit';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * The README's "Config file reference" against jobDefaults. A row's field cell names a path
 * (`optimizers.<group>.schedule`: placeholders drop out; `data` (`kind: file`): the kind is a
 * step of the path); each code span in its default cell is a value at that path, or
 * `key: value` below it, written as YAML. Words outside code spans are for people.
 */
interface Row {
  readonly field: string;
  readonly path: readonly string[];
  readonly defaults: readonly string[];
}

const codeSpans = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

function referenceRows(readme: string): Row[] {
  const start = readme.indexOf('### Config file reference');
  expect(start, 'README has a "### Config file reference" section').toBeGreaterThanOrEqual(0);
  const section = readme.slice(start).split(/\n#{2,3} /)[0];
  const lines = section.split('\n').filter((l) => l.startsWith('|'));
  // The header and the --- line first.
  return lines.slice(2).map((line) => {
    const [field, defaults] = line
      .slice(1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    const [name, ...rest] = codeSpans(field);
    const kind = rest.find((s) => s.startsWith('kind: '));
    const path = [...name.split('.').filter((k) => !/^<.*>$/.test(k)), ...(kind ? [kind.slice('kind: '.length)] : [])];
    return { field, path, defaults: codeSpans(defaults) };
  });
}

function at(obj: unknown, path: readonly string[]): unknown {
  let node = obj;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !(key in node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Paths of every default in the object: values, null, and empty objects and lists. */
function leafPaths(obj: unknown, prefix: readonly string[] = []): string[] {
  if (obj === null || typeof obj !== 'object' || Object.keys(obj).length === 0) return [prefix.join('.')];
  return Object.entries(obj).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
}

const rows = referenceRows(readFileSync(join(repoRoot, 'README.md'), 'utf8'));

describe('README config file reference', () => {
  it('has a row for every job field, and no row for a field the job does not have', () => {
    const documented = new Set(rows.map((r) => r.path[0]));
    for (const f of jobConfigFields) expect(documented, `a row for ${f}`).toContain(f);
    for (const f of documented) expect(jobConfigFields as readonly string[], `row ${f}`).toContain(f);
  });

  it('states the defaults of jobDefaults, every one of them', () => {
    const stated = new Set<string>();
    for (const row of rows) {
      for (const span of row.defaults) {
        const keyed = /^[\w.]+: /.exec(span);
        const path = keyed ? [...row.path, ...span.slice(0, keyed[0].length - 2).split('.')] : row.path;
        const value = keyed ? parse(span.slice(keyed[0].length)) : parse(span);
        expect(at(jobDefaults, path), `README row ${row.field}: \`${span}\``).toEqual(value);
        stated.add(path.join('.'));
      }
    }
    for (const path of leafPaths(jobDefaults)) expect(stated, `the README states the default of ${path}`).toContain(path);
  });
});
