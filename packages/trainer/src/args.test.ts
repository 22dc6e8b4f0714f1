import { describe, expect, it } from 'vitest';
import { parseTrainerArgs } from './args.js';

describe('parseTrainerArgs', () => {
  it('takes the coordinator and workers from flags, else the environment', () => {
    const env = { ROWSHARD_COORDINATOR: 'ws://coordinator:7070', ROWSHARD_WORKERS: '4' };
    expect(parseTrainerArgs([], env)).toEqual({ coordinator: 'ws://coordinator:7070', workers: 4 });
    expect(parseTrainerArgs(['--workers', '2', '--coordinator', 'wss://c:1'], env)).toEqual({
      coordinator: 'wss://c:1',
      workers: 2,
    });
    expect(parseTrainerArgs(['--coordinator', 'ws://c:1'], {})).toEqual({ coordinator: 'ws://c:1', workers: undefined });
  });

  it.each([
    [[], {}, '--coordinator: is required (or set ROWSHARD_COORDINATOR)'],
    [['--coordinator', 'c:7070'], {}, '--coordinator: must be a ws:// or wss:// URL, got "c:7070"'],
    [['--coordinator', 'ws://c:1', '--workers', '0'], {}, '--workers: must be a positive integer, got "0"'],
    [['--coordinator', 'ws://c:1', '--workers', '1.5'], {}, '--workers: must be a positive integer'],
    [['--coordinator', 'ws://c:1'], { ROWSHARD_WORKERS: 'two' }, 'ROWSHARD_WORKERS: must be a positive integer, got "two"'],
    [['--coordinator', 'ws://c:1', 'extra'], {}, "Unexpected argument 'extra'"],
  ])('refuses %j %j', (argv, env, message) => {
    expect(() => parseTrainerArgs(argv, env)).toThrow(message);
  });
});
