import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@rowshard/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { copyOfCheckout, noEngineReason, run, testImage } from './containers.js';

/**
 * deploy/README.md's compose walk-through, line by line as it is written there, in a copy of
 * this checkout (its deploy/*.env are the test's own): env files from the examples with a
 * real token, build, the trainers' credential, `up --scale ps=2 --scale trainer=1`, the
 * coordinator's log until progress, kill -9 of one parameter server's process, the log
 * until `recovered` and `done`, `run --rm coordinator export`, `docker cp` of the table,
 * `down -v`. Compose v2 where it is installed, else v1 (`docker-compose`), as the README
 * allows. The only additions: a small job (ROWSHARD_STEPS in rowshard.env, as the README
 * says CI does), this run's image tag, any free host port and a project name of its own.
 * The recovery timeline (fault → recovered) and up → first progress are printed.
 */
const MINUTE = 60_000;

function composeCommand(): { spell: (line: string) => string; reason: string | null } {
  if (spawnSync('docker', ['compose', 'version']).status === 0) return { spell: (l) => l, reason: null };
  if (spawnSync('docker-compose', ['version']).status === 0) {
    return { spell: (l) => l.replaceAll('docker compose ', 'docker-compose '), reason: null };
  }
  return { spell: (l) => l, reason: 'neither docker compose (v2) nor docker-compose (v1) is installed' };
}

const compose = composeCommand();
const reason =
  noEngineReason() ??
  compose.reason ??
  (process.getuid?.() === 0 ? null : "not root: the README's kill -9 of a container's process needs root on the Docker host");
if (reason) console.warn(`compose end-to-end test skipped: ${reason}`);

/** The commands of the sh blocks in deploy/README.md's "With docker compose" section, in order. */
function readmeCommands(): string[] {
  const text = readFileSync(join(repoRoot, 'deploy', 'README.md'), 'utf8');
  const section = text.slice(text.indexOf('## With docker compose'));
  const body = section.slice(0, section.indexOf('\n## ', 3));
  return [...body.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1].split('\n').filter((l) => l.trim() !== ''));
}

