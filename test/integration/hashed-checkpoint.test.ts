import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalCluster, readFullTable, readManifest, startLocalCluster } from '@rowshard/cli';
import { checkpointDirName, tableSpec } from '@rowshard/core';
import { repoRoot } from '@rowshard/testkit';
import { PsClient } from '@rowshard/trainer';
import { afterAll, describe, expect, it } from 'vitest';

const root = mkdtempSync(join(tmpdir(), 'rowshard-hashed-ckpt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const cli = join(repoRoot, 'packages/cli/bundle/rowshard.js');

/** The CTR model: every table hashed, keyed by raw 64-bit ids. */
const job = (dir: string, tables: Record<string, unknown> = {}) => ({
  seed: 8,
  model: { name: 'ctr', options: { numDense: 3, numCategorical: 4, embeddingDim: 4, hiddenDim: 8, tableSize: 1000 } },
  optimizers: { embeddings: { kind: 'sparse_adam', lr: 0.05 }, dense: { kind: 'adam', lr: 0.01 } },
  sync: 'bsp',
  steps: 12,
  batchSize: 32,
  data: { kind: 'synthetic_ctr', vocabSize: 400, numDense: 3, numCategorical: 4, seed: 3 },
  checkpoint: { dir, everySteps: 6 },
  tables,
});

/** Every table with the same admission and eviction. */
const dynamic = (admission: Record<string, unknown>, eviction: Record<string, unknown>) =>
  Object.fromEntries(Array.from({ length: 4 }, (_, f) => [`cat_${f}`, { admission, eviction }]));

async function run(dir: string, ps: number, tables: Record<string, unknown> = {}) {
  let cluster: LocalCluster | null = null;
  const events: Record<string, unknown>[] = [];
  try {
    cluster = await startLocalCluster({
      job: job(dir, tables),
      ps,
      trainers: 1,
      workersPerTrainer: 2,
      onEvent: (_role, e) => events.push(e),
    });
    return { result: await cluster.result(), events };
  } finally {
    await cluster?.stop();
  }
}

const npyPath = () => join(root, 'cat_1.npy');
const writeJob = (path: string, j: Record<string, unknown>) => {
  writeFileSync(path, JSON.stringify(j));
  return path;
};
const stepDir = (dir: string, step: number) => join(dir, checkpointDirName(step));
const table = (dir: string, step: number, name: string) =>
  readFullTable(stepDir(dir, step), readManifest(stepDir(dir, step)), name);

describe('hashed tables in checkpoints', () => {
  const straight = join(root, 'straight');

  it('saved with 3 PS, resumed on 2 PS and trained on: every id, row and optimizer slot equals the run that never stopped', async () => {
    await run(straight, 3);
    const resumed = join(root, 'resumed');
    cpSync(stepDir(straight, 6), stepDir(resumed, 6), { recursive: true });
    const again = await run(resumed, 2);
    expect(again.events.find((e) => e.event === 'resume')).toMatchObject({ step: 6 });
    for (const name of ['cat_0', 'cat_3']) {
      const a = table(straight, 12, name);
      const b = table(resumed, 12, name);
      expect(a.ids?.length).toBeGreaterThan(50);
      expect(b.ids).toEqual(a.ids);
      expect(b.weight).toEqual(a.weight);
      expect(b.state).toEqual(a.state);
    }
    const dense = (d: string) => readManifest(stepDir(d, 12)).dense.sha256;
    expect(dense(resumed)).toBe(dense(straight));
  });

  it.each([
    ['probability admission and ttl eviction, resumed on 2 PS', { kind: 'probability', p: 0.5 }, { ttlSteps: 3 }, 2],
    [
      'count admission (sketches summed onto 2 PS; wide enough that no collision changes a decision) and ttl eviction, resumed on 2 PS',
      { kind: 'count', minCount: 2, width: 4096, depth: 2 },
      { ttlSteps: 3 },
      2,
    ],
  ] as const)(
    '%s: ids, rows and optimizer slots equal the run that never stopped (evictions decided by the restored last-update steps)',
    async (name, admission, eviction, ps) => {
      const tables = dynamic(admission, eviction);
      const a = join(root, `dyn-straight-${admission.kind}`);
      await run(a, 3, tables);
      const b = join(root, `dyn-resumed-${admission.kind}`);
      cpSync(stepDir(a, 6), stepDir(b, 6), { recursive: true });
      const again = await run(b, ps, tables);
      expect(
        again.events.find((e) => e.event === 'resume'),
        name,
      ).toMatchObject({ step: 6 });
      for (const t of ['cat_0', 'cat_2']) {
        const x = table(a, 12, t);
        const y = table(b, 12, t);
        expect(x.ids?.length).toBeGreaterThan(5);
        expect(y.ids).toEqual(x.ids);
        expect(y.weight).toEqual(x.weight);
        expect(y.state).toEqual(x.state);
      }
      expect(readManifest(stepDir(b, 12)).dense.sha256).toBe(readManifest(stepDir(a, 12)).dense.sha256);
    },
  );

  it('exports ids beside rows (npy pair, safetensors, tsv) and finds neighbours by 64-bit id', () => {
    const dir = stepDir(straight, 12);
    const t = table(straight, 12, 'cat_1');
    const ids = t.ids as BigUint64Array;
    const exported = (format: string, out: string) => {
      const r = spawnSync(process.execPath, [cli, 'export', dir, '--table', 'cat_1', '--format', format, '--out', out], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim());
    };
    const npy = join(root, 'cat_1.npy');
    expect(exported('npy', npy)).toMatchObject({ rows: ids.length, hashed: true, files: [npy, join(root, 'cat_1.ids.npy')] });
    exported('safetensors', join(root, 'cat_1.safetensors'));
    exported('tsv', join(root, 'cat_1.tsv'));
    const lines = readFileSync(join(root, 'cat_1.tsv'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(ids.length);
    const [first, ...values] = lines[3].split('\t');
    expect(BigInt(first)).toBe(ids[3]);
    expect(Float32Array.from(values.map(Number))).toEqual(t.weight.subarray(12, 16));
    const probe = spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' });
    if (probe.status === 0) {
      const py = `import numpy, json
a = numpy.load('${npy}'); i = numpy.load('${join(root, 'cat_1.ids.npy')}')
print(json.dumps({'shape': list(a.shape), 'idtype': str(i.dtype), 'id3': str(i[3]), 'row3': [float(x) for x in a[3]]}))`;
      const got = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8' }));
      expect(got).toEqual({
        shape: [ids.length, 4],
        idtype: 'uint64',
        id3: ids[3].toString(),
        row3: Array.from(t.weight.subarray(12, 16)),
      });
    } else console.warn('numpy is not installed for /usr/bin/python3: the .npy files were not loaded');
    const r = spawnSync(process.execPath, [cli, 'similar', dir, '--table', 'cat_1', ids[5].toString(), '-k', '3', '--json'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const answer = JSON.parse(r.stdout);
    expect(answer.id).toBe(ids[5].toString());
    expect(answer.neighbours).toHaveLength(3);
    for (const n of answer.neighbours) expect(ids).toContain(BigInt(n.id));
    const missing = spawnSync(process.execPath, [cli, 'similar', dir, '--table', 'cat_1', '12345', '--json'], {
      encoding: 'utf8',
    });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/id 12345 has no row in table 'cat_1'/);
  });

  it("the exported safetensors (ids beside rows) is a hashed table's from_pretrained: frozen, its rows are the file's", async () => {
    const t = table(straight, 12, 'cat_1');
    const ids = t.ids as BigUint64Array;
    const file = join(root, 'cat_1.safetensors');
    const fresh = join(root, 'pretrained');
    let cluster: LocalCluster | null = null;
    try {
      const j = { ...job(fresh, { cat_1: { pretrained: { path: file } } }), steps: 3 };
      cluster = await startLocalCluster({ job: j, ps: 2, trainers: 1, workersPerTrainer: 1 });
      await cluster.result();
      const client = new PsClient({
        shardUrls: cluster.psUrls(),
        token: cluster.credential('trainer'),
        tables: [tableSpec({ name: 'cat_1', kind: 'hashed', numEmbeddings: 1000, embeddingDim: 4 })],
      });
      await client.connect();
      expect(await client.pull('cat_1', ids)).toEqual(t.weight);
      await client.close();
    } finally {
      await cluster?.stop();
    }
    // A row-ordered file cannot say which id a row is: refused before anything starts, naming the field.
    const config = writeJob(join(root, 'bad.json'), job(fresh, { cat_1: { pretrained: { path: npyPath() } } }));
    const bad = spawnSync(process.execPath, [cli, 'train', '--config', config], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(
      /tables\.cat_1\.pretrained\.format: .*is hashed: its rows come from safetensors with an 'ids' tensor/,
    );
  });
});
