import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@rowshard/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { copyOfCheckout, noEngineReason, run, testImage, withLock } from './containers.js';

/**
 * deploy/README.md's Docker Swarm lines, as written there, on a single-node swarm: the env
 * files and image as the compose section makes them, `docker swarm init` unless the engine
 * is in a swarm already, `docker stack deploy` of deploy/compose.yaml with deploy/swarm.yaml,
 * the coordinator's service log to `done`, `docker stack rm`, the volume removed, and
 * `docker swarm leave` only if this test made the swarm (then the docker_gwbridge network
 * that swarm init creates goes too): the engine is left as it was found. Swarm mode is the
 * whole engine's, so one such test runs at a time on a machine (a lock in the temp dir).
 */
const MINUTE = 60_000;
const STACK = 'rowshard';

function swarmState(): string {
  return spawnSync('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}'], { encoding: 'utf8' }).stdout.trim();
}

const composeV1 = spawnSync('docker', ['compose', 'version']).status !== 0;
const reason =
  noEngineReason() ??
  (spawnSync('docker', ['stack', '--help']).status === 0 ? null : 'this docker client has no `docker stack`') ??
  (composeV1 && spawnSync('docker-compose', ['version']).status !== 0 ? 'no docker compose to make the env files with' : null);
if (reason) console.warn(`swarm test skipped: ${reason}`);

/** The commands of the sh blocks of a section of deploy/README.md, in order. */
function readmeCommands(heading: string): string[] {
  const text = readFileSync(join(repoRoot, 'deploy', 'README.md'), 'utf8');
  const section = text.slice(text.indexOf(heading));
  const body = section.slice(0, section.indexOf('\n## ', 3));
  return [...body.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1].split('\n').filter((l) => l.trim() !== ''));
}