interface Follow {
  readonly child: ChildProcess;
  /** Each JSON event seen, with the time it was read. */
  readonly events: { at: number; event: Record<string, unknown> }[];
  until(test: (e: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>>;
}

/** A `logs -f` line, running: its JSON events as they arrive (compose prefixes each with `coordinator_1 | `). */
function follow(line: string, cwd: string, env: NodeJS.ProcessEnv): Follow {
  const child = spawn('bash', ['-c', `exec ${line.replace(/\s+#.*$/, '')}`], { cwd, env });
  const events: Follow['events'] = [];
  const waiters = new Set<() => void>();
  let rest = '';
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) {
      const at = l.indexOf('{');
      if (at < 0) continue;
      try {
        events.push({ at: Date.now(), event: JSON.parse(l.slice(at)) });
      } catch {
        // a line that is not an event
      }
    }
    for (const w of waiters) w();
  });
  child.stderr.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  });
  return {
    child,
    events,
    until(test, ms) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = events.find((e) => test(e.event));
          if (!hit) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit.event);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`\`${line}\` showed no such event in ${ms} ms; it said: ${output}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
  };
}

describe.skipIf(reason !== null)('deploy/README.md with docker compose, end to end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rowshard-compose-'));
  const followers: ChildProcess[] = [];
  let env: NodeJS.ProcessEnv = process.env;
  afterAll(async () => {
    for (const f of followers) f.kill('SIGKILL');
    // Whatever happened above: nothing of this project is left on the engine.
    if (existsSync(join(dir, 'deploy', 'rowshard.env'))) {
      await run('bash', ['-c', compose.spell('docker compose -f deploy/compose.yaml down -v')], { cwd: dir, env }).catch(
        () => {},
      );
    }
    rmSync(dir, { recursive: true, force: true });
  }, 5 * MINUTE);

  it(
    'env files, build, up --scale ps=2, progress, kill -9 of a PS, recovered, done, export, down -v',
    async () => {
      const image = await testImage();
      await copyOfCheckout(dir);
      env = {
        ...process.env,
        COMPOSE_PROJECT_NAME: `rowshard-e2e-${process.pid}`,
        ROWSHARD_IMAGE: image, // built once for this run; the README's `build` finds it in the layer cache
        ROWSHARD_PUBLISH_PORT: '0',
      };
      const commands = readmeCommands().map(compose.spell);
      expect(commands.length).toBe(12);
      const sh = (line: string) => run('bash', ['-c', line], { cwd: dir, env });
      const marks: Record<string, number> = {};
      let logs: Follow | null = null;
      let killed: string | null = null;
      for (const line of commands) {
        if (/ up -d /.test(line)) {
          // The example job, small: any `rowshard train` option as ROWSHARD_* overrides the job file.
          await appendFile(join(dir, 'deploy', 'rowshard.env'), 'ROWSHARD_STEPS=600\nROWSHARD_CHECKPOINT_EVERY=50\n');
          marks.up = Date.now();
          await sh(line);
        } else if (/ logs -f /.test(line)) {
          logs?.child.kill('SIGTERM');
          logs = follow(line, dir, env);
          followers.push(logs.child);
          if (!killed) {
            await logs.until((e) => e.event === 'progress', 5 * MINUTE);
          } else {
            const lost = await logs.until((e) => e.event === 'recovering', 2 * MINUTE);
            // Whoever notices first: the coordinator (the shard's connection dropped) or a worker.
            expect(lost.reason).toMatch(/^parameter server for shard \d was lost$|connection to ps \d .* closed/);
            await logs.until((e) => e.event === 'recovered', 3 * MINUTE);
            const done = await logs.until((e) => e.event === 'done', 10 * MINUTE);
            expect(done).toMatchObject({ steps: 600, recoveries: 1 });
            logs.child.kill('SIGTERM');
          }
        } else if (line.startsWith('kill -9 ')) {
          killed = (await sh(compose.spell('docker compose -f deploy/compose.yaml ps -q ps | head -n 1'))).trim();
          marks.kill = Date.now();
          await sh(line);
        } else if (line.startsWith('sed -i "s/^ROWSHARD_ROLE_TOKEN')) {
          await sh(line);
          expect(readFileSync(join(dir, 'deploy', 'trainer.env'), 'utf8')).toMatch(
            /^ROWSHARD_ROLE_TOKEN=trainer\.[0-9a-f]{64}$/m,
          );
        } else if (line.includes(' export /checkpoints ')) {
          const out = await sh(line);
          expect(JSON.parse(out.trim().split('\n').at(-1) as string)).toMatchObject({
            event: 'exported',
            table: 'embedding',
            rows: 1_000_000,
            dim: 32,
            step: 600,
          });
        } else if (line.startsWith('docker cp ')) {
          await sh(line);
          const npy = readFileSync(join(dir, 'embedding.npy'));
          expect(npy.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
          expect(npy.length).toBe(128 + 1_000_000 * 32 * 4);
          await timeline(killed as string, marks, (line) => sh(compose.spell(line)));
        } else {
          if (line.includes(' down -v')) {
            const before = await sh(compose.spell('docker compose -f deploy/compose.yaml ps -q'));
            expect(before.trim().split('\n').length).toBe(4); // coordinator, 2 PS, the finished trainer
          }
          await sh(line);
        }
        if (line.startsWith('sed -i "s/^ROWSHARD_TOKEN')) {
          expect(readFileSync(join(dir, 'deploy', 'rowshard.env'), 'utf8')).toMatch(/^ROWSHARD_TOKEN=[0-9a-f]{48}$/m);
        }
      }
      // down -v left nothing of the project: no container, no volume, no network.
      const project = String(env.COMPOSE_PROJECT_NAME);
      const left = await run('bash', [
        '-c',
        `docker ps -aq -f name=${project}; docker volume ls -q -f name=${project}; docker network ls -q -f name=${project}`,
      ]);
      expect(left.trim()).toBe('');
    },
    30 * MINUTE,
  );
});

/**
 * Prints what the run took, from Docker's own timestamps: up → the coordinator's first
 * progress event, and the killed process's exit → recovering → the PS listening again →
 * recovered → done.
 */
async function timeline(killed: string, marks: Record<string, number>, sh: (line: string) => Promise<string>): Promise<void> {
  const stamped = async (container: string) =>
    (await sh(`docker logs -t ${container}`)).split('\n').flatMap((l) => {
      const at = l.indexOf('{');
      if (at < 0) return [];
      try {
        return [{ t: Date.parse(l.slice(0, l.indexOf(' '))), event: JSON.parse(l.slice(at)) as Record<string, unknown> }];
      } catch {
        return [];
      }
    });
  const coordinatorId = (await sh('docker compose -f deploy/compose.yaml ps -q coordinator')).trim();
  const coordinator = await stamped(coordinatorId);
  const ps = await stamped(killed);
  // The fault's moment as Docker recorded it: the killed process's exit (kept across the
  // restart). The coordinator may see the socket close a moment before Docker records it.
  const fault = Date.parse((await sh(`docker inspect -f '{{.State.FinishedAt}}' ${killed}`)).trim());
  const first = (name: string, after = 0) => coordinator.find((e) => e.event.event === name && e.t >= after)?.t ?? Number.NaN;
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const back = ps.find((e) => e.event.event === 'listening' && e.t >= fault)?.t ?? Number.NaN;
  console.log(
    `[compose] up → first progress ${s(first('progress') - marks.up)}; kill -9 of a PS (exit at ${new Date(fault).toISOString()}) → recovering +${s(Math.max(0, first('recovering', marks.kill) - fault))}, its container listening again +${s(back - fault)}, recovered +${s(first('recovered', fault) - fault)}, done +${s(first('done') - fault)}`,
  );
}
