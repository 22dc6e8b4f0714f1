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
    const env = join(deploy, 'rowshard.env');
    const made = !existsSync(env);
    if (made) copyFileSync(join(deploy, 'rowshard.env.example'), env);
    try {
      const out = execFileSync('docker-compose', ['-f', join(deploy, 'compose.yaml'), 'config'], { encoding: 'utf8' });
      const config = parse(out);
      expect(Object.keys(config.services).sort()).toEqual(['coordinator', 'ps', 'trainer']);
      expect(config.services.coordinator.ports[0]).toMatchObject({ target: 7070 });
      expect(config.services.ps.environment.ROWSHARD_COORDINATOR).toBe('ws://coordinator:7070');
      expect(config.services.ps.restart).toBe('on-failure');
      expect(Object.keys(config.volumes)).toContain('checkpoints');
      expect(config.services.coordinator.environment.ROWSHARD_TOKEN).toBe('change-me'); // from the env file
    } finally {
      if (made) rmSync(env);
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
`,
    );
    const { spawn } = await import('node:child_process');
    const env = { ...process.env, ROWSHARD_TOKEN: 'deploy-test' };
    const procs = [spawn(process.execPath, [cli, 'coordinator', '--config', job, '--port', '0'], { env })];
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
      for (let i = 0; i < 2; i++) procs.push(spawn(process.execPath, [cli, 'ps', '--coordinator', coordinatorUrl], { env }));
      procs.push(spawn(process.execPath, [cli, 'trainer', '--coordinator', coordinatorUrl], { env }));
      await finished;
      expect(done).toBe(true);
    } finally {
      for (const p of procs) p.kill('SIGTERM');
    }
  });
});
