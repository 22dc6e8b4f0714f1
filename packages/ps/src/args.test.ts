import { describe, expect, it } from 'vitest';
import { parsePsArgs } from './args.js';

const url = 'ws://127.0.0.1:7070';

describe('parsePsArgs', () => {
  it('fills the defaults of a job PS', () => {
    expect(parsePsArgs(['--coordinator', url], {})).toEqual({
      config: undefined,
      coordinator: url,
      shard: undefined,
      name: undefined,
      host: '127.0.0.1',
      advertise: undefined,
      port: 0,
      checkpointRoot: undefined,
      maxPayloadBytes: undefined,
    });
  });

  it('reads every setting from the environment, and a flag wins over its variable', () => {
    const env = {
      ROWSHARD_COORDINATOR: url,
      ROWSHARD_SHARD: '3',
      ROWSHARD_PS_NAME: 'ps-a',
      ROWSHARD_HOST: '0.0.0.0',
      ROWSHARD_ADVERTISE: 'auto',
      ROWSHARD_PORT: '7080',
      ROWSHARD_CHECKPOINT_ROOT: '/checkpoints',
    };
    expect(parsePsArgs([], env)).toMatchObject({
      coordinator: url,
      shard: 3,
      name: 'ps-a',
      host: '0.0.0.0',
      port: 7080,
      checkpointRoot: '/checkpoints',
    });
    expect(parsePsArgs(['--checkpoint-root', '/mnt/runs'], env)).toMatchObject({ checkpointRoot: '/mnt/runs' });
    expect(parsePsArgs(['--shard', '0', '--port', '9000', '--coordinator', 'ws://other:1'], env)).toMatchObject({
      coordinator: 'ws://other:1',
      shard: 0,
      port: 9000,
      advertise: 'auto',
    });
  });

  it('treats an empty variable as unset', () => {
    expect(parsePsArgs(['--coordinator', url], { ROWSHARD_SHARD: '', ROWSHARD_PORT: '' })).toMatchObject({
      shard: undefined,
      port: 0,
    });
  });

  it.each([
    [['--shard', 'x'], {}, '--shard: must be a non-negative integer, got "x"'],
    [['--shard=-1'], {}, '--shard: must be a non-negative integer, got "-1"'],
    [['--shard', '-1'], {}, "Option '--shard' argument is ambiguous"],
    [['--shard', '1.5'], {}, '--shard: must be a non-negative integer, got "1.5"'],
    [['--shard', '9007199254740993'], {}, '--shard: must be a non-negative integer'],
    [[], { ROWSHARD_SHARD: 'x' }, 'ROWSHARD_SHARD: must be a non-negative integer, got "x"'],
    [['--port', '65536'], {}, '--port: must be a port, an integer in 0..65535, got "65536"'],
    [['--port', '80.5'], {}, '--port: must be a port'],
    [[], { ROWSHARD_PORT: 'http' }, 'ROWSHARD_PORT: must be a port'],
    [['--max-payload-bytes', '0'], {}, '--max-payload-bytes: must be a positive integer, got "0"'],
    [['--name', ''], {}, '--name: must not be empty'],
    [['--bogus', '1'], {}, "Unknown option '--bogus'"],
  ])('refuses %j %j naming where the value came from', (argv, env, message) => {
    expect(() => parsePsArgs(['--coordinator', url, ...argv], env)).toThrow(message);
  });

  it('needs a coordinator URL, or a config file instead', () => {
    expect(() => parsePsArgs([], {})).toThrow('--coordinator: is required (or set ROWSHARD_COORDINATOR)');
    expect(() => parsePsArgs(['--coordinator', 'localhost:7070'], {})).toThrow('--coordinator: must be a ws:// or wss:// URL');
    expect(() => parsePsArgs([], { ROWSHARD_COORDINATOR: 'http://a:1' })).toThrow('ROWSHARD_COORDINATOR: must be a ws://');
    expect(parsePsArgs(['--config', 'ps.json'], { ROWSHARD_COORDINATOR: url })).toMatchObject({
      config: 'ps.json',
      coordinator: undefined,
    });
    expect(() => parsePsArgs(['--config', 'ps.json', '--coordinator', url], {})).toThrow(
      'give exactly one of --config <file> or --coordinator <url>',
    );
  });

  it('throws E_BAD_CONFIG with the flag as the field', () => {
    expect(() => parsePsArgs(['--coordinator', url, '--shard', 'x'], {})).toThrow(
      expect.objectContaining({ code: 'E_BAD_CONFIG', details: expect.objectContaining({ field: '--shard' }) }),
    );
  });
});