describe.skipIf(reason !== null)('deploy/README.md with Docker Swarm, on one node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rowshard-swarm-'));
  const spell = (line: string) => (composeV1 ? line.replaceAll('docker compose ', 'docker-compose ') : line);
  let env: NodeJS.ProcessEnv = process.env;
  let initialised = false;
  let deployed = false;
  let hadGwBridge = true;
  let logs: ChildProcess | null = null;
  const sh = (line: string) => run('bash', ['-c', line], { cwd: dir, env });
  const stackGone = async () => {
    await sh(`docker stack rm ${STACK} || true`);
    for (let i = 0; i < 120; i++) {
      const left = await sh(
        `docker ps -aq -f label=com.docker.stack.namespace=${STACK}; docker network ls -q -f label=com.docker.stack.namespace=${STACK}`,
      );
      if (left.trim() === '') break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    await sh(`docker volume rm -f ${STACK}_checkpoints`);
  };

  afterAll(async () => {
    logs?.kill('SIGKILL');
    // After a failure midway: the stack, its volume and the swarm this test made are removed.
    if (deployed) await stackGone().catch(() => {});
    if (initialised) await sh('docker swarm leave --force').catch(() => {});
    if (initialised && !hadGwBridge) await sh('docker network rm docker_gwbridge').catch(() => {});
    initialised = false;
    await sh(spell('docker compose -f deploy/compose.yaml down -v')).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }, 5 * MINUTE);

  it(
    'stack deploy of compose.yaml + swarm.yaml runs a job to done, and the engine is left as it was',
    async () => {
      const image = await testImage();
      await withLock(join(tmpdir(), 'rowshard-swarm-lock'), async () => {
        await copyOfCheckout(dir);
        env = {
          ...process.env,
          ROWSHARD_IMAGE: image,
          ROWSHARD_PUBLISH_PORT: '0',
          COMPOSE_PROJECT_NAME: `rowshard-swarm-${process.pid}`,
        };
        const stateBefore = swarmState();
        hadGwBridge = spawnSync('docker', ['network', 'inspect', 'docker_gwbridge']).status === 0;
        if (stateBefore === 'active' && (await sh('docker stack ls --format "{{.Name}}"')).split('\n').includes(STACK)) {
          console.warn(`swarm test: a stack named ${STACK} runs on this engine already; not touching it`);
          return;
        }
        // The env files and the image, as the compose section's first five lines make them.
        for (const line of readmeCommands('## With docker compose').slice(0, 5).map(spell)) await sh(line);
        await appendFile(join(dir, 'deploy', 'rowshard.env'), 'ROWSHARD_STEPS=200\nROWSHARD_CHECKPOINT_EVERY=50\n');

        const lines = readmeCommands('## With Docker Swarm');
        expect(lines.map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual([
          'docker swarm init',
          'docker stack deploy',
          'docker service logs',
          'docker stack rm',
          'until [ -z',
          'docker swarm leave',
          'docker compose -f',
        ]);
        let deployedAt = 0;
        for (const line of lines.map(spell)) {
          if (line.startsWith('docker swarm init')) {
            if (stateBefore === 'active') continue; // "skip if this node is in a swarm already"
            await sh(line);
            initialised = true;
          } else if (line.startsWith('docker swarm leave')) {
            if (!initialised) continue; // "only if the first line made this node a swarm"
            await sh(line);
            if (!hadGwBridge) await sh('docker network rm docker_gwbridge'); // made by swarm init; leaving keeps it
            initialised = false;
          } else if (line.startsWith('docker service logs -f')) {
            const events = await serviceEventsUntilDone(line, dir, env, (child) => {
              logs = child;
            });
            const at = (name: string) => events.find((e) => e.event.event === name)?.at ?? Number.NaN;
            expect(events.find((e) => e.event.event === 'done')?.event).toMatchObject({ steps: 200, checkpointsFailed: 0 });
            console.log(
              `[swarm] stack deploy → first progress ${((at('progress') - deployedAt) / 1000).toFixed(1)} s, → done ${((at('done') - deployedAt) / 1000).toFixed(1)} s`,
            );
          } else {
            if (line.startsWith('docker stack deploy')) {
              deployedAt = Date.now();
              deployed = true;
            }
            await sh(line);
            if (line.startsWith('until ')) deployed = false; // the stack and its volume are gone
          }
        }
        // As found: the same swarm state, no service, container, network or volume of the stack.
        expect(swarmState()).toBe(stateBefore);
        const project = String(env.COMPOSE_PROJECT_NAME);
        const left = await sh(
          `docker ps -aq -f label=com.docker.stack.namespace=${STACK}; docker volume ls -q -f name=${STACK}_; docker network ls -q -f label=com.docker.stack.namespace=${STACK}; docker volume ls -q -f name=${project}; docker network ls -q -f name=${project}`,
        );
        expect(left.trim()).toBe('');
        expect(spawnSync('docker', ['network', 'inspect', 'docker_gwbridge']).status === 0).toBe(hadGwBridge);
      });
    },
    20 * MINUTE,
  );
});

/** Runs a `docker service logs -f` line until the coordinator's `done` event; its events with arrival times. */
function serviceEventsUntilDone(
  line: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  started: (child: ChildProcess) => void,
): Promise<{ at: number; event: Record<string, unknown> }[]> {
  const child = spawn('bash', ['-c', `exec ${line.replace(/\s+#.*$/, '')}`], { cwd, env });
  started(child);
  const events: { at: number; event: Record<string, unknown> }[] = [];
  let rest = '';
  let said = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no done event in 10 minutes; the service log said: ${said}`));
    }, 10 * MINUTE);
    const take = (d: Buffer) => {
      said = (said + d.toString()).slice(-4000);
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) {
        const at = l.indexOf('{');
        if (at < 0) continue;
        try {
          events.push({ at: Date.now(), event: JSON.parse(l.slice(at)) });
        } catch {
          continue;
        }
        if (events.at(-1)?.event.event === 'done') {
          clearTimeout(timer);
          child.kill('SIGTERM');
          resolve(events);
        }
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
  });
}
