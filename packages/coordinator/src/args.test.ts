import { parseArgv } from '@rowshard/transport';
import { describe, expect, it } from 'vitest';
import { coordinatorServeArgs, coordinatorServeFlags, parseCoordinatorArgs } from './args.js';

describe('parseCoordinatorArgs', () => {
  it('needs a job; listens on a free loopback port without the dashboard by default', () => {
    expect(parseCoordinatorArgs(['--job', 'job.json'], {})).toEqual({
      job: 'job.json',
      host: '127.0.0.1',
      port: 0,
      dashboard: false,
    });
    expect(() => parseCoordinatorArgs([], {})).toThrow('--job: is required (or set ROWSHARD_JOB)');
  });

  it('reads the environment, and a flag wins over its variable', () => {
    const env = { ROWSHARD_JOB: 'a.json', ROWSHARD_HOST: '0.0.0.0', ROWSHARD_PORT: '7070', ROWSHARD_DASHBOARD: '1' };
    expect(parseCoordinatorArgs([], env)).toEqual({ job: 'a.json', host: '0.0.0.0', port: 7070, dashboard: true });
    expect(parseCoordinatorArgs(['--job', 'b.json', '--port', '0'], { ...env, ROWSHARD_DASHBOARD: 'off' })).toEqual({
      job: 'b.json',
      host: '0.0.0.0',
      port: 0,
      dashboard: false,
    });
  });

  it.each([
    [['--port=-1'], {}, '--port: must be a port, an integer in 0..65535, got "-1"'],
    [[], { ROWSHARD_PORT: '7070x' }, 'ROWSHARD_PORT: must be a port'],
    [[], { ROWSHARD_DASHBOARD: 'maybe' }, 'ROWSHARD_DASHBOARD: must be true or false'],
  ])('refuses %j %j', (argv, env, message) => {
    expect(() => parseCoordinatorArgs(['--job', 'j.json', ...argv], env)).toThrow(message);
  });

  it("serve flags parse beside a caller's own flags, with the caller's default port", () => {
    const values = parseArgv(['--steps', '5', '--dashboard'], { steps: { type: 'string' }, ...coordinatorServeFlags });
    expect(coordinatorServeArgs(values, {}, { host: '127.0.0.1', port: 7070, dashboard: false })).toEqual({
      host: '127.0.0.1',
      port: 7070,
      dashboard: true,
    });
  });
});
