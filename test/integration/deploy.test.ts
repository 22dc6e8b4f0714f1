import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@rowshard/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const deploy = join(repoRoot, 'deploy');
const scratch = mkdtempSync(join(tmpdir(), 'rowshard-deploy-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const haveCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;
if (!haveCompose) console.warn('compose validation skipped: docker-compose is not installed (apt-get install docker-compose)');

describe('deploy/', () => {
  it.skipIf(!haveCompose)('docker-compose -f deploy/compose.yaml config accepts the compose file', () => {
    // Each env file from its example where it is not there yet (as deploy/README.md begins).
    const made = ['rowshard.env', 'trainer.env'].filter((name) => {
      const file = join(deploy, name);
      if (existsSync(file)) return false;
      copyFileSync(join(deploy, `${name}.example`), file);
      return true;
    });
    try {
      const out = execFileSync('docker-compose', ['-f', join(deploy, 'compose.yaml'), 'config'], { encoding: 'utf8' });
      const config = parse(out);
      expect(Object.keys(config.services).sort()).toEqual(['coordinator', 'ps', 'trainer']);
      expect(config.services.coordinator.ports[0]).toMatchObject({ target: 7070 });
      expect(config.services.ps.environment.ROWSHARD_COORDINATOR).toBe('ws://coordinator:7070');
      expect(config.services.ps.restart).toBe('on-failure');
      expect(Object.keys(config.volumes)).toContain('checkpoints');
      if (made.includes('rowshard.env')) expect(config.services.coordinator.environment.ROWSHARD_TOKEN).toBe('change-me');
      // The cluster token goes to the coordinator and the shards; a trainer gets its credential only.
      expect(config.services.ps.environment.ROWSHARD_TOKEN).toBeDefined();
      expect(config.services.trainer.environment.ROWSHARD_TOKEN).toBeUndefined();
      expect(config.services.trainer.environment.ROWSHARD_ROLE_TOKEN).toBeDefined();
      expect(config.services.ps.environment.ROWSHARD_CHECKPOINT_ROOT).toBe('/checkpoints');
    } finally {
      for (const name of made) rmSync(join(deploy, name));
    }
  });

  it('the Dockerfile is multi-stage, runs as a non-root user and has a healthcheck', () => {
    const text = readFileSync(join(deploy, 'Dockerfile'), 'utf8');
    expect(text.match(/^FROM node:20/gm)).toHaveLength(2);
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^HEALTHCHECK /m);
    expect(text).toMatch(/pnpm --filter @rowshard\/cli deploy --prod \/app/);
  });

  it('what the image holds (a `pnpm deploy` of the CLI) runs a cluster through the role commands', async () => {
    const app = join(scratch, 'app');
    // pnpm itself may not be on PATH (CI runs it through npx): fall back to the pinned one.
    const direct = spawnSync('pnpm', ['--version'], { encoding: 'utf8' }).status === 0;
    const [cmd, pre] = direct ? ['pnpm', [] as string[]] : ['npx', ['-y', 'pnpm@12.4.2']];
    const deployed = spawnSync(cmd, [...pre, '--filter', '@rowshard/cli', 'deploy', '--prod', app], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(deployed.status, deployed.stderr + deployed.stdout).toBe(0);
    const cli = join(app, 'dist/main.js');
    const job = join(scratch, 'job.yaml');
    writeFileSync(
      job,
      `model: { name: text_classifier, options: { vocabSize: 500, embeddingDim: 8, hiddenDim: 8, numClasses: 2, dropout: 0 } }
optimizers: { embeddings: { kind: sparse_adam, lr: 0.05 }, dense: { kind: adam, lr: 0.01 } }
steps: 10
batchSize: 16
data: { kind: synthetic_text, vocabSize: 500, seqLen: 8, numClasses: 2 }
cluster: { ps: 2, trainers: 1, workersPerTrainer: 1 }
checkpoint: { dir: ${join(scratch, 'ckpt', 'job')}, everySteps: 5 }
`,
    );
    const { spawn } = await import('node:child_process');
    // As deploy/README.md runs it on several hosts: the cluster token for the coordinator and
    // the shards, listening on every address; for the trainer only what `rowshard token` prints.
    const env = { ...process.env, ROWSHARD_TOKEN: 'deploy-test-cluster-token' };
    const credential = (role: string) =>
      execFileSync(process.execPath, [cli, 'token', '--role', role], { env, encoding: 'utf8' }).trim();
    const trainerEnv: NodeJS.ProcessEnv = { ...process.env, ROWSHARD_ROLE_TOKEN: credential('trainer') };
    delete trainerEnv.ROWSHARD_TOKEN;
    const serve = ['--host', '0.0.0.0', '--port', '0'];
    const procs = [spawn(process.execPath, [cli, 'coordinator', '--config', job, ...serve, '--dashboard'], { env })];
    let coordinatorUrl = '';
    let done = false;
    const finished = new Promise<void>((resolve) => {
      procs[0].stdout.on('data', (d: Buffer) => {
        for (const line of d.toString().split('\n')) {
          if (line.includes('"listening"') && !coordinatorUrl) coordinatorUrl = JSON.parse(line).url;
          if (line.includes('"event":"done"')) {
            done = true;
            resolve();
          }
        }
      });
    });
    try {
      while (!coordinatorUrl) await new Promise((r) => setTimeout(r, 50));
      const root = ['--checkpoint-root', join(scratch, 'ckpt')];
      for (let i = 0; i < 2; i++)
        procs.push(spawn(process.execPath, [cli, 'ps', '--coordinator', coordinatorUrl, ...serve, ...root], { env }));
      procs.push(spawn(process.execPath, [cli, 'trainer', '--coordinator', coordinatorUrl], { env: trainerEnv }));
      await finished;
      expect(done).toBe(true);
      expect(existsSync(join(scratch, 'ckpt', 'job', 'step-00000010', 'manifest.json'))).toBe(true);
      // curl -H "Authorization: Bearer $(rowshard token --role viewer)" http://A:7070/api/status
      const status = `${coordinatorUrl.replace(/^ws:/, 'http:')}/api/status`;
      expect((await fetch(status)).status).toBe(401);
      const viewer = await fetch(status, { headers: { authorization: `Bearer ${credential('viewer')}` } });
      expect(viewer.status).toBe(200);
      expect((await viewer.json()).phase).toBe('done');
    } finally {
      for (const p of procs) p.kill('SIGTERM');
    }
  });
});
