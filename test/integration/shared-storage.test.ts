import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { STORAGE_MARKER_FILE } from '@rowshard/core';
import { repoRoot } from '@rowshard/testkit';
import { roleCredential } from '@rowshard/transport';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

/**
 * Shared checkpoint storage is checked at registration, with real processes on one box: the
 * coordinator writes a marker into the job's checkpoint directory and every parameter server
 * must read it back under its own checkpoint root. Two directories stand for two machines'
 * (or two containers') disks: parameter servers rooted elsewhere stop the job at start, with a
 * message naming them and what to mount; rooted at the same directory, the job runs to the end.
 */
const cli = join(repoRoot, 'packages/cli/bundle/rowshard.js');
const scratch = mkdtempSync(join(tmpdir(), 'rowshard-shared-storage-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const token = 'shared-storage-test-cluster-token';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Role {
  readonly child: ChildProcess;
  readonly events: Record<string, unknown>[];
  stderr: string;
  readonly exited: Promise<number | null>;
  /** Resolves with the first event named `name`. */
  event(name: string): Promise<Record<string, unknown>>;
}

function start(args: string[], env: NodeJS.ProcessEnv): Role {
  return spawnRole(process.execPath, [cli, ...args], env);
}

function spawnRole(command: string, args: string[], env: NodeJS.ProcessEnv): Role {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const waiters: { name: string; resolve: (e: Record<string, unknown>) => void }[] = [];
  const role: Role = {
    child,
    events: [],
    stderr: '',
    // 'close': the exit with all of stderr read (the exit alone can come first).
    exited: new Promise((resolve) => child.once('close', (code) => resolve(code))),
    event(name) {
      const seen = role.events.find((e) => e.event === name);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ name, resolve }));
    },
  };
  child.stderr?.on('data', (d: Buffer) => {
    role.stderr += d.toString();
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line);
    } catch {
      return;
    }
    role.events.push(e);
    for (const w of waiters.filter((w) => w.name === e.event)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(e);
    }
  });
  return role;
}

function job(name: string, checkpointDir: string): string {
  const file = join(scratch, `${name}.yaml`);
  writeFileSync(
    file,
    `model: { name: text_classifier, options: { vocabSize: 300, embeddingDim: 4, hiddenDim: 4, numClasses: 2, dropout: 0 } }
optimizers: { embeddings: { kind: sparse_adam, lr: 0.05 }, dense: { kind: adam, lr: 0.01 } }
steps: 6
batchSize: 8
data: { kind: synthetic_text, vocabSize: 300, seqLen: 6, numClasses: 2 }
cluster: { ps: 2, trainers: 1, workersPerTrainer: 1 }
checkpoint: { dir: ${checkpointDir}, everySteps: 3 }
`,
  );
  return file;
}

/** A coordinator, then a PS per entry of `roots` (its --checkpoint-root; null: none), on loopback. */
async function cluster(name: string, checkpointDir: string, roots: (string | null)[]) {
  const env = { ...process.env, ROWSHARD_TOKEN: token };
  const coordinator = start(['coordinator', '--config', job(name, checkpointDir), '--port', '0'], env);
  const url = String((await coordinator.event('listening')).url);
  const shards = roots.map((root, i) =>
    start(['ps', '--coordinator', url, '--shard', String(i), ...(root ? ['--checkpoint-root', root] : [])], env),
  );
  return { coordinator, url, shards };
}

