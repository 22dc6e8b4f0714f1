import { roleCredential } from '@rowshard/transport';
import { describe, expect, it } from 'vitest';
import { parseTrainerArgs, trainerCredential } from './args.js';

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

describe('trainerCredential', () => {
  const token = 'trainer-args-cluster-token';
  const trainer = roleCredential(token, 'trainer');

  it('takes a trainer credential from ROWSHARD_ROLE_TOKEN', () => {
    expect(trainerCredential({ ROWSHARD_ROLE_TOKEN: trainer })).toEqual({ credential: trainer, warning: null });
    expect(trainerCredential({})).toEqual({ credential: null, warning: null });
  });

  it('derives it from the cluster token, warning that the trainer should not hold that', () => {
    const { credential, warning } = trainerCredential({ ROWSHARD_TOKEN: token });
    expect(credential).toBe(trainer);
    expect(warning).toContain('give trainers ROWSHARD_ROLE_TOKEN (rowshard token --role trainer)');
    expect(trainerCredential({ ROWSHARD_TOKEN: token, ROWSHARD_ROLE_TOKEN: trainer }).warning).toContain(
      'also holds ROWSHARD_TOKEN',
    );
  });

  it.each([
    [
      roleCredential(token, 'coordinator'),
      'ROWSHARD_ROLE_TOKEN: is a coordinator credential; a trainer takes only a trainer credential',
    ],
    ['change-me', 'ROWSHARD_ROLE_TOKEN: is not a role credential (trainer.<64 hex digits>)'],
  ])('refuses %s', (given, message) => {
    expect(() => trainerCredential({ ROWSHARD_ROLE_TOKEN: given })).toThrow(message);
  });
});
