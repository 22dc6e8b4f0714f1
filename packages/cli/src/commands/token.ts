import { isRole, roles } from '@rowshard/core';
import { roleCredential, tokenWeakness } from '@rowshard/transport';
import { type Command, parseFlags, usageError } from './command.js';

/**
 * Prints the credential of one role, derived from the cluster token in ROWSHARD_TOKEN: what
 * a trainer gets as ROWSHARD_ROLE_TOKEN, or what `curl -H "Authorization: Bearer ..."` sends
 * to /api/status (viewer). The token is read from the environment only (flags show in `ps`).
 */
export const tokenCommand: Command = {
  summary: 'print a role credential derived from ROWSHARD_TOKEN (trainers take ROWSHARD_ROLE_TOKEN)',
  usage: `rowshard token --role ${roles.join('|')}`,
  async run(argv) {
    const { values } = parseFlags('token', argv, { role: { type: 'string' } }, false);
    const role = values.role;
    if (!isRole(role)) throw usageError('token', `--role must be one of ${roles.join(', ')}`);
    const token = process.env.ROWSHARD_TOKEN;
    if (!token) throw usageError('token', 'ROWSHARD_TOKEN is not set: the credential is derived from the cluster token');
    // A credential is as guessable as the token it comes from.
    const weak = tokenWeakness(token);
    if (weak) throw usageError('token', `ROWSHARD_TOKEN ${weak}`);
    process.stdout.write(`${roleCredential(token, role)}\n`);
    return 0;
  },
};