describe('shared checkpoint storage', () => {
  it('parameter servers that see another directory stop the job at start, and say which and what to mount', async () => {
    const coordinatorDisk = join(scratch, 'coordinator-disk');
    const psDisk = join(scratch, 'ps-disk');
    mkdirSync(psDisk);
    // Not created beforehand: the coordinator makes the directory it needs.
    const dir = join(coordinatorDisk, 'ckpt');
    const { coordinator, shards } = await cluster('apart', dir, [psDisk, psDisk]);

    expect(await coordinator.exited).toBe(2);
    const stopped = await coordinator.event('stopped');
    expect(stopped.code).toBe('E_STORAGE_NOT_SHARED');
    const reason = String(stopped.reason);
    expect(reason).toMatch(
      /^checkpoint storage is not shared: the coordinator and the parameter servers of shard 0 \(.+\), shard 1 \(.+\) do not see the same checkpoint directory /,
    );
    expect(reason).toContain(`the job's checkpoint directory ${dir} is outside its checkpoint root ${psDisk}`);
    expect(reason).toContain(`Mount one shared volume or file system at ${dir} in the coordinator and in every parameter server`);
    expect(reason).toContain('--checkpoint-root (ROWSHARD_CHECKPOINT_ROOT)');
    expect(coordinator.stderr).toContain(`rowshard coordinator: E_STORAGE_NOT_SHARED: ${reason}`);
    expect(coordinator.stderr).not.toMatch(/internal error|E_INTERNAL|\n\s+at /);
    // Each refused parameter server says so too, and exits.
    for (const ps of shards) {
      expect(await ps.exited).toBe(2);
      expect(ps.stderr).toMatch(
        /^rowshard: E_STORAGE_NOT_SHARED: this parameter server \(shard \d\) does not see the coordinator's checkpoint directory /,
      );
    }
    // Nothing was trained, so no checkpoint was begun; the coordinator's marker is cleaned up.
    expect(existsSync(join(dir, 'step-00000003'))).toBe(false);
    expect(existsSync(join(dir, STORAGE_MARKER_FILE))).toBe(false);
  });

  it('a parameter server without a checkpoint root is refused; the one that shares the directory is named as fine', async () => {
    const root = join(scratch, 'half');
    const { coordinator, shards } = await cluster('half', join(root, 'ckpt'), [root, null]);
    expect(await coordinator.exited).toBe(2);
    const reason = String((await coordinator.event('stopped')).reason);
    expect(reason).toMatch(/the coordinator and the parameter server of shard 1 \(.+\) do not see/);
    expect(reason).toContain('Shard 1: it has no checkpoint root (--checkpoint-root, ROWSHARD_CHECKPOINT_ROOT)');
    expect(reason).toContain('(shards 0 do share it.)');
    expect(await shards[1].exited).toBe(2);
  });

  // Two containers, each with its own /checkpoints: the same path, another directory. A mount
  // namespace gives one parameter server its own disk at the coordinator's path.
  const unshare = process.getuid?.() === 0 ? spawnSync('unshare', ['-m', 'true']).status === 0 : false;
  if (!unshare) console.warn('shared-storage mount-namespace case skipped: needs root and unshare(1)');
  it.skipIf(!unshare)("the same path on another disk is caught: a missing marker, or another coordinator's", async () => {
    const root = join(scratch, 'volume');
    const dir = join(root, 'ckpt');
    const ownDisk = join(scratch, 'own-disk');
    mkdirSync(join(ownDisk, 'ckpt'), { recursive: true });
    const env = { ...process.env, ROWSHARD_TOKEN: token };
    const inOwnMountNamespace = (url: string, shard: number) =>
      spawnRole(
        'unshare',
        [
          '-m',
          'sh',
          '-c',
          'mount --bind "$1" "$2" && shift 2 && exec "$@"',
          'sh',
          ownDisk,
          root,
          process.execPath,
          cli,
          'ps',
          '--coordinator',
          url,
          '--shard',
          String(shard),
          '--checkpoint-root',
          root,
        ],
        env,
      );
    mkdirSync(root, { recursive: true });
    const first = await cluster('volume', dir, [root]);
    const lonely = inOwnMountNamespace(first.url, 1);
    expect(await first.coordinator.exited).toBe(2);
    let reason = String((await first.coordinator.event('stopped')).reason);
    expect(reason).toContain(
      `Shard 1: ${join(dir, STORAGE_MARKER_FILE)}, which the coordinator has just written, does not exist on this parameter server: its ${dir} is another directory than the coordinator's`,
    );
    expect(reason).toContain('(shards 0 do share it.)');
    expect(await lonely.exited).toBe(2);
    expect(lonely.stderr).toContain('E_STORAGE_NOT_SHARED');

    // An old marker on the other disk (a coordinator that once ran there) is not taken for this one's.
    writeFileSync(
      join(ownDisk, 'ckpt', STORAGE_MARKER_FILE),
      JSON.stringify({
        format: 'rowshard-storage-marker/1',
        nonce: '0123456789abcdef0123456789abcdef',
        writtenBy: 'another coordinator',
        createdAt: '',
      }),
    );
    const second = await cluster('volume-again', dir, [root]);
    inOwnMountNamespace(second.url, 1);
    expect(await second.coordinator.exited).toBe(2);
    reason = String((await second.coordinator.event('stopped')).reason);
    expect(reason).toContain(
      `Shard 1: its ${join(dir, STORAGE_MARKER_FILE)} holds another nonce than the one this coordinator wrote`,
    );
  });

  it('parameter servers rooted at the coordinator’s directory pass the check and the job runs to the end', async () => {
    const root = join(scratch, 'one-disk');
    const dir = join(root, 'job');
    const { coordinator, url } = await cluster('together', dir, [root, root]);
    const trainerEnv: NodeJS.ProcessEnv = { ...process.env, ROWSHARD_ROLE_TOKEN: roleCredential(token, 'trainer') };
    delete trainerEnv.ROWSHARD_TOKEN;
    start(['trainer', '--coordinator', url], trainerEnv);
    const done = await coordinator.event('done');
    expect(done).toMatchObject({ steps: 6, checkpointsWritten: 2, checkpointsFailed: 0 });
    expect(existsSync(join(dir, 'step-00000006', 'manifest.json'))).toBe(true);
    expect(coordinator.events.some((e) => e.event === 'stopped')).toBe(false);
  });
});
