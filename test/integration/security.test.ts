import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CHECKPOINT_FORMAT,
  type CheckpointManifest,
  coordinatorProtocol,
  type PsProtocol,
  psProtocol,
  type Role,
  type ShardFileInfo,
  tableSpec,
} from '@rowshard/core';
import {
  childEnv,
  type PsCluster,
  repoRoot,
  type SpawnedProcess,
  spawnReady,
  startPsProcesses,
  stopProcess,
} from '@rowshard/testkit';
import { PsClient } from '@rowshard/trainer';
import { RpcClient, roleCredential } from '@rowshard/transport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 12, items 5, 6 and 11, against real processes (packages/ps/dist/main.js,
 * packages/coordinator/dist/main.js, the rowshard CLI): a role that listens beyond loopback
 * will not start without a strong token; a trainer's credential cannot send the control
 * messages (checkpoint, restore, load) or register as a shard; checkpoint directories stay
 * under the shard's checkpoint root; `load` takes only finite values; the dashboard and
 * /api/status need a credential while /metrics and /healthz stay open.
 */
const TOKEN = 'security-test-cluster-token';
const credential = (role: Role) => roleCredential(TOKEN, role);
const scratch = mkdtempSync(join(tmpdir(), 'rowshard-security-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const cli = join(repoRoot, 'packages/cli/bundle/rowshard.js');
const DIM = 4;
const ROWS = 40;
const tables = [
  { spec: { name: 'emb', numEmbeddings: ROWS, embeddingDim: DIM }, optimizer: { kind: 'sgd', lr: 0.5 } },
  { spec: { name: 'ada', numEmbeddings: ROWS, embeddingDim: DIM }, optimizer: { kind: 'adagrad', lr: 0.5 } },
];
const specs = tables.map((t) => tableSpec(t.spec));
const allIds = Float64Array.from({ length: ROWS }, (_, i) => i);

const job = {
  seed: 0,
  model: { name: 'text_classifier', options: { vocabSize: 200, embeddingDim: 4, hiddenDim: 4, numClasses: 2, dropout: 0 } },
  optimizers: { embeddings: { kind: 'sgd', lr: 0.1 }, dense: { kind: 'sgd', lr: 0.1 } },
  steps: 5,
  batchSize: 8,
  data: { kind: 'synthetic_text', vocabSize: 200, seqLen: 4, numClasses: 2 },
  cluster: { ps: 1, trainers: 1, workersPerTrainer: 1 },
};
const jobFile = join(scratch, 'job.json');
writeFileSync(jobFile, JSON.stringify(job));
const psConfig = join(scratch, 'ps.json');
writeFileSync(psConfig, JSON.stringify({ shard: 0, numShards: 1, seed: 0, tables }));

/** Runs a process that must refuse to start: its exit code and stderr (killed after 15 s if it listens instead). */
function refusal(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    // 'close', not 'exit': the exit can be seen before the last of stderr is read (a loaded
    // machine showed an empty stderr with the exit code right).
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** Waits (briefly) for a process's stderr to contain `text`: stdout's ready line may arrive first. */
async function stderrOf(p: SpawnedProcess, text: string): Promise<string> {
  const deadline = Date.now() + 5000;
  while (!p.stderr().includes(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return p.stderr();
}

describe('a role listening beyond loopback will not start without a strong token', () => {
  const ps = [join(repoRoot, 'packages/ps/dist/main.js'), '--config', psConfig, '--host', '0.0.0.0', '--port', '0'];
  const coordinator = [join(repoRoot, 'packages/coordinator/dist/main.js'), '--job', jobFile, '--host', '0.0.0.0', '--port', '0'];
  it.concurrent.each([
    [
      'ps',
      'no token',
      ps,
      undefined,
      'rowshard ps: E_BAD_CONFIG: ROWSHARD_TOKEN: is not set, and this parameter server listens on 0.0.0.0, beyond loopback',
    ],
    [
      'ps',
      'change-me',
      ps,
      'change-me',
      "ROWSHARD_TOKEN: is the placeholder 'change-me' from deploy/rowshard.env.example, and this parameter server listens on 0.0.0.0",
    ],
    [
      'ps',
      'a short token',
      ps,
      'fifteen-bytes!!',
      'ROWSHARD_TOKEN: is 15 bytes long, shorter than the 16 bytes required, and this parameter server listens on 0.0.0.0',
    ],
    [
      'coordinator',
      'no token',
      coordinator,
      undefined,
      'rowshard coordinator: E_BAD_CONFIG: ROWSHARD_TOKEN: is not set, and this coordinator listens on 0.0.0.0',
    ],
    ['coordinator', 'change-me', coordinator, 'change-me', "is the placeholder 'change-me'"],
    ['coordinator', 'a short token', coordinator, 'short', 'ROWSHARD_TOKEN: is 5 bytes long'],
    [
      'rowshard ps',
      'no token',
      [cli, 'ps', '--coordinator', 'ws://127.0.0.1:9', '--host', '0.0.0.0'],
      undefined,
      'rowshard: E_BAD_CONFIG: ROWSHARD_TOKEN: is not set, and this parameter server listens on 0.0.0.0',
    ],
  ])('%s with %s exits 2, saying why', async (_role, _what, args, token, message) => {
    const { code, stderr } = await refusal(args, { ROWSHARD_TOKEN: token, ROWSHARD_HOST: undefined });
    expect(stderr).toContain(message);
    expect(code).toBe(2);
  });

  it('on loopback without a token, both roles start and print a warning', async () => {
    const noToken = { ROWSHARD_TOKEN: undefined, ROWSHARD_HOST: undefined };
    const started = await Promise.all([
      spawnReady('packages/ps/dist/main.js', ['--config', psConfig], noToken),
      spawnReady('packages/coordinator/dist/main.js', ['--job', jobFile, '--dashboard'], noToken),
    ]);
    try {
      const [ps, coordinator] = started;
      expect(await stderrOf(ps, 'ROWSHARD_TOKEN is not set')).toContain(
        '"event":"warning","reason":"ROWSHARD_TOKEN is not set: this parameter server on 127.0.0.1 takes every local connection, unauthenticated, as any role',
      );
      expect(await stderrOf(coordinator, 'ROWSHARD_TOKEN is not set')).toContain(
        'ROWSHARD_TOKEN is not set: this coordinator on 127.0.0.1 takes every local connection',
      );
      // Without a token there is nothing to ask for: the status is open.
      const http = String(coordinator.ready.url).replace(/^ws:/, 'http:');
      expect((await fetch(`${http}/api/status`)).status).toBe(200);
    } finally {
      await Promise.all(started.map((p) => stopProcess(p)));
    }
  });
});

describe('rowshard token', () => {
  const run = (args: string[], token: string | undefined) => refusal([cli, 'token', ...args], { ROWSHARD_TOKEN: token });

  it('prints the credential of a role, derived from ROWSHARD_TOKEN', async () => {
    const child = spawn(process.execPath, [cli, 'token', '--role', 'trainer'], { env: childEnv({ ROWSHARD_TOKEN: TOKEN }) });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    // 'close': every byte of stdout read, not only the exit seen.
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(out).toBe(`${credential('trainer')}\n`);
  });

  it.concurrent.each([
    [['--role', 'admin'], TOKEN, '--role must be one of coordinator, ps, trainer, viewer'],
    [['--role', 'trainer'], undefined, 'ROWSHARD_TOKEN is not set'],
    [['--role', 'trainer'], 'change-me', "ROWSHARD_TOKEN is the placeholder 'change-me'"],
  ])('refuses %j with ROWSHARD_TOKEN=%s', async (args, token, message) => {
    const { code, stderr } = await run(args, token);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });
});

describe('a parameter server takes control messages only from the coordinator, and checkpoints only under its root', () => {
  const root = join(scratch, 'ckpt-root');
  const outside = join(scratch, 'elsewhere');
  let cluster: PsCluster;
  let worker: PsClient;
  const links: RpcClient<PsProtocol>[] = [];
  let epoch = 0;

  const as = async (role: Role) => {
    const c = new RpcClient({ url: cluster.urls[0], token: credential(role), protocol: psProtocol, peerName: `ps as ${role}` });
    links.push(c);
    await c.connect();
    return c;
  };
  /** Every row of both tables, as bytes. */
  const snapshot = async () =>
    Promise.all(
      specs.map(async (s) => {
        const rows = await worker.pull(s.name, allIds);
        return Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength);
      }),
    );
  const train = (lr: number) =>
    worker.pushMany(
      specs.map((s) => ({ table: s.name, ids: allIds, grads: new Float32Array(ROWS * DIM).fill(0.25), lr, step: 1 })),
    );
  const manifestOf = (info: ShardFileInfo, step: number): CheckpointManifest => ({
    format: CHECKPOINT_FORMAT,
    step,
    createdAt: new Date(0).toISOString(),
    seed: 0,
    numShards: 1,
    tables: [],
    shards: [info],
    dense: { file: 'dense.safetensors', bytes: 0, sha256: '-' },
    totalBytes: info.bytes,
    durationMs: 0,
  });

  beforeAll(async () => {
    mkdirSync(root, { recursive: true });
    mkdirSync(outside, { recursive: true });
    cluster = await startPsProcesses({ numShards: 1, tables, token: TOKEN, checkpointRoot: root });
    worker = new PsClient({ shardUrls: cluster.urls, token: credential('trainer'), tables: specs });
    await worker.connect();
    await train(0.5); // rows that differ from their initial values, so a reset would show
  });
  afterAll(async () => {
    await Promise.all(links.map((c) => c.close()));
    await worker?.close();
    await cluster?.stop();
  });

  it('a trainer credential gets E_FORBIDDEN for checkpoint, restore and load; the rows stay byte for byte, nothing is written, the process lives', async () => {
    const before = await snapshot();
    const trainer = await as('trainer');
    const forbidden = (type: string) => ({
      code: 'E_FORBIDDEN',
      message: `${type}: the parameter server takes this message only from the coordinator; this connection authenticated as trainer, so nothing was done`,
    });
    await expect(
      trainer.request('checkpoint', { dir: join(root, 'by-trainer'), step: 0, pushedSteps: null, epoch }),
    ).rejects.toMatchObject(forbidden('checkpoint'));
    await expect(trainer.request('restore', { dir: null, manifest: null, epoch: epoch + 1 })).rejects.toMatchObject(
      forbidden('restore'),
    );
    await expect(
      trainer.request('load', { tables: [{ table: 'emb', ids: Uint32Array.of(1, 2), rows: new Float32Array(2 * DIM).fill(7) }] }),
    ).rejects.toMatchObject(forbidden('load'));
    expect(await snapshot()).toEqual(before);
    expect(readdirSync(root)).toEqual([]);
    // Neither the process nor this connection suffered: both still serve.
    expect(cluster.processes[0].child.exitCode).toBeNull();
    await trainer.request('ping', {});
    const { stats } = await trainer.request('stats', {});
    expect(stats.errors.E_FORBIDDEN).toBe(3);
    // The shard's data messages are a trainer's, not the coordinator's.
    const coordinator = await as('coordinator');
    await expect(coordinator.request('pull', { tables: [{ table: 'emb', ids: Uint32Array.of(0) }] })).rejects.toMatchObject({
      code: 'E_FORBIDDEN',
    });
  });

  it('checkpoint and restore work under the root, and are refused outside it, through .. or through a symbolic link', async () => {
    const coordinator = await as('coordinator');
    const saved = await snapshot();
    const inside = join(root, 'step-00000001');
    const { info } = await coordinator.request('checkpoint', { dir: inside, step: 1, pushedSteps: null, epoch });
    expect(existsSync(join(inside, info.file))).toBe(true);
    await train(0.5);
    const trained = await snapshot();
    expect(trained).not.toEqual(saved);

    symlinkSync(outside, join(root, 'link'));
    const escapes = [outside, join(root, '..', 'elsewhere'), join(root, 'link'), join(root, 'link', 'deeper')];
    for (const dir of escapes) {
      await expect(coordinator.request('checkpoint', { dir, step: 1, pushedSteps: null, epoch })).rejects.toMatchObject({
        code: 'E_FORBIDDEN',
        message: `checkpoint: directory '${dir}' is outside this parameter server's checkpoint root '${root}'; nothing was read or written`,
      });
    }
    expect(readdirSync(outside)).toEqual([]);
    // A copy of the good checkpoint outside the root: refused only for where it is.
    const copy = join(outside, 'copied');
    mkdirSync(copy);
    writeFileSync(join(copy, info.file), readFileSync(join(inside, info.file)));
    for (const dir of [copy, join(root, 'link', 'copied')]) {
      await expect(
        coordinator.request('restore', { dir, manifest: manifestOf(info, 1), epoch: epoch + 1 }),
      ).rejects.toMatchObject({
        code: 'E_FORBIDDEN',
        message: expect.stringContaining(`restore: directory '${dir}' is outside this parameter server's checkpoint root`),
      });
    }
    expect(await snapshot()).toEqual(trained);
    // The same checkpoint, inside the root: restored.
    epoch += 1;
    await coordinator.request('restore', { dir: inside, manifest: manifestOf(info, 1), epoch });
    expect(await snapshot()).toEqual(saved);
  });

  it('load refuses NaN and infinite rows or optimizer state, whole, and the rows stay as they were', async () => {
    const coordinator = await as('coordinator');
    const before = await snapshot();
    const rows = (bad: number) => {
      const r = new Float32Array(3 * DIM).fill(0.5);
      r[DIM + 2] = bad;
      return r;
    };
    const good = { table: 'emb', ids: Uint32Array.of(4, 5, 6), rows: new Float32Array(3 * DIM).fill(3) };
    for (const [bad, shown] of [
      [Number.NaN, 'NaN'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
      [Number.NEGATIVE_INFINITY, '-Infinity'],
    ] as const) {
      // A good part first: nothing of the request may be applied.
      await expect(
        coordinator.request('load', { tables: [good, { table: 'emb', ids: Uint32Array.of(7, 8, 9), rows: rows(bad) }], epoch }),
      ).rejects.toMatchObject({
        code: 'E_BAD_REQUEST',
        message: `load 'emb': the values of row 8 (position 1) holds ${shown}; nothing was loaded`,
      });
    }
    const state = new Float32Array(2 * DIM).fill(0.1);
    state[3] = Number.NaN;
    await expect(
      coordinator.request('load', {
        tables: [{ table: 'ada', ids: Uint32Array.of(1, 2), rows: new Float32Array(2 * DIM), state }],
        epoch,
      }),
    ).rejects.toMatchObject({
      code: 'E_BAD_REQUEST',
      message: "load 'ada': the optimizer state of row 1 (position 0) holds NaN; nothing was loaded",
    });
    expect(await snapshot()).toEqual(before);
    // Finite values from the coordinator load.
    await coordinator.request('load', { tables: [good], epoch });
    expect([...(await worker.pull('emb', [4, 5, 6]))]).toEqual([...good.rows]);
  });

  it('a parameter server started without a checkpoint root reads and writes no checkpoint directory', async () => {
    const bare = await startPsProcesses({ numShards: 1, tables, token: TOKEN });
    const c = new RpcClient({ url: bare.urls[0], token: credential('coordinator'), protocol: psProtocol });
    try {
      await expect(
        c.request('checkpoint', { dir: join(root, 'bare'), step: 0, pushedSteps: null, epoch: 0 }),
      ).rejects.toMatchObject({
        code: 'E_FORBIDDEN',
        message: expect.stringContaining('checkpoint: this parameter server has no checkpoint root'),
      });
      expect(existsSync(join(root, 'bare'))).toBe(false);
      // Back to the initial state needs no directory.
      expect(await c.request('restore', { dir: null, manifest: null, epoch: 1 })).toEqual({ rowsLoaded: 0, step: 0 });
    } finally {
      await c.close();
      await bare.stop();
    }
  });
});

describe('the coordinator: registration by role, and a status that needs a credential', () => {
  let coordinator: SpawnedProcess;
  let http: string;
  const links: RpcClient<typeof coordinatorProtocol>[] = [];
  const as = async (role: Role) => {
    const c = new RpcClient({ url: String(coordinator.ready.url), token: credential(role), protocol: coordinatorProtocol });
    links.push(c);
    await c.connect();
    return c;
  };

  beforeAll(async () => {
    coordinator = await spawnReady('packages/coordinator/dist/main.js', ['--job', jobFile, '--dashboard'], {
      ROWSHARD_TOKEN: TOKEN,
      ROWSHARD_HOST: undefined,
    });
    http = String(coordinator.ready.url).replace(/^ws:/, 'http:');
  });
  afterAll(async () => {
    await Promise.all(links.map((c) => c.close()));
    if (coordinator) await stopProcess(coordinator);
  });

  it('only a parameter server may register as a shard; only trainers take ranks; only the launcher gets the result', async () => {
    const trainer = await as('trainer');
    const url = 'ws://127.0.0.1:9';
    for (const [type, body] of [
      ['register_ps', { url, shard: null, name: 'impostor' }],
      ['ps_ready', { shard: 0, url }],
      ['result', {}],
    ] as const) {
      await expect(trainer.request(type, body as never)).rejects.toMatchObject({
        code: 'E_FORBIDDEN',
        message: expect.stringContaining(`${type}: the coordinator takes this message only from`),
      });
    }
    const ps = await as('ps');
    await expect(ps.request('register_trainer', {})).rejects.toMatchObject({ code: 'E_FORBIDDEN' });
    await expect(ps.request('dense_step', { step: 0, rank: 0, grads: {}, loss: 0, examples: 0 })).rejects.toMatchObject({
      code: 'E_FORBIDDEN',
    });
    const status = await (
      await fetch(`${http}/api/status`, { headers: { authorization: `Bearer ${credential('viewer')}` } })
    ).json();
    expect(status.shards).toEqual([null]); // the impostor was never registered
    expect(coordinator.child.exitCode).toBeNull();
  });

  it('/api/status and the dashboard answer 401 without a credential; /metrics and /healthz stay open', async () => {
    const status = await fetch(`${http}/api/status`);
    expect(status.status).toBe(401);
    expect(status.headers.get('www-authenticate')).toBe('Bearer realm="rowshard"');
    const body = await status.text();
    expect(body).toContain('E_UNAUTHORIZED');
    expect(body).not.toContain('ws://');
    const page = await fetch(`${http}/`);
    expect(page.status).toBe(401);
    const html = await page.text();
    expect(html).toContain('<form method="post" action="/login">');
    expect(html).not.toContain('/api/status');
    for (const bad of ['Bearer wrong', `Bearer ${TOKEN}`, `Bearer ${roleCredential('another-cluster-token', 'viewer')}`]) {
      expect((await fetch(`${http}/api/status`, { headers: { authorization: bad } })).status).toBe(401);
    }
    expect((await fetch(`${http}/api/status`, { headers: { cookie: 'rowshard_session=viewer.0' } })).status).toBe(401);
    expect((await fetch(`${http}/metrics`)).status).toBe(200);
    expect(await (await fetch(`${http}/healthz`)).text()).toBe('ok\n');
  });

  it('a role credential as a bearer header reads the status', async () => {
    for (const role of ['viewer', 'coordinator'] as const) {
      const r = await fetch(`${http}/api/status`, { headers: { authorization: `Bearer ${credential(role)}` } });
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ phase: 'starting', workers: 1 });
    }
  });

  it('the login form takes the cluster token and sets a session cookie holding the viewer credential, not the token', async () => {
    const login = (token: string) =>
      fetch(`${http}/login`, {
        method: 'POST',
        body: new URLSearchParams({ token }),
        redirect: 'manual',
      });
    const wrong = await login('not-the-token');
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('That is not the cluster token or a credential of it.');
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const right = await login(TOKEN);
    expect(right.status).toBe(303);
    expect(right.headers.get('location')).toBe('/');
    const cookie = right.headers.get('set-cookie') ?? '';
    expect(cookie).toBe(`rowshard_session=${credential('viewer')}; Path=/; HttpOnly; SameSite=Strict`);
    const session = cookie.split(';')[0];
    const page = await fetch(`${http}/`, { headers: { cookie: session } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("fetch('/api/status'");
    expect((await fetch(`${http}/api/status`, { headers: { cookie: `other=1; ${session}` } })).status).toBe(200);
    // A form far bigger than any token is not read.
    const huge = await fetch(`${http}/login`, { method: 'POST', body: new URLSearchParams({ token: 'x'.repeat(10_000) }) }).catch(
      () => null,
    );
    expect(huge === null || huge.status === 413).toBe(true);
  });
});
