import { describe, expect, it } from 'vitest';
import { ClusterAuth, claimedRole, isLoopbackHost, listeningRoleToken, roleCredential } from './auth.js';

const TOKEN = '0123456789abcdef0123';

describe('role credentials', () => {
  it('are one HMAC per role, named by their role, and prove only that role', () => {
    const creds = (['coordinator', 'ps', 'trainer', 'viewer'] as const).map((r) => roleCredential(TOKEN, r));
    expect(new Set(creds.map((c) => c.split('.')[1])).size).toBe(4);
    expect(creds[2]).toMatch(/^trainer\.[0-9a-f]{64}$/);
    expect(roleCredential(TOKEN, 'trainer')).toBe(creds[2]); // deterministic: every process derives the same
    const auth = new ClusterAuth(TOKEN);
    expect(creds.map((c) => auth.roleOf(c))).toEqual(['coordinator', 'ps', 'trainer', 'viewer']);
    // A trainer relabelling its credential, another cluster's credential, the token itself, junk.
    const mac = creds[2].split('.')[1];
    for (const bad of [`coordinator.${mac}`, roleCredential('other-token-0123456', 'trainer'), TOKEN, '', null]) {
      expect(auth.roleOf(bad)).toBeNull();
    }
    expect(auth.accepts(TOKEN)).toBe(true);
    expect(auth.accepts(creds[3])).toBe(true);
    expect(auth.accepts('nope')).toBe(false);
    expect(claimedRole(`admin.${mac}`)).toBeNull();
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
    ['myhost', false],
  ])('%s → %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});

describe('listeningRoleToken', () => {
  it('beyond loopback refuses a missing, placeholder or short token, naming the variable, the role and the address', () => {
    expect(() => listeningRoleToken({}, 'parameter server', '0.0.0.0')).toThrow(
      /^ROWSHARD_TOKEN: is not set, and this parameter server listens on 0\.0\.0\.0, beyond loopback: anyone who can reach it could write checkpoints, load rows and restore the cluster/,
    );
    expect(() => listeningRoleToken({ ROWSHARD_TOKEN: '' }, 'coordinator', '10.0.0.5')).toThrow(/is not set/);
    expect(() => listeningRoleToken({ ROWSHARD_TOKEN: 'change-me' }, 'coordinator', '0.0.0.0')).toThrow(
      "ROWSHARD_TOKEN: is the placeholder 'change-me' from deploy/rowshard.env.example, and this coordinator listens on 0.0.0.0",
    );
    expect(() => listeningRoleToken({ ROWSHARD_TOKEN: 'fifteen-bytes!!' }, 'coordinator', '::')).toThrow(
      'ROWSHARD_TOKEN: is 15 bytes long, shorter than the 16 bytes required',
    );
    expect(listeningRoleToken({ ROWSHARD_TOKEN: 'sixteen-bytes!!!' }, 'coordinator', '0.0.0.0')).toEqual({
      token: 'sixteen-bytes!!!',
      warning: null,
    });
  });

  it('on loopback takes any of them, with a warning', () => {
    expect(listeningRoleToken({}, 'parameter server', '127.0.0.1')).toMatchObject({
      token: null,
      warning: expect.stringContaining(
        'ROWSHARD_TOKEN is not set: this parameter server on 127.0.0.1 takes every local connection',
      ),
    });
    expect(listeningRoleToken({ ROWSHARD_TOKEN: 'change-me' }, 'coordinator', 'localhost')).toMatchObject({
      token: 'change-me',
      warning: expect.stringContaining('accepted only because this coordinator listens on loopback (localhost)'),
    });
  });
});
